/**
 * Writes mapped runs into the KFP database: artifacts, tasks (parents first), links, id map,
 * rejects and each run's checkpoint. A caller commits one or several whole runs per transaction,
 * so a crash never leaves half a run and a re-run finds either nothing or everything of it. Rows
 * have deterministic ids, so every insert is an upsert and writing the same run twice changes
 * nothing.
 *
 * Several runs are written table by table with few, large multi-row statements: per-statement and
 * per-commit costs, not row counts, dominate a row-at-a-time load. Rows go in primary-key order
 * (parents before children for tasks), which keeps InnoDB's page splits local.
 */
import type { Param, Queryable } from '../db/connection.ts';
import { forceIndex, quoteIdent } from '../db/dialect.ts';
import { insertMany } from '../db/insert.ts';
import { kfpTables, tasksTableNamed } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { and, eq, inArray, isNotNull, ne } from 'drizzle-orm';
import type { ArtifactRow, ArtifactTaskRow, IdMapRow, Reject, RunMigration, TaskRow } from '../transform/model.ts';
import { chunked, placeholders } from '../db/sql.ts';
import { canonicalEqual } from '../transform/values.ts';
import { TOOL_VERSION } from '../version.ts';
import { jsonColumns } from './schema.ts';

const TASK_COLUMNS: (keyof TaskRow)[] = [
  'UUID', 'Namespace', 'RunUUID', 'pods', 'CreatedAtInSec', 'StartedInSec', 'FinishedInSec', 'Fingerprint', 'Name', 'DisplayName',
  'ParentTaskUUID', 'State', 'StatusMetadata', 'StateHistory', 'InputParameters', 'OutputParameters', 'Type', 'TypeAttrs', 'ScopePath', 'LogicalKey',
];
const ARTIFACT_COLUMNS: (keyof ArtifactRow)[] = [
  'UUID', 'Namespace', 'Type', 'URI', 'URIHash', 'Name', 'Description', 'CreatedAtInSec', 'LastUpdateInSec', 'Metadata', 'NumberValue', 'IdentityKey',
];
/**
 * IdentityKey is given out once the whole migration is written (identity-keys.ts): a run's rows
 * carry none, and writing a run again neither compares nor clears it.
 */
const ARTIFACT_MAPPED_COLUMNS = ARTIFACT_COLUMNS.filter((c) => c !== 'IdentityKey');
const LINK_COLUMNS: (keyof ArtifactTaskRow)[] = ['UUID', 'ArtifactID', 'TaskID', 'Type', 'Iteration', 'RunUUID', 'Producer', 'ArtifactKey'];
const ID_MAP_COLUMNS = ['kind', 'mlmd_id', 'kfp_uuid', 'run_uuid', 'extra'];
const ARTIFACT_JSON = jsonColumns('artifacts');
const NO_JSON: ReadonlySet<string> = new Set();
const REJECT_COLUMNS = ['run_key', 'seq', 'code', 'disposition', 'entity', 'mlmd_id', 'reason'];
const CHECKPOINT_COLUMNS = ['run_uuid', 'context_id', 'source_version', 'tasks', 'artifacts', 'links', 'rejects', 'migrated_at', 'tool_version'];


/** One run to write, with the fingerprint of its source and whether an older copy of it is there to replace. */
export interface RunWrite {
  mapped: RunMigration;
  sourceVersion: string;
  replacing: boolean;
}

/** The checkpoints of just these runs: memory stays bounded by the batch, not by the database. */
export async function readCheckpointsOf(db: Queryable, runUuids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const { bridgeRuns: t } = kfpTables(db);
  for (const ids of chunked([...new Set(runUuids)])) {
    const rows = await orm(db).select({ run: t.run_uuid, version: t.source_version }).from(t).where(inArray(t.run_uuid, ids));
    for (const r of rows) out.set(r.run, r.version);
  }
  return out;
}

/**
 * Writes several whole runs, table by table. Call inside one transaction: the runs and their checkpoints commit together.
 * `tasksTable` is `tasks`, or the staging name `stage` builds KFP 3's tasks under while KFP 2.x still owns `tasks`.
 */
export async function writeRuns(tx: Queryable, runs: readonly RunWrite[], tasksTable = 'tasks'): Promise<void> {
  if (runs.length === 0) return;
  const replaced = runs.filter((r) => r.replacing).map((r) => r.mapped.runUuid);
  const { artifactTasks, idMap } = kfpTables(tx);
  const tasks = tasksTableNamed(tx, tasksTable);
  const db = orm(tx);
  for (const ids of chunked(replaced)) {
    // These runs changed since they were migrated: their old rows go first, so nothing stale survives.
    // Links and child tasks would follow through ON DELETE CASCADE; deleting them first keeps that cascade shallow.
    await db.delete(artifactTasks).where(inArray(artifactTasks.RunUUID, ids));
    await db.delete(tasks).where(and(inArray(tasks.RunUUID, ids), isNotNull(tasks.ParentTaskUUID)));
    await db.delete(tasks).where(inArray(tasks.RunUUID, ids));
    await db.delete(idMap).where(and(inArray(idMap.run_uuid, ids), ne(idMap.kind, 'artifact')));
  }
  const mapped = runs.map((r) => r.mapped);
  // An artifact shared by several runs of the batch is one row; as when runs were written one by one, the last run's copy wins.
  const artifacts = lastByKey(mapped.flatMap((m) => m.artifacts), (a) => a.UUID);
  const changed = await notAlreadyThere(tx, 'artifacts', ARTIFACT_MAPPED_COLUMNS, { column: 'UUID', index: 'PRIMARY', json: ARTIFACT_JSON }, artifacts, (a) => String(a.UUID));
  await upsert(tx, 'artifacts', ARTIFACT_COLUMNS, changed.sort(byKey((a) => a.UUID)), ['UUID'], ['IdentityKey']);
  await upsert(tx, tasksTable, TASK_COLUMNS, parentsFirst(mapped.flatMap((m) => m.tasks)), ['UUID']);
  await upsert(tx, 'artifact_tasks', LINK_COLUMNS, mapped.flatMap((m) => m.links).sort(byKey((l) => l.UUID)), ['UUID']);
  await writeIdMap(tx, mapped.flatMap((m) => m.idMap));
  await replaceRejects(tx, mapped.map((m) => ({ runKey: m.runUuid, rejects: m.rejects })));
  const now = Math.floor(Date.now() / 1000);
  await upsert(
    tx,
    'mlmd_bridge_runs',
    CHECKPOINT_COLUMNS,
    runs.map(({ mapped: m, sourceVersion }) => ({
      run_uuid: m.runUuid,
      context_id: m.contextId,
      source_version: sourceVersion,
      tasks: m.tasks.length,
      artifacts: m.artifacts.length,
      links: m.links.length,
      rejects: m.rejects.length,
      migrated_at: now,
      tool_version: TOOL_VERSION,
    })),
    ['run_uuid'],
  );
}

export async function writeIdMap(tx: Queryable, rows: IdMapRow[]): Promise<void> {
  const key = (r: Record<string, unknown>) => `${String(r.kind)}\u0000${String(r.mlmd_id)}\u0000${String(r.kfp_uuid)}`;
  const unique = lastByKey(
    rows.map((r) => ({ kind: r.kind, mlmd_id: r.mlmdId, kfp_uuid: r.kfpUuid, run_uuid: r.runUuid, extra: r.extra })),
    key,
  );
  // Entries of no run (artifacts, pipeline contexts) are shared by many runs: only those not already there are written.
  const shared = unique.filter((r) => r.run_uuid === null);
  const changed = new Set(await notAlreadyThere(tx, 'mlmd_id_map', ID_MAP_COLUMNS, { column: 'kfp_uuid', index: 'idx_mlmd_id_map_kfp_uuid', json: NO_JSON }, shared, key));
  const toWrite = unique
    .filter((r) => r.run_uuid !== null || changed.has(r))
    .sort((a, b) => cmp(a.kind, b.kind) || a.mlmd_id - b.mlmd_id || cmp(a.kfp_uuid, b.kfp_uuid));
  await upsert(tx, 'mlmd_id_map', ID_MAP_COLUMNS, toWrite, ['kind', 'mlmd_id', 'kfp_uuid']);
}

/**
 * The rows the table does not already hold exactly as given. Rows shared by many runs (artifacts,
 * their id-map entries, pipeline contexts) are written by many batches; upserting one that would not
 * change still locks it until the batch commits, and two batches sharing an artifact then wait for
 * each other: 15,000 runs measured 140 such lock waits, 11 s of the two writers' time. A
 * non-locking read finds the rows that would not change; only the others are written. (Two batches
 * writing the same new row still meet on it, once.) `lookup` names the column to find rows by and the
 * index over it, which the read is pinned to (see forceIndex: it scanned mlmd_id_map otherwise), and
 * the JSON columns, compared by value: MySQL 8 gives them back in its own spelling.
 */
async function notAlreadyThere<T extends object>(
  tx: Queryable,
  table: string,
  columns: string[],
  lookup: { column: string; index: string; json: ReadonlySet<string> },
  rows: T[],
  key: (r: Record<string, unknown>) => string,
): Promise<T[]> {
  if (rows.length === 0) return rows;
  const quote = (c: string) => quoteIdent(tx, c);
  // Raw SQL: the read is pinned to an index on MySQL (FORCE INDEX), which drizzle's builder shared by the three dialects cannot say.
  const select = `SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)}${forceIndex(tx, lookup.index)} WHERE ${quote(lookup.column)} IN `;
  const stored = new Map<string, Record<string, unknown>>();
  const values = [...new Set(rows.map((r) => (r as Record<string, unknown>)[lookup.column] as string))];
  for (const ids of chunked(values)) {
    const found = await tx.all<Record<string, unknown>>(`${select}(${placeholders(ids.length)})`, ids);
    for (const r of found) stored.set(key(r), r);
  }
  return rows.filter((r) => {
    const have = stored.get(key(r as Record<string, unknown>));
    return !have || columns.some((c) => !sameStoredValue(have[c], (r as Record<string, unknown>)[c], lookup.json.has(c)));
  });
}

/**
 * A stored value against the one about to be written; drivers may hand numbers back as strings, and
 * MySQL 8 stores JSON in a binary form it prints back with sorted keys and spaces (MariaDB keeps the
 * text). Read as text, every shared artifact would look changed there and be written, and locked, again.
 */
export function sameStoredValue(stored: unknown, wanted: unknown, json: boolean): boolean {
  if (stored === wanted) return true;
  if (stored === null || stored === undefined || wanted === null || wanted === undefined) return (stored ?? null) === (wanted ?? null);
  if (String(stored) === String(wanted)) return true;
  if (!json) return false;
  try {
    return canonicalEqual(JSON.parse(String(stored)), JSON.parse(String(wanted)));
  } catch {
    return false;
  }
}

/**
 * Records a run that could not be written: its reject and a checkpoint that never matches a source
 * version, so the next migrate tries it again. Rows it had from an earlier migration stay.
 */
export async function writeFailedRun(tx: Queryable, runUuid: string, contextId: number, reject: Reject): Promise<void> {
  await replaceRejects(tx, [{ runKey: runUuid, rejects: [reject] }]);
  await upsert(
    tx,
    'mlmd_bridge_runs',
    CHECKPOINT_COLUMNS,
    [{ run_uuid: runUuid, context_id: contextId, source_version: FAILED_VERSION, tasks: 0, artifacts: 0, links: 0, rejects: 1, migrated_at: Math.floor(Date.now() / 1000), tool_version: TOOL_VERSION }],
    ['run_uuid'],
  );
}

/** The source version of a run that failed: no real version (a hex digest) equals it. */
export const FAILED_VERSION = 'failed';

/** Clears the stored rejects of a key before `appendRejects` adds them page by page. */
export async function clearRejects(tx: Queryable, runKey: string): Promise<void> {
  const { bridgeRejects } = kfpTables(tx);
  await orm(tx).delete(bridgeRejects).where(eq(bridgeRejects.run_key, runKey));
}

/** Adds rejects under a key, numbered from `firstSeq`: for lists too long to hold in memory at once. */
export async function appendRejects(tx: Queryable, runKey: string, rejects: Reject[], firstSeq: number): Promise<void> {
  const rows = rejects.map((r, i) => ({ run_key: runKey, seq: firstSeq + i, code: r.code, disposition: r.disposition, entity: r.entity, mlmd_id: r.mlmdId, reason: r.reason }));
  await upsert(tx, 'mlmd_bridge_rejects', REJECT_COLUMNS, rows, null);
}

/** Replaces the stored rejects of one run (or of the run-less records, key ''). */
export async function writeRejects(tx: Queryable, runKey: string, rejects: Reject[]): Promise<void> {
  await replaceRejects(tx, [{ runKey, rejects }]);
}

async function replaceRejects(tx: Queryable, runs: { runKey: string; rejects: Reject[] }[]): Promise<void> {
  const { bridgeRejects } = kfpTables(tx);
  for (const keys of chunked(runs.map((r) => r.runKey))) await orm(tx).delete(bridgeRejects).where(inArray(bridgeRejects.run_key, keys));
  const rows = runs.flatMap(({ runKey, rejects }) =>
    rejects.map((r, i) => ({ run_key: runKey, seq: i, code: r.code, disposition: r.disposition, entity: r.entity, mlmd_id: r.mlmdId, reason: r.reason })),
  );
  await upsert(tx, 'mlmd_bridge_rejects', REJECT_COLUMNS, rows, null);
}

/**
 * Tasks ordered so that every parent precedes its children (InnoDB checks the self-referencing
 * foreign key row by row, even inside one multi-row INSERT), and by primary key within a depth.
 */
function parentsFirst(tasks: TaskRow[]): TaskRow[] {
  const byUuid = new Map(tasks.map((t) => [t.UUID, t]));
  const depth = new Map<string, number>();
  const depthOf = (t: TaskRow): number => {
    const known = depth.get(t.UUID);
    if (known !== undefined) return known;
    // Iterative walk up the parents: trees can be deep, and a cycle (never written by the transform) must not hang.
    const chain: TaskRow[] = [];
    let cur: TaskRow | undefined = t;
    let base = 0;
    while (cur) {
      const d = depth.get(cur.UUID);
      if (d !== undefined) {
        base = d + 1;
        break;
      }
      if (chain.includes(cur)) break;
      chain.push(cur);
      cur = cur.ParentTaskUUID === null ? undefined : byUuid.get(cur.ParentTaskUUID);
    }
    for (let i = chain.length - 1; i >= 0; i--) depth.set(chain[i]!.UUID, base + (chain.length - 1 - i));
    return depth.get(t.UUID)!;
  };
  return tasks
    .map((t) => ({ t, d: depthOf(t) }))
    .sort((a, b) => a.d - b.d || cmp(a.t.UUID, b.t.UUID))
    .map((x) => x.t);
}

function lastByKey<T>(rows: T[], key: (r: T) => string): T[] {
  const out = new Map<string, T>();
  for (const r of rows) out.set(key(r), r);
  return [...out.values()];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byKey<T>(key: (r: T) => string): (a: T, b: T) => number {
  return (a, b) => cmp(key(a), key(b));
}

type RowLike = object;

/**
 * Upsert of row objects: their `columns` in order, through the one multi-row INSERT builder; `keep` as insertMany's.
 * Raw SQL rather than drizzle's insert: a bulk path, statements sized by bytes and placeholders, MySQL's values as literals (db/insert.ts).
 */
async function upsert(tx: Queryable, table: string, columns: string[], rows: RowLike[], key: string[] | null, keep: string[] = []): Promise<void> {
  const values = rows.map((r) => columns.map((c) => ((r as Record<string, unknown>)[c] ?? null) as Param));
  await insertMany(tx, table, columns, values, key, keep);
}
