/**
 * The migrator: drives extract → transform → load run by run (design.md §3). It holds the
 * migration lock, prepares the target (moves the v1 tasks table aside, creates or checks the KFP 3
 * tables and the bookkeeping tables), skips runs already migrated whose source has not changed,
 * and commits whole runs together with their checkpoints, a batch of runs per transaction.
 */
import pLimit from 'p-limit';
import type { Db } from '../db/connection.ts';
import { retryOnLockConflict } from '../db/retry.ts';
import { BridgeError } from '../errors.ts';
import { openMlmdSource, type MlmdSource } from '../extract/index.ts';
import { countRunContexts, runContextPages } from '../extract/run-bundles.ts';
import { readSourceWatermark, type SourceWatermark } from '../extract/changed-runs.ts';
import { kfpDatabaseTarget, openKfpDatabase } from '../load/kfp-database.ts';
import { deleteState, getJsonState, getState, recordCreatedTables, recordTablesAboutToBeCreated, setState, STATE_KEYS } from '../load/bridge-tables.ts';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm, statementError } from '../db/orm.ts';
import { and, count, eq, gt, max, or } from 'drizzle-orm';
import { withMigrationLock } from '../load/lock.ts';
import { ensureTargetTables, isKfpDatabase, TARGET_TABLES } from '../load/schema.ts';
import { moveV1TasksAside } from '../load/v1-tasks.ts';
import { STAGED_TASKS, upgradePhase } from '../load/staged-tables.ts';
import { refuseWithoutWritePrivileges } from '../load/kfp-privileges.ts';
import { assignIdentityKeys } from '../load/identity-keys.ts';
import { appendRejects, clearRejects, type RunWrite, writeFailedRun, writeIdMap, writeRuns } from '../load/writer.ts';
import { ID_SCHEME, ids } from '../transform/identity.ts';
import type { IdMapRow, MlmdType, Reject } from '../transform/model.ts';
import { DEFAULT_CONCURRENCY, WRITERS } from './defaults.ts';
import { inThreadPreparer, type Preparer, startWorkerPreparers, workerCount } from './prepare-pool.ts';
import { errorText, failedRun, runFailedReject, type RunRef } from './prepare.ts';
import { type PipelinePhases, shardedPhases, unshardedPhases } from './shard-phases.ts';
import { inShard, type Shard } from '../transform/shard.ts';
import { redact } from '../db/url.ts';
import { addTally, emptyTally, type FingerprintTally, type MappingOptions } from '../transform/fingerprints.ts';
import { recordedMappingOptions, recordMappingOptions, type RequestedMappingOptions, settleMappingOptions } from './mapping-options.ts';

export interface MigrateOptions {
  mlmdUrl: string;
  kfpUrl: string;
  /** Runs read and mapped per batch. */
  batchSize?: number;
  /** Batches in flight at once (default DEFAULT_CONCURRENCY). */
  concurrency?: number;
  /** `--fingerprints` / `--publish-logs` as given; what the database recorded (else the defaults) fills in the rest. */
  mapping?: RequestedMappingOptions;
  onProgress?: (p: MigrateProgress) => void;
  /** Only the runs of this shard (`--shard i/N`); N processes run at once (shard-phases.ts). */
  shard?: Shard;
}

export interface MigrateProgress {
  phase: 'prepare' | 'runs' | 'non-kfp' | 'done';
  runsTotal: number;
  runsDone: number;
  rowsWritten: number;
  /** Records of the runs done so far that were rejected or adjusted, by reason code (the metrics endpoint shows them). */
  rejectsByCode: Record<string, number>;
}

export interface MigrateSummary {
  source: { url: string; schemaVersion: number };
  target: { url: string; createdTables: string[]; v1Tasks: string };
  runs: { total: number; migrated: number; unchanged: number; orphan: number };
  rows: { tasks: number; artifacts: number; artifact_tasks: number; mlmd_id_map: number };
  rejects: { total: number; byCode: Record<string, number>; byDisposition: Record<string, number> };
  /** Imported artifacts holding the IdentityKey KFP 3's importer looks for (over the whole database). */
  identityKeys: number;
  /** The options the database is bound to, and the self-check of the fingerprints of the runs migrated now (empty for `mlmd`). */
  fingerprints: MappingOptions & { tally: FingerprintTally };
  seconds: number;
  /** Sharded runs: which shard, and whether this shard found every shard done and finished the run (the last one does). */
  shard?: Shard & { finished: boolean };
}

export async function migrate(opts: MigrateOptions): Promise<MigrateSummary> {
  return withSourceAndTarget(opts, (source, kfp, started) =>
    opts.shard
      ? runPipeline(source, kfp, opts, started, oneShotTarget(false), shardedPhases(kfp, opts.shard))
      : withMigrationLock(kfp, () => runPipeline(source, kfp, opts, started, oneShotTarget(true))),
  );
}

/**
 * What differs between a one-shot `migrate` and `stage` (stager.ts): where KFP 3's tasks go, which
 * runs are read, which bookkeeping rows say when it ran; the pipeline itself is the same.
 */
export interface PipelineTarget {
  /** Readies the target tables; `v1Tasks` says what happened to KFP 2.x's tasks table. */
  prepareTables(kfp: Db): Promise<{ created: string[]; v1Tasks: string }>;
  /** The runs to read, page by page, and how many there are. */
  runs(source: MlmdSource, kfp: Db, batchSize: number): Promise<{ total: number; pages: AsyncIterable<RunRef[]> }>;
  tasksTable: string;
  startedKey: string;
  finishedKey: string;
  /** false: IdentityKeys are settled again only when some run was written (a true-up with nothing changed stays cheap). */
  alwaysSettleIdentity: boolean;
  /**
   * true: the non-KFP records listed by an earlier run stay, and those above the ids it recorded are
   * added (a true-up: listing them all reads every execution, 0.5 s at 15,000 runs).
   */
  incrementalRunless: boolean;
  /** true: a batch or two of runs (a small true-up) is mapped in this thread rather than by starting worker threads. */
  fewRunsInThread: boolean;
  /** Runs after the runs are written and before the run is recorded finished; true when it removed rows (identity keys are settled again). */
  afterRuns?(kfp: Db, counts: Tally['counts']): Promise<boolean | void>;
}

/**
 * A one-shot migrate reads every run. Unsharded, it records the MLMD watermark it read first, as a
 * true-up of `stage` does, so the startup gate (`status --require cutover --mlmd`) counts only what
 * MLMD gained after it: the migrate the gate asks for when KFP 2.x wrote after a cut-over opens it
 * again. (Shards read their runs at different times: a sharded migrate leaves the watermark as it was.)
 */
function oneShotTarget(recordWatermark: boolean): PipelineTarget {
  let watermark: SourceWatermark | undefined;
  return {
    async prepareTables(kfp) {
      // Its artifact_tasks references the staged table; moving the v1 table aside first would leave a half of each.
      if ((await upgradePhase(kfp)) === 'staged') {
        throw new BridgeError(
          'STAGED_UPGRADE',
          `${kfp.target.display} holds a staged upgrade (KFP 3's tasks table as ${STAGED_TASKS} beside KFP 2.x's), which migrate does not write into`,
          'finish it with mlmd-bridge cutover (stop KFP 2.x first), or remove it with mlmd-bridge rollback and migrate then',
        );
      }
      const v1Tasks = await moveV1TasksAside(kfp);
      await recordTablesAboutToBeCreated(kfp, TARGET_TABLES);
      const { created } = await ensureTargetTables(kfp);
      return { created, v1Tasks };
    },
    async runs(source, _kfp, batchSize) {
      if (recordWatermark) watermark = await readSourceWatermark(source.db);
      return { total: await countRunContexts(source.db), pages: runContextPages(source.db, batchSize) };
    },
    tasksTable: 'tasks',
    startedKey: STATE_KEYS.startedAt,
    finishedKey: STATE_KEYS.finishedAt,
    alwaysSettleIdentity: true,
    fewRunsInThread: false,
    incrementalRunless: false,
    async afterRuns(kfp) {
      if (watermark) await setState(kfp, STATE_KEYS.stageWatermark, JSON.stringify(watermark));
    },
  };
}

/** Opens the MLMD source and the KFP database (refusing one without run_details), runs `fn`, closes both. */
export async function withSourceAndTarget<T>(opts: MigrateOptions, fn: (source: MlmdSource, kfp: Db, started: number) => Promise<T>): Promise<T> {
  const started = Date.now();
  const kfpTarget = kfpDatabaseTarget(opts.kfpUrl);
  const source = await openMlmdSource(opts.mlmdUrl);
  let kfp: Db | undefined;
  try {
    kfp = await openKfpDatabase(kfpTarget, { poolSize: Math.max(2, (opts.concurrency ?? DEFAULT_CONCURRENCY) + 1) });
    const target = kfp;
    if (!(await isKfpDatabase(target))) {
      throw new BridgeError(
        'NOT_KFP_DATABASE',
        `${target.target.display} has no run_details table, so it is not a KFP database`,
        'point --kfp at the KFP API server database (usually mlpipeline)',
      );
    }
    return await fn(source, target, started);
  } finally {
    await source.close().catch(() => undefined);
    await kfp?.close().catch(() => undefined);
  }
}

/** extract → transform → load over the runs `target` names; call holding the migration lock. */
export async function runPipeline(
  source: MlmdSource,
  kfp: Db,
  opts: MigrateOptions,
  started: number,
  target: PipelineTarget,
  phases: PipelinePhases = unshardedPhases(kfp),
): Promise<MigrateSummary> {
  const progress: MigrateProgress = { phase: 'prepare', runsTotal: 0, runsDone: 0, rowsWritten: 0, rejectsByCode: {} };
  const tell = () => opts.onProgress?.({ ...progress, rejectsByCode: { ...progress.rejectsByCode } });
  tell();

  // Before anything is created or changed: a PostgreSQL role lacking a privilege is told which GRANT to run.
  await refuseWithoutWritePrivileges(kfp);
  const { mapping, created, v1Tasks } = await phases.setup(() => prepareTarget(source, kfp, opts, started, target));
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const readRuns = () => target.runs(source, kfp, batchSize);
  const { total, pages } = opts.shard ? await shardOfRuns(readRuns, opts.shard) : await readRuns();
  progress.runsTotal = total;
  progress.phase = 'runs';
  tell();

  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const workers = target.fewRunsInThread && total < batchSize * 2 ? 0 : workerCount(concurrency);
  const tally = await phases.runs(async () => {
    const preparer = workers > 0 ? await startWorkerPreparers({ mlmdUrl: opts.mlmdUrl, kfpUrl: opts.kfpUrl, mapping }, workers) : inThreadPreparer(source, kfp, mapping);
    try {
      return await migrateRuns(pages, preparer, kfp, concurrency, target.tasksTable, (batch, runs) => {
        for (const { mapped } of runs) {
          progress.rowsWritten += mapped.tasks.length + mapped.artifacts.length + mapped.links.length;
          for (const r of mapped.rejects) progress.rejectsByCode[r.code] = (progress.rejectsByCode[r.code] ?? 0) + 1;
        }
        progress.runsDone += batch;
        tell();
      });
    } finally {
      await preparer.close();
    }
  });
  const { counts, rows, fingerprints } = tally;
  const finish = await phases.finish(async () => {
    const removedRows = (await target.afterRuns?.(kfp, counts)) === true;
    // Read before the non-KFP records are listed: what is added meanwhile lies above it, for the next true-up to list.
    const maxIds = await source.maxIds();
    const listedUpTo = target.incrementalRunless ? await getJsonState(kfp, STATE_KEYS.nonKfpListedUpTo, isListedUpTo, 'a JSON object {context, execution}') : undefined;
    // Non-KFP records (TFX, KFP v1) MLMD gained since they were last listed must be listed even when no run changed,
    // or a true-up (and the cut-over's) would miss the rejects a one-shot migrate reports.
    const gainedRecords = !listedUpTo || maxIds.context > listedUpTo.context || maxIds.execution > listedUpTo.execution;
    // Decided over every migrated run at once: which imported artifact of a namespace holds a shared key.
    // The last shard decides it for the runs every shard wrote.
    const settle = target.alwaysSettleIdentity || counts.migrated > 0 || opts.shard !== undefined || removedRows || gainedRecords;
    const identity = settle ? await retryOnLockConflict(() => kfp.transaction((tx) => assignIdentityKeys(tx))) : null;
    if (identity) {
      await setState(kfp, STATE_KEYS.identityKeys, String(identity.holding));
      progress.phase = 'non-kfp';
      tell();
      await storeRunlessRejects(source, kfp, identity.shared, listedUpTo);
      await setState(kfp, STATE_KEYS.nonKfpListedUpTo, JSON.stringify({ context: maxIds.context, execution: maxIds.execution }));
    }
    // The shim allocates ids for KFP-3-native rows above every id the MLMD database ever used.
    await setState(kfp, STATE_KEYS.mlmdMaxIds, JSON.stringify(maxIds));
    await setState(kfp, target.finishedKey, new Date().toISOString());
    return { identity };
  });

  const finished = Date.now();
  const rejects = await rejectCounts(kfp);
  progress.phase = 'done';
  tell();
  return {
    source: { url: redact(opts.mlmdUrl), schemaVersion: source.schemaVersion },
    target: { url: kfp.target.display, createdTables: created, v1Tasks },
    runs: { total: counts.total, migrated: counts.migrated, unchanged: counts.unchanged, orphan: rejects.byCode.ORPHAN_RUN ?? 0 },
    rows,
    rejects,
    identityKeys: finish?.identity ? finish.identity.holding : Number((await getState(kfp, STATE_KEYS.identityKeys)) ?? 0),
    fingerprints: { ...mapping, tally: fingerprints },
    seconds: (finished - started) / 1000,
    ...(opts.shard ? { shard: { ...opts.shard, finished: finish !== null } } : {}),
  };
}

/** The table setup and bookkeeping before any run is written (once per sharded run: shard-phases.ts). */
async function prepareTarget(source: MlmdSource, kfp: Db, opts: MigrateOptions, started: number, target: PipelineTarget) {
  await checkIdScheme(kfp);
  const mapping = settleMappingOptions(await recordedMappingOptions(kfp), opts.mapping ?? {});
  await recordMappingOptions(kfp, mapping);
  const { created, v1Tasks } = await target.prepareTables(kfp);
  await recordCreatedTables(kfp, created);
  await setState(kfp, STATE_KEYS.sourceUrl, redact(opts.mlmdUrl));
  await setState(kfp, target.startedKey, new Date(started).toISOString());
  await setState(kfp, 'source_schema_version', String(source.schemaVersion));
  await deleteState(kfp, target.finishedKey);

  const types = await source.readTypes();
  await kfp.transaction((tx) => writeIdMap(tx, typeIdMapRows(types)));
  return { mapping, created, v1Tasks };
}

/** The runs of one shard, and how many: the target's runs are read once to count the shard's, then again as they are migrated. */
async function shardOfRuns(runs: () => Promise<{ pages: AsyncIterable<RunRef[]> }>, shard: Shard): Promise<{ total: number; pages: AsyncIterable<RunRef[]> }> {
  let total = 0;
  for await (const page of (await runs()).pages) for (const r of page) if (inShard(r.name, shard)) total++;
  return { total, pages: shardPages((await runs()).pages, shard) };
}

async function* shardPages(pages: AsyncIterable<RunRef[]>, shard: Shard): AsyncIterable<RunRef[]> {
  for await (const page of pages) {
    const mine = page.filter((r) => inShard(r.name, shard));
    if (mine.length > 0) yield mine;
  }
}

/**
 * The rejects of no run: non-KFP records (TFX, KFP v1), which can number millions and are stored page
 * by page, and shared artifacts. `above` (a true-up): the non-KFP records listed before stay, and only
 * those with larger ids are added; the shared artifacts are replaced.
 */
export async function storeRunlessRejects(source: Pick<MlmdSource, 'listNonKfp'>, kfp: Db, shared: Reject[], above?: { context: number; execution: number }): Promise<void> {
  await kfp.transaction(async (tx) => {
    let seq = 0;
    if (above) {
      const { bridgeRejects: t } = kfpTables(tx);
      await orm(tx).delete(t).where(and(eq(t.run_key, ''), eq(t.code, 'IDENTITY_KEY_SHARED')));
      const [row] = await orm(tx).select({ m: max(t.seq) }).from(t).where(eq(t.run_key, ''));
      seq = row?.m == null ? 0 : Number(row.m) + 1;
    } else {
      await clearRejects(tx, '');
    }
    let page: Reject[] = [];
    for await (const r of source.listNonKfp(above)) {
      page.push({
        code: r.entity === 'context' ? 'NON_KFP_CONTEXT' : 'NON_KFP_EXECUTION',
        disposition: 'skipped',
        entity: r.entity,
        mlmdId: r.id,
        runUuid: null,
        reason: `${r.entity} of type "${r.type}" is not KFP v2 data (TFX or KFP v1); not migrated, the shim serves it from the MLMD archive`,
      });
      if (page.length >= 5000) {
        await appendRejects(tx, '', page, seq);
        seq += page.length;
        page = [];
      }
    }
    page.push(...shared);
    await appendRejects(tx, '', page, seq);
  });
}


/**
 * Rows already migrated keep the ids they were written with, and a re-run replaces a changed run
 * under ids derived again: both must come from the same scheme, or a shared artifact would exist
 * twice. Migrations by mlmd-bridge 0.1 before the scheme was recorded used UUIDv5 ids.
 */
async function checkIdScheme(kfp: Db): Promise<void> {
  const stored = await getState(kfp, STATE_KEYS.idScheme);
  // Only a database without a recorded scheme is looked into, and one checkpoint row is enough.
  const { bridgeRuns: t } = kfpTables(kfp);
  const found = stored ?? ((await orm(kfp).select({ run: t.run_uuid }).from(t).limit(1)).length > 0 ? 'uuidv5' : undefined);
  if (found !== undefined && found !== ID_SCHEME) {
    throw new BridgeError(
      'TARGET_SCHEMA_MISMATCH',
      `${kfp.target.display} holds runs migrated with row ids of scheme "${found}"; this mlmd-bridge derives them with "${ID_SCHEME}", and mixing the two would duplicate shared artifacts`,
      'run `mlmd-bridge rollback --kfp <url>` (it removes exactly what the earlier migration wrote), then migrate again',
    );
  }
  if (stored === undefined) await setState(kfp, STATE_KEYS.idScheme, ID_SCHEME);
}

export interface Tally {
  counts: { total: number; migrated: number; unchanged: number };
  rows: MigrateSummary['rows'];
  fingerprints: FingerprintTally;
}

/**
 * Up to `concurrency` batches are in flight: being read and mapped, or written, each batch in one
 * transaction with its runs' checkpoints. Up to WRITERS batches are written at once, on their own
 * connections: a batch's write is a chain of round trips, and one writer alone leaves the server idle
 * between them. Batches may commit out of order; each is whole, so a resumed migration still finds
 * every run either written with its checkpoint or not at all. A batch holds its slot until it is
 * written, so memory is bounded by `concurrency × batchSize` runs however large the source is.
 */
async function migrateRuns(
  pages: AsyncIterable<RunRef[]>,
  preparer: Preparer,
  kfp: Db,
  concurrency: number,
  tasksTable: string,
  onWritten: (batchSize: number, runs: RunWrite[]) => void,
): Promise<Tally> {
  const counts = { total: 0, migrated: 0, unchanged: 0 };
  const rows = { tasks: 0, artifacts: 0, artifact_tasks: 0, mlmd_id_map: 0 };
  const fingerprints = emptyTally();
  const writeSlot = pLimit(WRITERS);
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for await (const batch of pages) {
    if (failure) break;
    counts.total += batch.length;
    const prepared = preparer.prepare(batch);
    const done: Promise<void> = prepared
      .then((work) =>
        writeSlot(async () => {
          if (failure) return; // nothing more is written once a batch failed
          await writeBatch(kfp, work.runs, tasksTable);
          counts.unchanged += work.unchanged;
          for (const { mapped } of work.runs) {
            counts.migrated++;
            rows.tasks += mapped.tasks.length;
            rows.artifacts += mapped.artifacts.length;
            rows.artifact_tasks += mapped.links.length;
            rows.mlmd_id_map += mapped.idMap.length;
            if (mapped.fingerprints) addTally(fingerprints, mapped.fingerprints);
          }
          onWritten(batch.length, work.runs);
        }),
      )
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return { counts, rows, fingerprints };
}

/**
 * One batch in one transaction. If the database refuses it for a reason that is not transient (a
 * value a column cannot hold, a charset that cannot store it), each run is tried alone so that one
 * bad run costs only itself: it is recorded as RUN_FAILED and the others are written.
 */
async function writeBatch(kfp: Db, runs: RunWrite[], tasksTable: string): Promise<void> {
  if (runs.length === 0) return;
  try {
    await retryOnLockConflict(() => kfp.transaction((tx) => writeRuns(tx, runs, tasksTable)));
    return;
  } catch (e) {
    if (isFatal(e)) throw e;
  }
  for (const r of runs) {
    try {
      await retryOnLockConflict(() => kfp.transaction((tx) => writeRuns(tx, [r], tasksTable)));
    } catch (e) {
      if (isFatal(e)) throw e;
      const reject = runFailedReject(r.mapped.runUuid, r.mapped.contextId, `the KFP database refused the run's rows: ${errorText(e)}`);
      await retryOnLockConflict(() => kfp.transaction((tx) => writeFailedRun(tx, r.mapped.runUuid, r.mapped.contextId, reject)));
      r.mapped = failedRun(r.mapped.runUuid, r.mapped.contextId, reject.reason);
    }
  }
}

/** Errors no other run would escape: the connection, the disk, the database file. */
function isFatal(thrown: unknown): boolean {
  const e = statementError(thrown);
  const err = e as { fatal?: boolean; code?: string };
  if (err.fatal === true || e instanceof BridgeError) return true;
  // PostgreSQL: 08xxx connection exceptions, 57P0x the server shutting down or the session killed.
  return /^(SQLITE_(IOERR|FULL|CORRUPT|NOTADB|CANTOPEN|READONLY)|ECONN|EPIPE|ETIMEDOUT|PROTOCOL_|08|57P0)/.test(err.code ?? '');
}

/** Every MLMD type keeps its id in the map, so legacy clients see the same type ids from the shim. */
function typeIdMapRows(types: MlmdType[]): IdMapRow[] {
  return types.map((t) => ({
    kind: 'type',
    mlmdId: t.id,
    kfpUuid: ids.type(t.typeKind, t.name, t.version),
    runUuid: null,
    extra: JSON.stringify({ name: t.name, typeKind: t.typeKind, version: t.version }),
  }));
}

const isListedUpTo = (v: unknown): v is { context: number; execution: number } =>
  typeof v === 'object' && v !== null && Number.isFinite((v as { context?: unknown }).context) && Number.isFinite((v as { execution?: unknown }).execution);

export async function rejectCounts(kfp: Db): Promise<MigrateSummary['rejects']> {
  const { bridgeRejects: t } = kfpTables(kfp);
  const rows = await orm(kfp).select({ code: t.code, disposition: t.disposition, n: count() }).from(t).groupBy(t.code, t.disposition).orderBy(t.code);
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

/** Every stored reject, run by run, for the rejects file; keyset-paged, so millions of rows stream in bounded memory. */
export async function* readStoredRejects(kfp: Db, pageSize = 5000): AsyncIterable<Reject> {
  const { bridgeRejects: t } = kfpTables(kfp);
  let after: { runKey: string; seq: number } | null = null;
  for (;;) {
    const rows: (typeof t.$inferSelect)[] = await orm(kfp)
      .select()
      .from(t)
      .where(after ? or(gt(t.run_key, after.runKey), and(eq(t.run_key, after.runKey), gt(t.seq, after.seq))) : undefined)
      .orderBy(t.run_key, t.seq)
      .limit(pageSize);
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
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    after = { runKey: last.run_key, seq: Number(last.seq) };
  }
}

