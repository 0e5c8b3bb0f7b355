/**
 * The KFP 2.x tables `seed` writes on PostgreSQL (experiments, run_details, the v1 tasks table),
 * checked against what GORM's `pgx` dialect makes of KFP master's models
 * (backend/src/apiserver/model/{experiment,run,pipeline_spec,runtime_config,task}.go): no
 * DefaultStringSize there, so a string without `type:varchar(n)` is `text`; LargeText is TEXT;
 * int64 is bigint; names keep their case; PostgreSQL names the primary keys `<table>_pkey`.
 * The expectations are written out from the models, not derived from the seed's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import { createV1TasksTable } from '../src/load/v1-tasks.ts';
import { createKfp2Tables } from '../src/seed/kfp2-ddl.ts';
import { type TempDatabase, tempPostgres } from './helpers/databases.ts';
import { pgColumns, pgForeignKeys, pgIndexes } from './helpers/pg-catalog.ts';

const V = (n: number) => `character varying(${n})`;
const text = (name: string, notNull = true) => `${name} text${notNull ? ' NOT NULL' : ''}`;
const big = (name: string, tail = ' NOT NULL') => `${name} bigint${tail}`;

const EXPECTED: Record<string, { columns: string[]; indexes: string[]; foreignKeys: string[] }> = {
  experiments: {
    columns: [
      `UUID ${V(191)} NOT NULL KEY 1`,
      `Name ${V(128)} NOT NULL`,
      text('Description'),
      big('CreatedAtInSec'),
      big('LastRunCreatedAtInSec'),
      `Namespace ${V(63)} NOT NULL`,
      text('StorageState'),
    ],
    indexes: ['experiments_pkey PRIMARY (UUID)', 'idx_name_namespace UNIQUE (Name, Namespace)'],
    foreignKeys: [],
  },
  run_details: {
    columns: [
      `UUID ${V(191)} NOT NULL KEY 1`,
      text('DisplayName'),
      text('Name'),
      text('Description'),
      `Namespace ${V(63)} NOT NULL`,
      `ExperimentUUID ${V(64)} NOT NULL`,
      text('JobUUID', false),
      text('StorageState'),
      text('ServiceAccount'),
      text('PipelineId'),
      text('PipelineVersionId', false),
      text('PipelineName'),
      text('PipelineSpecManifest', false),
      text('WorkflowSpecManifest', false),
      text('Parameters', false),
      text('RuntimeParameters', false),
      text('PipelineRoot', false),
      big('CreatedAtInSec'),
      big('ScheduledAtInSec', ' DEFAULT 0'),
      big('FinishedAtInSec', ' DEFAULT 0'),
      `Conditions ${V(125)} NOT NULL`,
      text('State', false),
      text('StateHistory', false),
      text('PluginsInput', false),
      text('PluginsOutput', false),
      text('PipelineRuntimeManifest'),
      text('WorkflowRuntimeManifest'),
      big('PipelineContextId', ' DEFAULT 0'),
      big('PipelineRunContextId', ' DEFAULT 0'),
      big('RetryGeneration', ' DEFAULT 0'),
      big('RetryClaimedAtInSec', ' DEFAULT 0'),
      big('ArchivedAtInSec', ' DEFAULT 0'),
    ],
    indexes: [
      'experimentuuid_conditions_finishedatinsec (ExperimentUUID, Conditions, FinishedAtInSec)',
      'experimentuuid_createatinsec (ExperimentUUID, CreatedAtInSec)',
      'namespace_conditions_finishedatinsec (Namespace, Conditions, FinishedAtInSec)',
      'namespace_createatinsec (Namespace, CreatedAtInSec)',
      'run_details_pkey PRIMARY (UUID)',
    ],
    foreignKeys: [],
  },
  tasks: {
    columns: [
      `UUID ${V(191)} NOT NULL KEY 1`,
      text('Namespace'),
      text('PipelineName'),
      `RunUUID ${V(191)} NOT NULL`,
      text('PodName'),
      text('MLMDExecutionID'),
      big('CreatedTimestamp'),
      big('StartedTimestamp', ' DEFAULT 0'),
      big('FinishedTimestamp', ' DEFAULT 0'),
      text('Fingerprint'),
      text('Name', false),
      text('ParentTaskUUID', false),
      text('State', false),
      text('StateHistory', false),
      text('MLMDInputs', false),
      text('MLMDOutputs', false),
      text('ChildrenPods', false),
      text('Payload', false),
    ],
    indexes: ['tasks_RunUUID_run_details_UUID_foreign (RunUUID)', 'tasks_pkey PRIMARY (UUID)'],
    foreignKeys: ['tasks_RunUUID_run_details_UUID_foreign FOREIGN KEY ("RunUUID") REFERENCES run_details("UUID") ON UPDATE CASCADE ON DELETE CASCADE'],
  },
};

describe('the seed builds the KFP 2.x tables on postgres', () => {
  let tmp: TempDatabase;
  let db: Db;
  beforeAll(async () => {
    tmp = await tempPostgres('kfp2_shape');
    db = await openDb(tmp.url, { create: true });
    await createKfp2Tables(db);
    await createV1TasksTable(db);
  });
  afterAll(async () => {
    await db?.close();
    await tmp?.drop();
  });

  it('creates exactly these three tables', async () => {
    const rows = await db.all<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name');
    expect(rows.map((r) => r.t)).toEqual(['experiments', 'run_details', 'tasks']);
  });

  it.each(Object.keys(EXPECTED))('%s: every column, index and foreign key as GORM’s pgx dialect makes them', async (table) => {
    const want = EXPECTED[table]!;
    expect(await pgColumns(db, table)).toEqual(want.columns);
    expect(await pgIndexes(db, table)).toEqual(want.indexes);
    expect(await pgForeignKeys(db, table)).toEqual(want.foreignKeys);
  });
});
