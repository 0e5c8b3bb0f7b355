/**
 * What is in an MLMD database, for `plan` and the migration report: totals, counts per type split
 * into KFP and non-KFP rows, and a paged listing of what will not be migrated (TFX, KFP v1).
 *
 * "KFP" means: a context of type system.PipelineRun or system.Pipeline; an execution associated
 * with a system.PipelineRun context; an artifact named by an event of such an execution.
 */
import type { Queryable } from '../db/connection.ts';
import type { MlmdType } from '../transform/model.ts';
import { PIPELINE_RUN_TYPE, PIPELINE_TYPE } from './run-bundles.ts';
import { num } from '../db/sql.ts';

export interface SourceCounts {
  executions: number;
  artifacts: number;
  events: number;
  contexts: number;
  byType: { kind: 'context' | 'execution' | 'artifact'; type: string; count: number; kfp: boolean }[];
}

export type NonKfpRecord = { entity: 'context' | 'execution'; id: number; type: string };

const KFP_CONTEXT_TYPES = [PIPELINE_RUN_TYPE, PIPELINE_TYPE];

/** Executions associated with a run context; a derived table so each statement evaluates it once. */
const KFP_EXECUTIONS =
  'SELECT DISTINCT s.`execution_id` FROM `Association` s JOIN `Context` c ON c.`id` = s.`context_id` ' +
  'JOIN `Type` ct ON ct.`id` = c.`type_id` ' +
  `WHERE ct.\`name\` = '${PIPELINE_RUN_TYPE}' AND ct.\`type_kind\` = 2`;

const KFP_ARTIFACTS = `SELECT DISTINCT ev.\`artifact_id\` FROM \`Event\` ev WHERE ev.\`execution_id\` IN (${KFP_EXECUTIONS})`;

export async function countSource(db: Queryable, types: MlmdType[]): Promise<SourceCounts> {
  const typeName = new Map(types.map((t) => [t.id, t.name]));
  const nameOf = (typeId: unknown) => typeName.get(num(typeId)) ?? `(missing type ${num(typeId)})`;
  const total = async (table: string) => num((await db.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM \`${table}\``))[0]?.n ?? 0);

  const byType: SourceCounts['byType'] = [];
  const contexts = await db.all<{ type_id: unknown; n: unknown }>(
    'SELECT c.`type_id`, COUNT(*) AS n FROM `Context` c GROUP BY c.`type_id` ORDER BY c.`type_id`',
  );
  for (const r of contexts) {
    const type = nameOf(r.type_id);
    byType.push({ kind: 'context', type, count: num(r.n), kfp: KFP_CONTEXT_TYPES.includes(type) });
  }
  const executions = await db.all<{ type_id: unknown; kfp: unknown; n: unknown }>(
    'SELECT e.`type_id`, CASE WHEN k.`execution_id` IS NULL THEN 0 ELSE 1 END AS kfp, COUNT(*) AS n FROM `Execution` e ' +
      `LEFT JOIN (${KFP_EXECUTIONS}) k ON k.\`execution_id\` = e.\`id\` GROUP BY e.\`type_id\`, kfp ORDER BY e.\`type_id\`, kfp`,
  );
  for (const r of executions) byType.push({ kind: 'execution', type: nameOf(r.type_id), count: num(r.n), kfp: num(r.kfp) === 1 });
  const artifacts = await db.all<{ type_id: unknown; kfp: unknown; n: unknown }>(
    'SELECT a.`type_id`, CASE WHEN k.`artifact_id` IS NULL THEN 0 ELSE 1 END AS kfp, COUNT(*) AS n FROM `Artifact` a ' +
      `LEFT JOIN (${KFP_ARTIFACTS}) k ON k.\`artifact_id\` = a.\`id\` GROUP BY a.\`type_id\`, kfp ORDER BY a.\`type_id\`, kfp`,
  );
  for (const r of artifacts) byType.push({ kind: 'artifact', type: nameOf(r.type_id), count: num(r.n), kfp: num(r.kfp) === 1 });

  return {
    executions: await total('Execution'),
    artifacts: await total('Artifact'),
    events: await total('Event'),
    contexts: await total('Context'),
    byType,
  };
}

/**
 * Contexts of other types than the two KFP ones, then executions with no run context, each
 * ascending by id and read a page at a time.
 */
/** `above`: only records with larger ids (a true-up lists what was added since the last listing). */
export async function* listNonKfp(db: Queryable, pageSize = 1000, above: { context: number; execution: number } = { context: 0, execution: 0 }): AsyncIterable<NonKfpRecord> {
  let after = above.context;
  for (;;) {
    const page = await db.all<{ id: unknown; type_name: unknown; type_id: unknown }>(
      'SELECT c.`id`, c.`type_id`, t.`name` AS type_name FROM `Context` c LEFT JOIN `Type` t ON t.`id` = c.`type_id` ' +
        'WHERE c.`id` > ? AND (t.`name` IS NULL OR t.`name` NOT IN (?, ?)) ORDER BY c.`id` LIMIT ?',
      [after, PIPELINE_RUN_TYPE, PIPELINE_TYPE, pageSize],
    );
    for (const r of page) yield { entity: 'context', id: num(r.id), type: typeLabel(r) };
    if (page.length < pageSize) break;
    after = num(page[page.length - 1]!.id);
  }
  after = above.execution;
  for (;;) {
    // Association has no index on execution_id; restricting the derived set to the page's id
    // range lets the server discard most of it early.
    const page = await db.all<{ id: unknown; type_name: unknown; type_id: unknown }>(
      'SELECT e.`id`, e.`type_id`, t.`name` AS type_name FROM `Execution` e LEFT JOIN `Type` t ON t.`id` = e.`type_id` ' +
        `LEFT JOIN (${KFP_EXECUTIONS} AND s.\`execution_id\` > ?) k ON k.\`execution_id\` = e.\`id\` ` +
        'WHERE e.`id` > ? AND k.`execution_id` IS NULL ORDER BY e.`id` LIMIT ?',
      [after, after, pageSize],
    );
    for (const r of page) yield { entity: 'execution', id: num(r.id), type: typeLabel(r) };
    if (page.length < pageSize) break;
    after = num(page[page.length - 1]!.id);
  }
}

function typeLabel(r: { type_name: unknown; type_id: unknown }): string {
  return r.type_name == null ? `(missing type ${num(r.type_id)})` : String(r.type_name);
}
