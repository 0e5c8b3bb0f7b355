/**
 * What changed since the last true-up of a staged upgrade, so that its cost follows the changes and
 * not the history (design.md §5b): runs whose MLMD records moved past the watermark (through MLMD's
 * update-time indexes and event ids), runs whose run_details row changed, appeared or went (one
 * narrow read of run_details against the digests the last true-up stored), and runs that failed
 * last time. Reads only; the stager records the new watermark once the runs are written.
 */
import { eq } from 'drizzle-orm';
import type { Db, Queryable } from '../db/connection.ts';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { changedRecords, contextsOfExecutions, readSourceWatermark, runContextsById, runContextsByName, type SourceWatermark } from '../extract/changed-runs.ts';
import { chunked, placeholders } from '../db/sql.ts';
import { readRunDetails, readRunDetailsDigests, readRunVersions, type MlmdSource } from '../extract/index.ts';
import { getJsonState, STATE_KEYS } from '../load/bridge-tables.ts';
import { FAILED_VERSION, readCheckpointsOf } from '../load/writer.ts';
import { combineVersion, type RunRef } from './prepare.ts';

/**
 * Records are looked for from this long before the watermark: a record MLMD stamped just before
 * the watermark was read but committed just after it (or in the very millisecond the watermark
 * names) is read again instead of lost. Re-reading costs little: a run whose fingerprint still
 * matches its checkpoint is not written again.
 */
export const WATERMARK_MARGIN_MS = 5 * 60_000;
/** The same for event and association ids, which a slow transaction may commit out of order. */
export const ID_MARGIN = 100;

export interface RunChanges {
  /** Run contexts to read again, in ascending id order. */
  runs: RunRef[];
  /** Runs staged before whose run_details row is gone and whose MLMD run context does not exist either. */
  vanished: string[];
  /** How many runs the last true-up stored whose run_details row is gone (deleted in KFP 2.x). */
  deleted: number;
  /** run_details as read now, digest per run UUID: what the next true-up compares with. */
  details: Map<string, string>;
  /** Read before anything else: the next true-up looks for changes from here. */
  watermark: SourceWatermark;
}

export const isWatermark = (v: unknown): v is SourceWatermark =>
  typeof v === 'object' &&
  v !== null &&
  Number.isFinite((v as SourceWatermark).updateMs) &&
  Number.isFinite((v as SourceWatermark).eventId) &&
  Number.isFinite((v as SourceWatermark).associationId);

/** The watermark of the last finished true-up; undefined before the first `stage` finished. */
export async function recordedWatermark(kfp: Db): Promise<SourceWatermark | undefined> {
  return getJsonState(kfp, STATE_KEYS.stageWatermark, isWatermark, 'a JSON object {updateMs, eventId}');
}

/** The run_details digests the last true-up stored. */
export async function storedDetailDigests(kfp: Queryable): Promise<Map<string, string>> {
  const { bridgeRunDetails: t } = kfpTables(kfp);
  const rows = await orm(kfp).select({ run_uuid: t.run_uuid, digest: t.digest }).from(t);
  return new Map(rows.map((r) => [r.run_uuid, r.digest]));
}

/** Execution id → run UUID, from the id map of the runs staged so far. */
async function stagedRunsOfExecutions(kfp: Db, executionIds: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const part of chunked(executionIds)) {
    // Raw: drizzle's builder takes 3–9 ms per 1,000-id IN list against 0.1–0.2 ms for this text, and a true-up after a long gap sends hundreds.
    const rows = await kfp.all<{ mlmd_id: number; run_uuid: string | null }>(
      `SELECT mlmd_id, run_uuid FROM mlmd_id_map WHERE kind = 'execution' AND mlmd_id IN (${placeholders(part.length)})`,
      part,
    );
    for (const r of rows) if (r.run_uuid !== null) out.set(Number(r.mlmd_id), r.run_uuid);
  }
  return out;
}

export async function findChangedRuns(source: MlmdSource, kfp: Db, since: SourceWatermark): Promise<RunChanges> {
  const watermark = await readSourceWatermark(source.db);
  const details = await readRunDetailsDigests(kfp);
  const stored = await storedDetailDigests(kfp);

  const window: SourceWatermark = {
    updateMs: since.updateMs - WATERMARK_MARGIN_MS,
    eventId: Math.max(0, since.eventId - ID_MARGIN),
    associationId: Math.max(0, since.associationId - ID_MARGIN),
  };
  const changed = await changedRecords(source.db, window);
  const byId = new Map(changed.runContexts);
  // Which run an execution belongs to: new associations say it, the id map of the runs staged before
  // says it for the others, and only what neither places is looked up in Association (no index there).
  const placed = new Set<number>();
  const contextIds = new Set<number>();
  for (const a of changed.associations) {
    placed.add(a.executionId);
    contextIds.add(a.contextId);
  }
  const named = new Set<string>();
  const unplaced = changed.executions.filter((id) => !placed.has(id));
  const known = await stagedRunsOfExecutions(kfp, unplaced);
  for (const run of known.values()) named.add(run);
  for (const id of await contextsOfExecutions(source.db, unplaced.filter((id) => !known.has(id)))) contextIds.add(id);
  for (const [id, name] of await runContextsById(source.db, [...contextIds])) byId.set(id, name);

  for (const [uuid, digest] of details) if (stored.get(uuid) !== digest) named.add(uuid);
  let deleted = 0;
  for (const uuid of stored.keys()) {
    if (!details.has(uuid)) {
      named.add(uuid);
      deleted++;
    }
  }
  const { bridgeRuns } = kfpTables(kfp);
  const failed = await orm(kfp).select({ run_uuid: bridgeRuns.run_uuid }).from(bridgeRuns).where(eq(bridgeRuns.source_version, FAILED_VERSION));
  for (const r of failed) named.add(r.run_uuid);
  for (const name of byId.values()) named.delete(name);

  const found = await runContextsByName(source.db, [...named]);
  for (const [id, name] of found) byId.set(id, name);
  const withContext = new Set(found.values());
  const vanished = [...named].filter((n) => !withContext.has(n) && stored.has(n) && !details.has(n));
  const runs = [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.id - b.id);
  return { runs, vanished, deleted, details, watermark };
}

/**
 * How many runs a true-up would write now: the changed runs whose source no longer matches their
 * checkpoint, plus vanished ones. For `status --mlmd` and `plan`; reads only.
 */
export async function countPendingRuns(source: MlmdSource, kfp: Db, since: SourceWatermark): Promise<{ runs: number; deleted: number }> {
  const changes = await findChangedRuns(source, kfp, since);
  let runs = changes.vanished.length;
  for (let i = 0; i < changes.runs.length; i += 500) {
    const batch = changes.runs.slice(i, i + 500);
    const names = batch.map((r) => r.name);
    const [rd, checkpoints, versions] = await Promise.all([readRunDetails(kfp, names), readCheckpointsOf(kfp, names), readRunVersions(source.db, batch.map((r) => r.id))]);
    for (const r of batch) if (checkpoints.get(r.name) !== combineVersion(versions.get(r.id) ?? '', rd.get(r.name))) runs++;
  }
  return { runs, deleted: changes.deleted };
}

/**
 * How many KFP runs have MLMD records written after the watermark itself (no margin: the last
 * true-up read everything up to it). After a cut-over nothing may write MLMD any more, so any such
 * run means KFP 2.x ran again. Reads only.
 */
export async function countMlmdRunsChangedSince(source: MlmdSource, since: SourceWatermark): Promise<number> {
  const changed = await changedRecords(source.db, { ...since, updateMs: since.updateMs + 1 });
  const contexts = new Set([...changed.runContexts.keys(), ...changed.associations.map((a) => a.contextId)]);
  for (const id of await contextsOfExecutions(source.db, changed.executions)) contexts.add(id);
  return (await runContextsById(source.db, [...contexts])).size;
}
