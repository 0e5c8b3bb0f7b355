/**
 * `stage`: builds the KFP 3 tables while KFP 2.x keeps serving (design.md §5b), through the same
 * pipeline as `migrate` (migrator.ts), with KFP 3's tasks under STAGED_TASKS. The first run reads
 * every run; each later run is a true-up that reads only what change-finder.ts finds changed since
 * the watermark of the last one. The watermark and the run_details digests are stored only after
 * every run is written, so a killed stage finds the same changes again (the runs written before
 * the kill match their checkpoints and are skipped).
 */
import { inArray } from 'drizzle-orm';
import type { Db } from '../db/connection.ts';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { chunked, placeholders } from '../db/sql.ts';
import { countRunContexts, runContextPages } from '../extract/run-bundles.ts';
import { readRunDetailsDigests, type MlmdSource } from '../extract/index.ts';
import { pipelineContextsWithRuns, readSourceWatermark, type SourceWatermark } from '../extract/changed-runs.ts';
import { ensureBridgeTables, getState, recordTablesAboutToBeCreated, setState, STATE_KEYS } from '../load/bridge-tables.ts';
import { insertMany } from '../db/insert.ts';
import { withMigrationLock } from '../load/lock.ts';
import { refuseWithoutWritePrivileges } from '../load/kfp-privileges.ts';
import { ensureStagedTables, refuseCutOver, renameStagedRunForeignKey, STAGED_TABLES, STAGED_TASKS, stagedName } from '../load/staged-tables.ts';
import { restoreV1ForeignKeysInPlace } from '../load/v1-tasks.ts';
import { findChangedRuns, recordedWatermark, type RunChanges, storedDetailDigests } from './change-finder.ts';
import { type MigrateOptions, type MigrateSummary, type PipelineTarget, runPipeline, withSourceAndTarget } from './migrator.ts';
import type { RunRef } from './prepare.ts';
import { SHARD_LOCK_WAIT_SECONDS, shardedPhases } from './shard-phases.ts';
import type { Shard } from '../transform/shard.ts';

export interface StageSummary extends MigrateSummary {
  stage: {
    /** `full`: the first stage (or one resumed before its first finished) read every run; `true-up`: only the changed ones. */
    kind: 'full' | 'true-up';
    /** Runs read because something about them changed (all runs for `full`). */
    changedRuns: number;
    /** Runs whose run_details row went since the last true-up. */
    deletedRuns: number;
    watermark: SourceWatermark;
  };
}

export async function stage(opts: MigrateOptions): Promise<StageSummary> {
  return withSourceAndTarget(opts, (source, kfp, started) =>
    opts.shard ? stageShard(source, kfp, opts, started, opts.shard) : withMigrationLock(kfp, () => stageLocked(source, kfp, opts, started)),
  );
}

/** A sharded stage's watermark: read by the first shard before any shard reads a run, stored as the stage's by the last. */
const SHARDED_STAGE_WATERMARK = 'shard_stage_watermark';

/**
 * `stage --shard i/N`. The first stage, which reads every run, is split between the shards
 * (shard-phases.ts). A true-up is not: it costs what changed, so each shard in turn trues up under
 * the migration lock, the first doing the work and the others finding nothing more changed.
 */
async function stageShard(source: MlmdSource, kfp: Db, opts: MigrateOptions, started: number, shard: Shard): Promise<StageSummary> {
  const trueUp = await withMigrationLock(
    kfp,
    async () => {
      await ensureBridgeTables(kfp);
      await refuseCutOver(kfp);
      return (await recordedWatermark(kfp)) !== undefined;
    },
    SHARD_LOCK_WAIT_SECONDS,
  );
  const unsharded = { ...opts, shard: undefined };
  if (trueUp) return withMigrationLock(kfp, () => stageLocked(source, kfp, unsharded, started), SHARD_LOCK_WAIT_SECONDS);
  let watermark: SourceWatermark | undefined;
  const target: PipelineTarget = {
    ...STAGED,
    async prepareTables(db) {
      const prepared = await prepareStagedTables(db);
      // Read before any shard reads a run, so the next true-up finds whatever changed after any shard's reads.
      const pending = await getState(db, SHARDED_STAGE_WATERMARK);
      if (pending !== undefined) watermark = JSON.parse(pending) as SourceWatermark;
      else {
        watermark = await readSourceWatermark(source.db);
        await storeDetailDigests(db, await readRunDetailsDigests(db), false);
        await setState(db, SHARDED_STAGE_WATERMARK, JSON.stringify(watermark));
      }
      return prepared;
    },
    runs: async (src, _db, batchSize) => ({ total: await countRunContexts(src.db), pages: runContextPages(src.db, batchSize) }),
    // The first stage lists every non-KFP record.
    incrementalRunless: false,
    async afterRuns(db) {
      await setState(db, STATE_KEYS.stageWatermark, (await getState(db, SHARDED_STAGE_WATERMARK))!);
      await db.run('DELETE FROM mlmd_bridge_state WHERE name = ?', [SHARDED_STAGE_WATERMARK]);
    },
  };
  const summary = await runPipeline(source, kfp, opts, started, target, shardedPhases(kfp, shard));
  if (summary.shard?.finished) await setState(kfp, STATE_KEYS.stageLastTrueUp, JSON.stringify({ seconds: summary.seconds, runs: summary.runs.total, kind: 'full' }));
  return { ...summary, stage: { kind: 'full', changedRuns: summary.runs.total, deletedRuns: 0, watermark: watermark! } };
}

/** A cut-over killed before its swap leaves the staged FK renamed and the v1 FK dropped: both go back, in this order (the v1 FK takes the name the staged one gives back). */
async function prepareStagedTables(db: Db): Promise<{ created: string[]; v1Tasks: string }> {
  await db.session((s) => renameStagedRunForeignKey(s, 'back'));
  await restoreV1ForeignKeysInPlace(db);
  await recordTablesAboutToBeCreated(db, STAGED_TABLES.map(stagedName));
  return { created: await ensureStagedTables(db), v1Tasks: 'in-place' };
}

/** What every stage's pipeline target shares: KFP 3's tasks under the staged name, the stage's bookkeeping keys. */
const STAGED = {
  prepareTables: prepareStagedTables,
  tasksTable: STAGED_TASKS,
  startedKey: STATE_KEYS.stageStartedAt,
  finishedKey: STATE_KEYS.stageFinishedAt,
  alwaysSettleIdentity: false,
  fewRunsInThread: true,
} satisfies Partial<PipelineTarget>;

/** One stage or true-up; the caller holds the migration lock (cutover runs its last true-up here). */
export async function stageLocked(source: MlmdSource, kfp: Db, opts: MigrateOptions, started: number): Promise<StageSummary> {
  // Before the bookkeeping tables are created: a PostgreSQL role lacking a privilege is told which GRANT to run.
  await refuseWithoutWritePrivileges(kfp);
  await ensureBridgeTables(kfp);
  // Refuses a database already cut over before anything is read.
  await refuseCutOver(kfp);
  const since = await recordedWatermark(kfp);
  const changes: RunChanges | null = since ? await findChangedRuns(source, kfp, since) : null;
  // The first stage reads every run: its watermark and run_details are read before them.
  const watermark = changes?.watermark ?? (await readSourceWatermark(source.db));
  const details = changes?.details ?? (await readRunDetailsDigests(kfp));

  const target: PipelineTarget = {
    ...STAGED,
    async runs(src, _db, batchSize) {
      if (!changes) return { total: await countRunContexts(src.db), pages: runContextPages(src.db, batchSize) };
      return { total: changes.runs.length, pages: pagesOf(changes.runs, batchSize) };
    },
    // A vanished run leaves its executions without a run context: non-KFP now, below the ids listed before, so all are listed again.
    incrementalRunless: changes !== null && changes.vanished.length === 0,
    async afterRuns(db) {
      if (changes && changes.vanished.length > 0) {
        await removeVanishedRuns(db, changes.vanished);
        await removeUnusedPipelineContexts(source, db);
      }
      if (changes && changes.deleted > 0) await removeUnlinkedArtifacts(db);
      await storeDetailDigests(db, details, changes !== null);
      await setState(db, STATE_KEYS.stageWatermark, JSON.stringify(watermark));
      return changes !== null && (changes.vanished.length > 0 || changes.deleted > 0);
    },
  };
  const summary = await runPipeline(source, kfp, opts, started, target);
  await setState(kfp, STATE_KEYS.stageLastTrueUp, JSON.stringify({ seconds: summary.seconds, runs: summary.runs.total, kind: changes ? 'true-up' : 'full' }));
  return {
    ...summary,
    stage: { kind: changes ? 'true-up' : 'full', changedRuns: summary.runs.total, deletedRuns: changes?.deleted ?? 0, watermark },
  };
}

async function* pagesOf(runs: RunRef[], size: number): AsyncIterable<RunRef[]> {
  for (let i = 0; i < runs.length; i += size) yield runs.slice(i, i + size);
}

/**
 * Runs deleted in KFP 2.x whose MLMD run context is gone too, so no mapping replaces them: their
 * tasks and links went with the run_details row (ON DELETE CASCADE); their bookkeeping goes here.
 */
async function removeVanishedRuns(kfp: Db, uuids: string[]): Promise<void> {
  // Raw: chunked IN lists of up to thousands of ids, which drizzle's builder takes far longer to build (measured in change-finder.ts).
  await kfp.transaction(async (tx) => {
    for (const ids of chunked(uuids)) {
      const ph = placeholders(ids.length);
      await tx.run(`DELETE FROM ${STAGED_TASKS} WHERE \`RunUUID\` IN (${ph})`, ids);
      await tx.run(`DELETE FROM mlmd_id_map WHERE run_uuid IN (${ph})`, ids);
      await tx.run(`DELETE FROM mlmd_bridge_rejects WHERE run_key IN (${ph})`, ids);
      await tx.run(`DELETE FROM mlmd_bridge_runs WHERE run_uuid IN (${ph})`, ids);
    }
  });
}

/** A one-shot migrate maps a pipeline context only for a run under it: those whose every run vanished go from the id map. */
async function removeUnusedPipelineContexts(source: MlmdSource, kfp: Db): Promise<void> {
  // Raw: chunked IN lists of up to thousands of ids, which drizzle's builder takes far longer to build (measured in change-finder.ts).
  const mapped = (await kfp.all<{ mlmd_id: number }>("SELECT mlmd_id FROM mlmd_id_map WHERE kind = 'pipeline_context'")).map((r) => Number(r.mlmd_id));
  const used = await pipelineContextsWithRuns(source.db, mapped);
  const unused = mapped.filter((id) => !used.has(id));
  for (const ids of chunked(unused)) await kfp.run(`DELETE FROM mlmd_id_map WHERE kind = 'pipeline_context' AND mlmd_id IN (${placeholders(ids.length)})`, ids);
}

/**
 * Artifacts outlive runs in KFP 3 (no FK), so a deleted run's artifacts stay behind its cascade. A
 * one-shot migrate writes an artifact only for a run that links it, so the staged ones no run
 * links any more go, with their id-map entries.
 */
async function removeUnlinkedArtifacts(kfp: Db): Promise<void> {
  // Raw: chunked IN lists of up to thousands of ids, which drizzle's builder takes far longer to build (measured in change-finder.ts).
  await kfp.transaction(async (tx) => {
    // Backticks: the KFP 3 column names are mixed case (quoted on PostgreSQL, where unquoted names fold to lower case).
    const gone = await tx.all<{ UUID: string }>(
      "SELECT a.`UUID` FROM artifacts a WHERE NOT EXISTS (SELECT 1 FROM artifact_tasks l WHERE l.`ArtifactID` = a.`UUID`) AND EXISTS (SELECT 1 FROM mlmd_id_map m WHERE m.kfp_uuid = a.`UUID` AND m.kind = 'artifact')",
    );
    for (const ids of chunked(gone.map((r) => r.UUID))) {
      const ph = placeholders(ids.length);
      await tx.run(`DELETE FROM artifacts WHERE \`UUID\` IN (${ph})`, ids);
      await tx.run(`DELETE FROM mlmd_id_map WHERE kind = 'artifact' AND kfp_uuid IN (${ph})`, ids);
    }
  });
}

/** The run_details digests the next true-up compares with: all of them after a full stage, the differing ones after a true-up. */
async function storeDetailDigests(kfp: Db, details: Map<string, string>, incremental: boolean): Promise<void> {
  await kfp.transaction(async (tx) => {
    const { bridgeRunDetails: t } = kfpTables(tx);
    let rows = [...details];
    if (incremental) {
      const stored = await storedDetailDigests(tx);
      const gone = [...stored.keys()].filter((u) => !details.has(u));
      for (const ids of chunked(gone)) await orm(tx).delete(t).where(inArray(t.run_uuid, ids));
      rows = rows.filter(([u, d]) => stored.get(u) !== d);
    } else {
      await orm(tx).delete(t);
    }
    // A full stage writes one row per run (150,000 on the largest bench source): the bulk multi-row upsert, not drizzle's builder.
    for (const part of chunked(rows)) await insertMany(tx, 'mlmd_bridge_run_details', ['run_uuid', 'digest'], part, ['run_uuid']);
  });
}
