/**
 * Writes one run's rows into the KFP database: artifacts, tasks (parents first), links, id map,
 * rejects and the run's checkpoint, all in one transaction, so a crash never leaves half a run
 * and a re-run finds either nothing or everything of it. Rows have deterministic ids, so every
 * insert is an upsert and writing the same run twice changes nothing.
 */
import type { Param, Queryable } from '../db/connection.ts';
import type { ArtifactRow, ArtifactTaskRow, IdMapRow, Reject, RunMigration, TaskRow } from '../transform/model.ts';

export const TOOL_VERSION = '0.1.0';

const TASK_COLUMNS: (keyof TaskRow)[] = [
  'UUID', 'Namespace', 'RunUUID', 'pods', 'CreatedAtInSec', 'StartedInSec', 'FinishedInSec', 'Fingerprint', 'Name', 'DisplayName',
  'ParentTaskUUID', 'State', 'StatusMetadata', 'StateHistory', 'InputParameters', 'OutputParameters', 'Type', 'TypeAttrs', 'ScopePath', 'LogicalKey',
];
const ARTIFACT_COLUMNS: (keyof ArtifactRow)[] = [
  'UUID', 'Namespace', 'Type', 'URI', 'URIHash', 'Name', 'Description', 'CreatedAtInSec', 'LastUpdateInSec', 'Metadata', 'NumberValue', 'IdentityKey',
];
const LINK_COLUMNS: (keyof ArtifactTaskRow)[] = ['UUID', 'ArtifactID', 'TaskID', 'Type', 'Iteration', 'RunUUID', 'Producer', 'ArtifactKey'];

/** Rows per multi-row statement: well under MySQL's 65,535 and SQLite's 32,766 placeholders. */
const ROWS_PER_STATEMENT = 400;

export interface Checkpoint {
  runUuid: string;
  contextId: number;
  sourceVersion: string;
}

export async function readCheckpoints(db: Queryable): Promise<Map<string, string>> {
  const rows = await db.all<{ run_uuid: string; source_version: string }>('SELECT run_uuid, source_version FROM mlmd_bridge_runs');
  return new Map(rows.map((r) => [r.run_uuid, r.source_version]));
}

/** Writes a mapped run (or re-writes it after its source changed). Call inside a transaction. */
export async function writeRun(tx: Queryable, m: RunMigration, sourceVersion: string, replacing: boolean): Promise<void> {
  if (replacing) {
    // The run changed since it was migrated: its old rows go first, so nothing stale survives.
    // Links and child tasks follow through ON DELETE CASCADE.
    await tx.run('DELETE FROM artifact_tasks WHERE RunUUID = ?', [m.runUuid]);
    await tx.run('DELETE FROM tasks WHERE RunUUID = ? AND ParentTaskUUID IS NOT NULL', [m.runUuid]);
    await tx.run('DELETE FROM tasks WHERE RunUUID = ?', [m.runUuid]);
    await tx.run("DELETE FROM mlmd_id_map WHERE run_uuid = ? AND kind <> 'artifact'", [m.runUuid]);
  }
  await upsert(tx, 'artifacts', ARTIFACT_COLUMNS, m.artifacts, ['UUID']);
  await upsert(tx, 'tasks', TASK_COLUMNS, m.tasks, ['UUID']);
  await upsert(tx, 'artifact_tasks', LINK_COLUMNS, m.links, ['UUID']);
  await writeIdMap(tx, m.idMap);
  await writeRejects(tx, m.runUuid, m.rejects);
  await upsert(
    tx,
    'mlmd_bridge_runs',
    ['run_uuid', 'context_id', 'source_version', 'tasks', 'artifacts', 'links', 'rejects', 'migrated_at', 'tool_version'],
    [
      {
        run_uuid: m.runUuid,
        context_id: m.contextId,
        source_version: sourceVersion,
        tasks: m.tasks.length,
        artifacts: m.artifacts.length,
        links: m.links.length,
        rejects: m.rejects.length,
        migrated_at: Math.floor(Date.now() / 1000),
        tool_version: TOOL_VERSION,
      },
    ],
    ['run_uuid'],
  );
}

export async function writeIdMap(tx: Queryable, rows: IdMapRow[]): Promise<void> {
  await upsert(
    tx,
    'mlmd_id_map',
    ['kind', 'mlmd_id', 'kfp_uuid', 'run_uuid', 'extra'],
    rows.map((r) => ({ kind: r.kind, mlmd_id: r.mlmdId, kfp_uuid: r.kfpUuid, run_uuid: r.runUuid, extra: r.extra })),
    ['kind', 'mlmd_id', 'kfp_uuid'],
  );
}

/** Replaces the stored rejects of one run (or of the run-less records, key ''). */
export async function writeRejects(tx: Queryable, runKey: string, rejects: Reject[]): Promise<void> {
  await tx.run('DELETE FROM mlmd_bridge_rejects WHERE run_key = ?', [runKey]);
  await insertMany(
    tx,
    'mlmd_bridge_rejects',
    ['run_key', 'seq', 'code', 'disposition', 'entity', 'mlmd_id', 'reason'],
    rejects.map((r, i) => ({ run_key: runKey, seq: i, code: r.code, disposition: r.disposition, entity: r.entity, mlmd_id: r.mlmdId, reason: r.reason })),
  );
}

type RowLike = object;

async function insertMany(tx: Queryable, table: string, columns: string[], rows: RowLike[]): Promise<void> {
  await upsert(tx, table, columns, rows, null);
}

/** Multi-row INSERT … ON DUPLICATE KEY UPDATE (MySQL) / ON CONFLICT DO UPDATE (SQLite). */
async function upsert(tx: Queryable, table: string, columns: string[], rows: RowLike[], key: string[] | null): Promise<void> {
  if (rows.length === 0) return;
  const q = (c: string) => (tx.dialect === 'mysql' ? `\`${c}\`` : `"${c}"`);
  const cols = columns.map(q).join(', ');
  const rowPh = `(${columns.map(() => '?').join(', ')})`;
  const nonKey = key ? columns.filter((c) => !key.includes(c)) : [];
  let tail = '';
  if (key && nonKey.length > 0) {
    tail =
      tx.dialect === 'mysql'
        ? ` ON DUPLICATE KEY UPDATE ${nonKey.map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`
        : ` ON CONFLICT(${key.map(q).join(', ')}) DO UPDATE SET ${nonKey.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`;
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const params: Param[] = [];
    for (const r of chunk) for (const c of columns) params.push(((r as Record<string, unknown>)[c] ?? null) as Param);
    await tx.run(`INSERT INTO ${q(table)} (${cols}) VALUES ${chunk.map(() => rowPh).join(', ')}${tail}`, params);
  }
}
