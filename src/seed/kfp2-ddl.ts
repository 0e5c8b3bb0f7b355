/**
 * The KFP 2.x (`master`) tables the seed fills besides MLMD: `experiments` and `run_details`, as
 * GORM creates them from `backend/src/apiserver/model/{experiment,run,pipeline_spec,runtime_config}.go`.
 * MySQL (DefaultStringSize 255): an untyped string is VARCHAR(255), LargeText LONGTEXT. PostgreSQL
 * (the `pgx` dialect, no DefaultStringSize): an untyped string is `text`, LargeText TEXT, names are
 * quoted as written. int64 is BIGINT everywhere. Index names and column order follow the models.
 */
import type { Queryable } from '../db/connection.ts';
import type { Dialect } from '../db/url.ts';

type Col = { name: string } & Record<Dialect, string>;

const nullity = (notNull: boolean) => (notNull ? ' NOT NULL' : ' DEFAULT NULL');

/** A string column; `size` where the model gives its type (`type:varchar(n)`), none for GORM's default string. */
const s = (name: string, size: number | null = null, notNull = true): Col => ({
  name,
  mysql: `varchar(${size ?? 255})${nullity(notNull)}`,
  postgres: `${size === null ? 'text' : `varchar(${size})`}${nullity(notNull)}`,
  sqlite: `text${nullity(notNull)}`,
});
const big = (name: string, notNull: boolean, dflt?: number): Col => {
  const tail = `${notNull ? ' NOT NULL' : ''}${dflt !== undefined ? ` DEFAULT ${dflt}` : ''}`;
  return { name, mysql: `bigint${tail}`, postgres: `bigint${tail}`, sqlite: `integer${tail}` };
};
const large = (name: string, notNull = false): Col => ({
  name,
  mysql: `longtext${notNull ? ' NOT NULL' : ''}`,
  postgres: `text${notNull ? ' NOT NULL' : ''}`,
  sqlite: `text${notNull ? ' NOT NULL' : ''}`,
});

const EXPERIMENT_COLUMNS: Col[] = [
  s('UUID', 191),
  s('Name', 128),
  s('Description'),
  big('CreatedAtInSec', true),
  big('LastRunCreatedAtInSec', true),
  s('Namespace', 63),
  s('StorageState'),
];

const RUN_DETAILS_COLUMNS: Col[] = [
  s('UUID', 191),
  s('DisplayName'),
  s('Name'),
  s('Description'),
  s('Namespace', 63),
  s('ExperimentUUID', 64),
  s('JobUUID', null, false),
  s('StorageState'),
  s('ServiceAccount'),
  s('PipelineId'),
  s('PipelineVersionId', null, false),
  s('PipelineName'),
  large('PipelineSpecManifest'),
  large('WorkflowSpecManifest'),
  large('Parameters'),
  large('RuntimeParameters'),
  large('PipelineRoot'),
  big('CreatedAtInSec', true),
  big('ScheduledAtInSec', false, 0),
  big('FinishedAtInSec', false, 0),
  s('Conditions', 125),
  s('State', null, false),
  large('StateHistory'),
  large('PluginsInput'),
  large('PluginsOutput'),
  large('PipelineRuntimeManifest', true),
  large('WorkflowRuntimeManifest', true),
  big('PipelineContextId', false, 0),
  big('PipelineRunContextId', false, 0),
  big('RetryGeneration', false, 0),
  big('RetryClaimedAtInSec', false, 0),
  big('ArchivedAtInSec', false, 0),
];

export const RUN_DETAILS_COLUMN_NAMES = RUN_DETAILS_COLUMNS.map((c) => c.name);
export const EXPERIMENT_COLUMN_NAMES = EXPERIMENT_COLUMNS.map((c) => c.name);

function createTable(q: Queryable, table: string, cols: Col[], primaryKey: string): string {
  const body = cols.map((c) => `\`${c.name}\` ${c[q.dialect]}`);
  body.push(`PRIMARY KEY (\`${primaryKey}\`)`);
  const tail = q.dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : '';
  return `CREATE TABLE \`${table}\` (${body.join(', ')})${tail}`;
}

function createIndex(table: string, name: string, cols: string[], unique = false): string {
  const list = cols.map((c) => `\`${c}\``).join(', ');
  return `CREATE ${unique ? 'UNIQUE ' : ''}INDEX \`${name}\` ON \`${table}\` (${list})`;
}

/** Creates `experiments` and `run_details` in an empty KFP database. */
export async function createKfp2Tables(q: Queryable): Promise<void> {
  await q.run(createTable(q, 'experiments', EXPERIMENT_COLUMNS, 'UUID'));
  await q.run(createIndex('experiments', 'idx_name_namespace', ['Name', 'Namespace'], true));
  await q.run(createTable(q, 'run_details', RUN_DETAILS_COLUMNS, 'UUID'));
  await q.run(createIndex('run_details', 'namespace_createatinsec', ['Namespace', 'CreatedAtInSec']));
  await q.run(createIndex('run_details', 'namespace_conditions_finishedatinsec', ['Namespace', 'Conditions', 'FinishedAtInSec']));
  await q.run(createIndex('run_details', 'experimentuuid_createatinsec', ['ExperimentUUID', 'CreatedAtInSec']));
  await q.run(createIndex('run_details', 'experimentuuid_conditions_finishedatinsec', ['ExperimentUUID', 'Conditions', 'FinishedAtInSec']));
}

/** Columns of the v1 `tasks` table the seed writes (master `model/task.go`). */
export const V1_TASK_COLUMN_NAMES = [
  'UUID',
  'Namespace',
  'PipelineName',
  'RunUUID',
  'PodName',
  'MLMDExecutionID',
  'CreatedTimestamp',
  'StartedTimestamp',
  'FinishedTimestamp',
  'Fingerprint',
  'Name',
  'ParentTaskUUID',
  'State',
  'StateHistory',
  'MLMDInputs',
  'MLMDOutputs',
  'ChildrenPods',
  'Payload',
] as const;
