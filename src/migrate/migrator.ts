/**
 * The migrator: drives extract → transform → load run by run (design.md §3). It holds the
 * migration lock, prepares the target (moves the v1 tasks table aside, creates or checks the KFP 3
 * tables and the bookkeeping tables), skips runs already migrated whose source has not changed,
 * and commits each run with its checkpoint.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { v5 as uuidv5 } from 'uuid';
import type { Db } from '../db/connection.ts';
import { openDb } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { openMlmdSource, readRunDetails, readRunVersions, type MlmdSource } from '../extract/index.ts';
import { ensureBridgeTables, getState, setState, STATE_KEYS } from '../load/bridge-tables.ts';
import { withMigrationLock } from '../load/lock.ts';
import { ensureTargetTables, isKfpDatabase } from '../load/schema.ts';
import { moveV1TasksAside } from '../load/v1-tasks.ts';
import { readCheckpoints, writeIdMap, writeRejects, writeRun } from '../load/writer.ts';
import { mapRun } from '../transform/forward.ts';
import { MLMD_BRIDGE_NAMESPACE } from '../transform/identity.ts';
import type { IdMapRow, KfpRunDetails, MlmdType, Reject } from '../transform/model.ts';
import { REJECT_CODES } from '../transform/reject-codes.ts';
import { redact } from '../db/url.ts';

export interface MigrateOptions {
  mlmdUrl: string;
  kfpUrl: string;
  /** Runs read and mapped per batch. */
  batchSize?: number;
  /** Batches in flight at once. */
  concurrency?: number;
  onProgress?: (p: MigrateProgress) => void;
}

export interface MigrateProgress {
  phase: 'prepare' | 'runs' | 'non-kfp' | 'done';
  runsTotal: number;
  runsDone: number;
  rowsWritten: number;
}

export interface MigrateSummary {
  source: { url: string; schemaVersion: number };
  target: { url: string; createdTables: string[]; v1Tasks: string };
  runs: { total: number; migrated: number; unchanged: number; orphan: number };
  rows: { tasks: number; artifacts: number; artifact_tasks: number; mlmd_id_map: number };
  rejects: { total: number; byCode: Record<string, number>; byDisposition: Record<string, number> };
  seconds: number;
}

export async function migrate(opts: MigrateOptions): Promise<MigrateSummary> {
  const started = Date.now();
  const source = await openMlmdSource(opts.mlmdUrl);
  let kfp: Db | undefined;
  try {
    kfp = await openDb(opts.kfpUrl, { role: 'KFP database', poolSize: Math.max(2, (opts.concurrency ?? 2) + 1) });
    const target = kfp;
    if (!(await isKfpDatabase(target))) {
      throw new BridgeError(
        'NOT_KFP_DATABASE',
        `${target.target.display} has no run_details table, so it is not a KFP database`,
        'point --kfp at the KFP API server database (usually mlpipeline)',
      );
    }
    return await withMigrationLock(target, () => run(source, target, opts, started));
  } finally {
    await source.close().catch(() => undefined);
    await kfp?.close().catch(() => undefined);
  }
}

async function run(source: MlmdSource, kfp: Db, opts: MigrateOptions, started: number): Promise<MigrateSummary> {
  const progress: MigrateProgress = { phase: 'prepare', runsTotal: 0, runsDone: 0, rowsWritten: 0 };
  const tell = () => opts.onProgress?.({ ...progress });
  tell();

  await ensureBridgeTables(kfp);
  const v1Tasks = await moveV1TasksAside(kfp);
  const { created } = await ensureTargetTables(kfp);
  const previouslyCreated = JSON.parse((await getState(kfp, STATE_KEYS.createdTargetTables)) ?? '[]') as string[];
  await setState(kfp, STATE_KEYS.createdTargetTables, JSON.stringify([...new Set([...previouslyCreated, ...created])]));
  await setState(kfp, STATE_KEYS.sourceUrl, redact(opts.mlmdUrl));
  await setState(kfp, STATE_KEYS.startedAt, new Date(started).toISOString());
  await setState(kfp, 'source_schema_version', String(source.schemaVersion));
  await kfp.run("DELETE FROM mlmd_bridge_state WHERE name = ?", [STATE_KEYS.finishedAt]);

  const types = await source.readTypes();
  await kfp.transaction((tx) => writeIdMap(tx, typeIdMapRows(types)));
  const contexts = await source.listRunContexts();
  progress.runsTotal = contexts.length;
  progress.phase = 'runs';
  tell();

  const checkpoints = await readCheckpoints(kfp);
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const limit = pLimit(Math.max(1, opts.concurrency ?? 2));
  const counts = { migrated: 0, unchanged: 0 };
  const rows = { tasks: 0, artifacts: 0, artifact_tasks: 0, mlmd_id_map: 0 };

  const batches: (typeof contexts)[] = [];
  for (let i = 0; i < contexts.length; i += batchSize) batches.push(contexts.slice(i, i + batchSize));

  await Promise.all(
    batches.map((batch) =>
      limit(async () => {
        const details = await readRunDetails(kfp, batch.map((c) => c.name));
        const versions = await readRunVersions(source.db, batch.map((c) => c.id));
        const versionOf = (ctxId: number, name: string) => combineVersion(versions.get(ctxId) ?? '', details.get(name));
        const todo = batch.filter((c) => checkpoints.get(c.name) !== versionOf(c.id, c.name));
        counts.unchanged += batch.length - todo.length;
        if (todo.length > 0) {
          const bundles = await source.readRunBundles(todo.map((c) => c.id), details);
          for (const bundle of bundles) {
            const mapped = mapRun(bundle);
            const version = versionOf(bundle.runContext.id, bundle.runContext.name);
            const replacing = checkpoints.has(mapped.runUuid);
            await withRetry(() => kfp.transaction((tx) => writeRun(tx, mapped, version, replacing)));
            counts.migrated++;
            rows.tasks += mapped.tasks.length;
            rows.artifacts += mapped.artifacts.length;
            rows.artifact_tasks += mapped.links.length;
            rows.mlmd_id_map += mapped.idMap.length;
            progress.rowsWritten += mapped.tasks.length + mapped.artifacts.length + mapped.links.length;
          }
        }
        progress.runsDone += batch.length;
        tell();
      }),
    ),
  );

  progress.phase = 'non-kfp';
  tell();
  const nonKfp: Reject[] = [];
  for await (const r of source.listNonKfp()) {
    nonKfp.push({
      code: r.entity === 'context' ? 'NON_KFP_CONTEXT' : 'NON_KFP_EXECUTION',
      disposition: 'skipped',
      entity: r.entity,
      mlmdId: r.id,
      runUuid: null,
      reason: `${r.entity} of type "${r.type}" is not KFP v2 data (TFX or KFP v1); not migrated, the shim serves it from the MLMD archive`,
    });
  }
  await kfp.transaction((tx) => writeRejects(tx, '', nonKfp));

  const finished = Date.now();
  await setState(kfp, STATE_KEYS.finishedAt, new Date(finished).toISOString());
  const rejects = await rejectCounts(kfp);
  progress.phase = 'done';
  tell();
  return {
    source: { url: redact(opts.mlmdUrl), schemaVersion: source.schemaVersion },
    target: { url: kfp.target.display, createdTables: created, v1Tasks },
    runs: { total: contexts.length, migrated: counts.migrated, unchanged: counts.unchanged, orphan: rejects.byCode.ORPHAN_RUN ?? 0 },
    rows,
    rejects,
    seconds: (finished - started) / 1000,
  };
}

/** Every MLMD type keeps its id in the map, so legacy clients see the same type ids from the shim. */
function typeIdMapRows(types: MlmdType[]): IdMapRow[] {
  return types.map((t) => ({
    kind: 'type',
    mlmdId: t.id,
    kfpUuid: uuidv5(`type:${t.typeKind}:${t.name}:${t.version ?? ''}`, MLMD_BRIDGE_NAMESPACE),
    runUuid: null,
    extra: JSON.stringify({ name: t.name, typeKind: t.typeKind, version: t.version }),
  }));
}

/** A run is re-migrated when its MLMD records or its run_details row changed. */
function combineVersion(mlmdVersion: string, run: KfpRunDetails | undefined): string {
  const rd = run ? `${run.state}|${run.finishedAtInSec}|${run.displayName}|${run.experimentNamespace ?? run.namespace}` : 'orphan';
  return createHash('sha256').update(`${mlmdVersion}|${rd}`).digest('hex').slice(0, 40);
}

/** Concurrent runs may upsert the same shared artifact row; MySQL then picks a deadlock victim, which is simply retried. */
async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { errno?: number; code?: string }).errno;
      const transient = code === 1213 || code === 1205 || (e as { code?: string }).code === 'SQLITE_BUSY';
      if (!transient || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 20 * i));
    }
  }
}

export async function rejectCounts(kfp: Db): Promise<MigrateSummary['rejects']> {
  const rows = await kfp.all<{ code: string; disposition: string; n: number }>(
    'SELECT code, disposition, COUNT(*) AS n FROM mlmd_bridge_rejects GROUP BY code, disposition ORDER BY code',
  );
  const byCode: Record<string, number> = {};
  const byDisposition: Record<string, number> = {};
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    byCode[r.code] = (byCode[r.code] ?? 0) + n;
    byDisposition[r.disposition] = (byDisposition[r.disposition] ?? 0) + n;
    total += n;
  }
  return { total, byCode, byDisposition };
}

/** Exit 1 when any record was skipped or degraded; documented adjustments alone do not fail a migration. */
export function hasRejectedRecords(summary: Pick<MigrateSummary, 'rejects'>): boolean {
  return (summary.rejects.byDisposition.skipped ?? 0) + (summary.rejects.byDisposition.degraded ?? 0) > 0;
}

/** Every stored reject, run by run, for the rejects file. */
export async function* readStoredRejects(kfp: Db, pageSize = 5000): AsyncIterable<Reject> {
  let offset = 0;
  for (;;) {
    const rows = await kfp.all<{ run_key: string; code: string; disposition: string; entity: string; mlmd_id: number; reason: string }>(
      `SELECT run_key, code, disposition, entity, mlmd_id, reason FROM mlmd_bridge_rejects ORDER BY run_key, seq LIMIT ${pageSize} OFFSET ${offset}`,
    );
    for (const r of rows) {
      yield {
        code: r.code,
        disposition: r.disposition as Reject['disposition'],
        entity: r.entity as Reject['entity'],
        mlmdId: Number(r.mlmd_id),
        runUuid: r.run_key === '' ? null : r.run_key,
        reason: r.reason,
      };
    }
    if (rows.length < pageSize) return;
    offset += pageSize;
  }
}

export { REJECT_CODES };
