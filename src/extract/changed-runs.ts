/**
 * Which MLMD records changed since a watermark, found through MLMD's indexes rather than by reading
 * every run (design.md §5b): `last_update_time_since_epoch` of executions, contexts and artifacts
 * (each has an index in every schema version, mlmd-source.md), and new events and associations by id
 * (Event has no index on its time and Association none on its execution, but their ids only grow).
 * Reads only. Which run an execution belongs to is the caller's to resolve (contextsOfExecutions is
 * the fallback: MLMD has no index that answers it cheaply).
 */
import type { Db } from '../db/connection.ts';
import { PIPELINE_RUN_TYPE } from './run-bundles.ts';
import { chunked, num, placeholders } from '../db/sql.ts';

/** The high-water marks of the MLMD source: the newest update time of any node (ms), the newest event and association ids. */
export interface SourceWatermark {
  updateMs: number;
  eventId: number;
  associationId: number;
}

type Row = Record<string, unknown>;

const maxOf = async (db: Db, sql: string) => num((await db.all<Row>(sql))[0]?.m ?? 0) || 0;

/** Read first, before any change is looked for, so that whatever is written meanwhile lies above it. */
export async function readSourceWatermark(db: Db): Promise<SourceWatermark> {
  let updateMs = 0;
  for (const table of ['Execution', 'Context', 'Artifact']) updateMs = Math.max(updateMs, await maxOf(db, `SELECT MAX(\`last_update_time_since_epoch\`) AS m FROM \`${table}\``));
  return { updateMs, eventId: await maxOf(db, 'SELECT MAX(`id`) AS m FROM `Event`'), associationId: await maxOf(db, 'SELECT MAX(`id`) AS m FROM `Association`') };
}

export interface ChangedRecords {
  /** Run contexts updated (or created) at or after the watermark, id → run UUID. */
  runContexts: Map<number, string>;
  /** Contexts that gained an execution (new associations), with those executions. */
  associations: { contextId: number; executionId: number }[];
  /** Executions updated, or named by a new event, or that used or made an updated artifact. */
  executions: number[];
}

const ids = (rows: Row[], column: string) => rows.map((r) => num(r[column]));

export async function changedRecords(db: Db, since: SourceWatermark): Promise<ChangedRecords> {
  const typeIds = await runTypeIds(db);
  const runContexts = new Map<number, string>();
  if (typeIds.length > 0) {
    const rows = await db.all<Row>(
      `SELECT \`id\`, \`name\` FROM \`Context\` WHERE \`last_update_time_since_epoch\` >= ? AND \`type_id\` IN (${placeholders(typeIds.length)})`,
      [since.updateMs, ...typeIds],
    );
    for (const r of rows) runContexts.set(num(r.id), String(r.name));
  }
  const associations = (await db.all<Row>('SELECT `context_id`, `execution_id` FROM `Association` WHERE `id` > ?', [since.associationId])).map((r) => ({
    contextId: num(r.context_id),
    executionId: num(r.execution_id),
  }));
  const executions = new Set(ids(await db.all<Row>('SELECT `id` FROM `Execution` WHERE `last_update_time_since_epoch` >= ?', [since.updateMs]), 'id'));
  for (const id of ids(await db.all<Row>('SELECT `execution_id` FROM `Event` WHERE `id` > ?', [since.eventId]), 'execution_id')) executions.add(id);
  const artifacts = ids(await db.all<Row>('SELECT `id` FROM `Artifact` WHERE `last_update_time_since_epoch` >= ?', [since.updateMs]), 'id');
  for (const part of chunked(artifacts)) {
    // UniqueEvent(artifact_id, execution_id, type) serves this.
    for (const id of ids(await db.all<Row>(`SELECT \`execution_id\` FROM \`Event\` WHERE \`artifact_id\` IN (${placeholders(part.length)})`, part), 'execution_id')) executions.add(id);
  }
  return { runContexts, associations, executions: [...executions] };
}

async function runTypeIds(db: Db): Promise<number[]> {
  const types = await db.all<Row>('SELECT `id` FROM `Type` WHERE `name` = ? AND `type_kind` = 2', [PIPELINE_RUN_TYPE]);
  return types.map((t) => num(t.id));
}

/** Of these contexts, the `system.PipelineRun` ones: id → run UUID. */
export async function runContextsById(db: Db, contextIds: readonly number[]): Promise<Map<number, string>> {
  return runContextsWhere(db, 'id', [...new Set(contextIds)]);
}

/** The run contexts of these run UUIDs that exist (a run KFP created but whose driver never ran has none). */
export async function runContextsByName(db: Db, names: readonly string[]): Promise<Map<number, string>> {
  return runContextsWhere(db, 'name', [...new Set(names)]);
}

async function runContextsWhere(db: Db, column: 'id' | 'name', values: (number | string)[]): Promise<Map<number, string>> {
  const typeIds = await runTypeIds(db);
  const out = new Map<number, string>();
  if (typeIds.length === 0) return out;
  for (const part of chunked(values)) {
    const rows = await db.all<Row>(
      `SELECT \`id\`, \`name\` FROM \`Context\` WHERE \`type_id\` IN (${placeholders(typeIds.length)}) AND \`${column}\` IN (${placeholders(part.length)})`,
      [...typeIds, ...part],
    );
    for (const r of rows) out.set(num(r.id), String(r.name));
  }
  return out;
}

/**
 * The contexts of these executions. Association has no index on execution_id, so this scans it:
 * the change finder asks only about executions its own id map and the new associations do not place.
 */
export async function contextsOfExecutions(db: Db, executionIds: readonly number[]): Promise<number[]> {
  const out = new Set<number>();
  for (const part of chunked([...new Set(executionIds)])) {
    for (const r of await db.all<Row>(`SELECT \`context_id\` FROM \`Association\` WHERE \`execution_id\` IN (${placeholders(part.length)})`, part)) out.add(num(r.context_id));
  }
  return [...out];
}

/** Of these `system.Pipeline` contexts, those that are still the parent of some run context. */
export async function pipelineContextsWithRuns(db: Db, pipelineContextIds: readonly number[]): Promise<Set<number>> {
  const typeIds = await runTypeIds(db);
  const out = new Set<number>();
  if (typeIds.length === 0) return out;
  for (const part of chunked([...new Set(pipelineContextIds)])) {
    const rows = await db.all<Row>(
      'SELECT DISTINCT pc.`parent_context_id` AS id FROM `ParentContext` pc JOIN `Context` c ON c.`id` = pc.`context_id` ' +
        `WHERE pc.\`parent_context_id\` IN (${placeholders(part.length)}) AND c.\`type_id\` IN (${placeholders(typeIds.length)})`,
      [...part, ...typeIds],
    );
    for (const r of rows) out.add(num(r.id));
  }
  return out;
}
