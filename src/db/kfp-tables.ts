/**
 * The tables mlmd-bridge writes in a KFP database, each described once (table-spec.ts):
 * - the KFP 3 tables `artifacts`, `tasks`, `artifact_tasks`, exactly as the API server of the
 *   `mlmd-removal` branch creates them with GORM AutoMigrate (kfp-facts.md §C.1–C.3; on PostgreSQL
 *   as GORM's pgx dialect renders the same models, §B.4). When KFP 3 starts on a database
 *   mlmd-bridge prepared, its AutoMigrate must find nothing to change (design.md §2);
 * - the bookkeeping tables (load/bridge-tables.ts), which KFP does not know.
 * From these come the DDL, the structure check and the drizzle tables the queries use.
 */
import type { Queryable } from './connection.ts';
import { col, ormTables, type TableSpec } from './table-spec.ts';
import type { Dialect } from './url.ts';

/** `mlmd-removal:backend/src/apiserver/model/artifact.go`. No FKs: artifacts outlive runs. */
export const ARTIFACTS = {
  name: 'artifacts',
  columns: [
    col('UUID', 'varchar(191)', true),
    col('Namespace', 'varchar(63)', true),
    col('Type', 'int32', false, 'NULL'),
    col('URI', 'varchar(2048)', false),
    col('URIHash', 'varchar(64)', false),
    col('Name', 'varchar(128)', false, 'NULL'),
    col('Description', 'text', false, 'NULL'),
    col('CreatedAtInSec', 'int64', true, '0'),
    col('LastUpdateInSec', 'int64', true, '0'),
    col('Metadata', 'json', false, 'NULL'),
    col('NumberValue', 'float64', false, 'NULL'),
    col('IdentityKey', 'varchar(64)', false, 'NULL'),
  ],
  primaryKey: ['UUID'],
  indexes: [
    { name: 'idx_type_namespace', unique: false, columns: ['Namespace', 'Type'] },
    { name: 'idx_namespace_urihash', unique: false, columns: ['Namespace', 'URIHash'] },
    { name: 'idx_artifact_identity', unique: true, columns: ['Namespace', 'IdentityKey'] },
    { name: 'idx_artifact_created_timestamp', unique: false, columns: ['CreatedAtInSec'] },
    { name: 'idx_artifact_last_update_timestamp', unique: false, columns: ['LastUpdateInSec'] },
  ],
  foreignKeys: [],
} as const satisfies TableSpec;

/** `mlmd-removal:backend/src/apiserver/model/task.go`. Note the lower-case physical column `pods`. */
export const TASKS = {
  name: 'tasks',
  columns: [
    col('UUID', 'varchar(191)', true),
    col('Namespace', 'varchar(63)', true),
    col('RunUUID', 'varchar(191)', true),
    col('pods', 'json', true),
    col('CreatedAtInSec', 'int64', true),
    col('StartedInSec', 'int64', false, '0'),
    col('FinishedInSec', 'int64', false, '0'),
    col('Fingerprint', 'varchar(255)', true),
    col('Name', 'varchar(128)', false, 'NULL'),
    col('DisplayName', 'varchar(128)', false, 'NULL'),
    col('ParentTaskUUID', 'varchar(191)', false, 'NULL'),
    col('State', 'int32', true),
    col('StatusMetadata', 'json', false, 'NULL'),
    col('StateHistory', 'json', false),
    col('InputParameters', 'json', false),
    col('OutputParameters', 'json', false),
    col('Type', 'int32', true),
    col('TypeAttrs', 'json', true),
    col('ScopePath', 'text', false, 'NULL'),
    col('LogicalKey', 'varchar(64)', false, 'NULL'),
  ],
  primaryKey: ['UUID'],
  indexes: [
    // (UUID, RunUUID) is a candidate key only so that artifact_tasks can reference it.
    { name: 'idx_tasks_uuid_run', unique: true, columns: ['UUID', 'RunUUID'] },
    { name: 'idx_task_cache_lookup', unique: false, columns: ['Fingerprint', 'State', 'Namespace', 'CreatedAtInSec DESC'] },
    { name: 'idx_parent_run', unique: false, columns: ['RunUUID', 'ParentTaskUUID'] },
    { name: 'idx_task_created_timestamp', unique: false, columns: ['CreatedAtInSec'] },
    { name: 'idx_task_started_timestamp', unique: false, columns: ['StartedInSec'] },
    { name: 'idx_task_finished_timestamp', unique: false, columns: ['FinishedInSec'] },
    { name: 'idx_parent_task_uuid', unique: false, columns: ['ParentTaskUUID'] },
    { name: 'idx_task_type', unique: false, columns: ['Type'] },
    { name: 'idx_tasks_logical_key', unique: true, columns: ['LogicalKey'] },
  ],
  foreignKeys: [
    // Same name as the FK of the KFP 2.x tasks table: on MySQL (FK names unique per schema) the old
    // table must lose its FK before this one can be created.
    { name: 'tasks_RunUUID_run_details_UUID_foreign', columns: ['RunUUID'], refTable: 'run_details', refColumns: ['UUID'] },
    { name: 'fk_tasks_parent_task', columns: ['ParentTaskUUID'], refTable: 'tasks', refColumns: ['UUID'] },
  ],
} as const satisfies TableSpec;

/** `mlmd-removal:backend/src/apiserver/model/artifact_task.go`. */
export const ARTIFACT_TASKS = {
  name: 'artifact_tasks',
  columns: [
    col('UUID', 'varchar(191)', true),
    col('ArtifactID', 'varchar(191)', true),
    col('TaskID', 'varchar(191)', true),
    col('Type', 'int32', true),
    col('Iteration', 'int64', true, '-1'),
    col('RunUUID', 'varchar(191)', true),
    col('Producer', 'json', false, 'NULL'),
    col('ArtifactKey', 'varchar(191)', true, "''"),
  ],
  primaryKey: ['UUID'],
  indexes: [
    { name: 'idx_link_artifact_id', unique: false, columns: ['ArtifactID'] },
    { name: 'UniqueLink', unique: true, columns: ['ArtifactID', 'TaskID', 'Type', 'Iteration', 'ArtifactKey'] },
    { name: 'idx_link_task_run', unique: false, columns: ['TaskID', 'RunUUID'] },
    { name: 'idx_link_run_id', unique: false, columns: ['RunUUID'] },
  ],
  foreignKeys: [
    { name: 'fk_artifact_tasks_artifacts', columns: ['ArtifactID'], refTable: 'artifacts', refColumns: ['UUID'] },
    // The composite FK is what forces a link's RunUUID to equal its task's RunUUID.
    { name: 'fk_artifact_tasks_task_run', columns: ['TaskID', 'RunUUID'], refTable: 'tasks', refColumns: ['UUID', 'RunUUID'] },
    { name: 'fk_artifact_tasks_runs', columns: ['RunUUID'], refTable: 'run_details', refColumns: ['UUID'] },
  ],
} as const satisfies TableSpec;

/** The id map the shim needs for legacy integer ids. Index names carry the table's: they are per schema on PostgreSQL and SQLite. */
export const MLMD_ID_MAP = {
  name: 'mlmd_id_map',
  columns: [
    col('kind', 'varchar(32)', true),
    col('mlmd_id', 'int64', true),
    col('kfp_uuid', 'varchar(191)', true),
    col('run_uuid', 'varchar(191)', false),
    col('extra', 'text', false),
  ],
  primaryKey: ['kind', 'mlmd_id', 'kfp_uuid'],
  indexes: [
    { name: 'idx_mlmd_id_map_kfp_uuid', unique: false, columns: ['kfp_uuid'] },
    { name: 'idx_mlmd_id_map_run_uuid', unique: false, columns: ['run_uuid'] },
  ],
  foreignKeys: [],
} as const satisfies TableSpec;

/** One row per migrated run: the checkpoint that makes `migrate` resumable. */
export const BRIDGE_RUNS = {
  name: 'mlmd_bridge_runs',
  columns: [
    col('run_uuid', 'varchar(191)', true),
    col('context_id', 'int64', true),
    col('source_version', 'varchar(64)', true),
    col('tasks', 'int32', true, '0'),
    col('artifacts', 'int32', true, '0'),
    col('links', 'int32', true, '0'),
    col('rejects', 'int32', true, '0'),
    col('migrated_at', 'int64', true),
    col('tool_version', 'varchar(32)', true),
  ],
  primaryKey: ['run_uuid'],
  indexes: [],
  foreignKeys: [],
} as const satisfies TableSpec;

/** Facts `status` and `rollback` rely on, by name. */
export const BRIDGE_STATE = {
  name: 'mlmd_bridge_state',
  columns: [col('name', 'varchar(64)', true), col('value', 'text', true)],
  primaryKey: ['name'],
  indexes: [],
  foreignKeys: [],
} as const satisfies TableSpec;

/**
 * Every skipped, degraded or adjusted record, kept so that a resumed migration still reports all of
 * them. run_key is the run UUID, or '' for records that belong to no KFP run (TFX, KFP v1).
 */
export const BRIDGE_REJECTS = {
  name: 'mlmd_bridge_rejects',
  columns: [
    col('run_key', 'varchar(191)', true),
    col('seq', 'int32', true),
    col('code', 'varchar(64)', true),
    col('disposition', 'varchar(16)', true),
    col('entity', 'varchar(16)', true),
    col('mlmd_id', 'int64', true),
    col('reason', 'text', true),
  ],
  primaryKey: ['run_key', 'seq'],
  indexes: [],
  foreignKeys: [],
} as const satisfies TableSpec;

/** `stage`: a digest of each run's run_details row as the last true-up read it; a row that differs, appears or goes marks a changed run. */
export const BRIDGE_RUN_DETAILS = {
  name: 'mlmd_bridge_run_details',
  columns: [col('run_uuid', 'varchar(191)', true), col('digest', 'varchar(64)', true)],
  primaryKey: ['run_uuid'],
  indexes: [],
  foreignKeys: [],
} as const satisfies TableSpec;

/**
 * The shim's legacy ids for rows KFP 3 created after the cut-over (shim/kfp-ids.ts): one id per row
 * (the primary key) and one row per id (the unique index), which makes a concurrent insert-if-absent safe.
 */
export const SHIM_IDS = {
  name: 'mlmd_bridge_shim_ids',
  columns: [col('seq', 'varchar(16)', true), col('kfp_key', 'varchar(191)', true), col('mlmd_id', 'int64', true), col('run_uuid', 'varchar(191)', false)],
  primaryKey: ['seq', 'kfp_key'],
  indexes: [{ name: 'idx_mlmd_bridge_shim_ids_id', unique: true, columns: ['seq', 'mlmd_id'] }],
  foreignKeys: [],
} as const satisfies TableSpec;

/** KFP's own `run_details`, as far as the queries of mlmd-bridge join it (its key); never created from here. */
export const RUN_DETAILS_KEY = {
  name: 'run_details',
  columns: [col('UUID', 'varchar(191)', true)],
  primaryKey: ['UUID'],
  indexes: [],
  foreignKeys: [],
} as const satisfies TableSpec;

const TABLES = {
  artifacts: ormTables(ARTIFACTS),
  tasks: ormTables(TASKS),
  artifactTasks: ormTables(ARTIFACT_TASKS),
  idMap: ormTables(MLMD_ID_MAP),
  bridgeRuns: ormTables(BRIDGE_RUNS),
  bridgeState: ormTables(BRIDGE_STATE),
  bridgeRejects: ormTables(BRIDGE_REJECTS),
  bridgeRunDetails: ormTables(BRIDGE_RUN_DETAILS),
  shimIds: ormTables(SHIM_IDS),
  runDetails: ormTables(RUN_DETAILS_KEY),
};

export type KfpTables = { [K in keyof typeof TABLES]: (typeof TABLES)[K]['postgres'] };

/** The drizzle tables of a KFP database in the dialect of `q`. */
export function kfpTables(q: Pick<Queryable, 'dialect'>): KfpTables {
  const d = q.dialect;
  return {
    artifacts: TABLES.artifacts[d],
    tasks: TABLES.tasks[d],
    artifactTasks: TABLES.artifactTasks[d],
    idMap: TABLES.idMap[d],
    bridgeRuns: TABLES.bridgeRuns[d],
    bridgeState: TABLES.bridgeState[d],
    bridgeRejects: TABLES.bridgeRejects[d],
    bridgeRunDetails: TABLES.bridgeRunDetails[d],
    shimIds: TABLES.shimIds[d],
    runDetails: TABLES.runDetails[d],
  };
}

const tasksByName = new Map<string, Record<Dialect, KfpTables['tasks']>>();

/**
 * KFP 3's `tasks` columns under another physical name (the staged upgrade builds them beside
 * KFP 2.x's own `tasks`), as the same drizzle table type.
 */
export function tasksTableNamed(q: Pick<Queryable, 'dialect'>, name: string): KfpTables['tasks'] {
  if (name === TASKS.name) return kfpTables(q).tasks;
  let tables = tasksByName.get(name);
  if (!tables) {
    tables = ormTables({ ...TASKS, name }) as unknown as Record<Dialect, KfpTables['tasks']>;
    tasksByName.set(name, tables);
  }
  return tables[q.dialect];
}
