/**
 * Which KFP runs' MLMD records changed since a watermark, found through MLMD's indexes rather than
 * by reading every run (design.md §5b): `last_update_time_since_epoch` of executions, contexts and
 * artifacts (each has an index in every schema version, mlmd-source.md), and new events by id
 * (Event has no index on its time, but its id only grows). Reads only.
 */
import type { Db } from '../db/connection.ts';
import { PIPELINE_RUN_TYPE } from './run-bundles.ts';
import { chunked, num, placeholders } from './sql.ts';

/** The high-water marks of the MLMD source: the newest update time of any node (ms), the newest event id. */
export interface SourceWatermark {
  updateMs: number;
  eventId: number;
}

type Row = Record<string, unknown>;

/** Read first, before any change is looked for, so that whatever is written meanwhile lies above it. */
export async function readSourceWatermark(db: Db): Promise<SourceWatermark> {
  let updateMs = 0;
  for (const table of ['Execution', 'Context', 'Artifact']) {
    const [r] = await db.all<Row>(`SELECT MAX(\`last_update_time_since_epoch\`) AS m FROM \`${table}\``);
    updateMs = Math.max(updateMs, num(r?.m ?? 0) || 0);
  }
  const [e] = await db.all<Row>('SELECT MAX(`id`) AS m FROM `Event`');
  return { updateMs, eventId: num(e?.m ?? 0) || 0 };
}

async function runTypeIds(db: Db): Promise<number[]> {
  const types = await db.all<Row>('SELECT `id` FROM `Type` WHERE `name` = ? AND `type_kind` = 2', [PIPELINE_RUN_TYPE]);
  return types.map((t) => num(t.id));
}

/**
 * The `system.PipelineRun` contexts touched at or after `since` (update times ≥ updateMs, event ids
 * > eventId): the run context itself, an execution associated with it, an event of such an
 * execution, or an artifact such an execution used or made. Keyed by context id, value the run UUID.
 */
export async function changedRunContexts(db: Db, since: SourceWatermark): Promise<Map<number, string>> {
  const typeIds = await runTypeIds(db);
  const out = new Map<number, string>();
  if (typeIds.length === 0) return out;
  const inTypes = `c.\`type_id\` IN (${placeholders(typeIds.length)})`;
  const queries: [string, number][] = [
    [`SELECT c.\`id\`, c.\`name\` FROM \`Context\` c WHERE c.\`last_update_time_since_epoch\` >= ? AND ${inTypes}`, since.updateMs],
    [
      'SELECT DISTINCT c.`id`, c.`name` FROM `Execution` e JOIN `Association` a ON a.`execution_id` = e.`id` JOIN `Context` c ON c.`id` = a.`context_id` ' +
        `WHERE e.\`last_update_time_since_epoch\` >= ? AND ${inTypes}`,
      since.updateMs,
    ],
    [
      'SELECT DISTINCT c.`id`, c.`name` FROM `Event` v JOIN `Association` a ON a.`execution_id` = v.`execution_id` JOIN `Context` c ON c.`id` = a.`context_id` ' +
        `WHERE v.\`id\` > ? AND ${inTypes}`,
      since.eventId,
    ],
    [
      'SELECT DISTINCT c.`id`, c.`name` FROM `Artifact` r JOIN `Event` v ON v.`artifact_id` = r.`id` JOIN `Association` a ON a.`execution_id` = v.`execution_id` ' +
        `JOIN \`Context\` c ON c.\`id\` = a.\`context_id\` WHERE r.\`last_update_time_since_epoch\` >= ? AND ${inTypes}`,
      since.updateMs,
    ],
  ];
  for (const [sql, bound] of queries) {
    for (const r of await db.all<Row>(sql, [bound, ...typeIds])) out.set(num(r.id), String(r.name));
  }
  return out;
}

/** The run contexts of these run UUIDs that exist (a run KFP created but whose driver never ran has none). */
export async function runContextsByName(db: Db, names: readonly string[]): Promise<Map<number, string>> {
  const typeIds = await runTypeIds(db);
  const out = new Map<number, string>();
  if (typeIds.length === 0) return out;
  for (const part of chunked([...names])) {
    const rows = await db.all<Row>(
      `SELECT \`id\`, \`name\` FROM \`Context\` WHERE \`type_id\` IN (${placeholders(typeIds.length)}) AND \`name\` IN (${placeholders(part.length)})`,
      [...typeIds, ...part],
    );
    for (const r of rows) out.set(num(r.id), String(r.name));
  }
  return out;
}
