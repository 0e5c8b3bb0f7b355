import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import { BridgeError } from '../src/errors.ts';
import { openMlmdSource, type MlmdSource } from '../src/extract/mlmd-reader.ts';
import { readRunDetails } from '../src/extract/run-details.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { decodeValue, encodeStructValue } from '../src/extract/values.ts';
import { createMlmdSchema, hasExternalIds, type MlmdSchemaVersion } from '../src/seed/mlmd-ddl.ts';
import type { JsonObject, KfpRunDetails, RunBundle } from '../src/transform/model.ts';
import { MLMD_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { insertRow, insertRows } from './helpers/rows.ts';

const AnyType = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/any.proto')!).lookupType('google.protobuf.Any');
const anyBase64 = (typeUrl: string, value: Buffer) =>
  Buffer.from(AnyType.encode(AnyType.fromObject({ type_url: typeUrl, value })).finish()).toString('base64');

const NESTED: JsonObject = {
  list: [1, 'two', true, null, { inner: { deeper: [2.5, []] } }],
  struct: { a: 'b', n: -3 },
  ['__proto__']: 'not a prototype',
};
const BAD_BASE64_STRUCT = 'mlmd-struct::!!definitely not base64!!';
const BAD_BYTES_STRUCT = 'mlmd-struct::' + Buffer.from([0xff, 0xff, 0xff, 0xff]).toString('base64');
const PROTO_VALUE = anyBase64('type.googleapis.com/google.protobuf.StringValue', Buffer.from([0x0a, 0x02, 0x68, 0x69]));
/** Bytes that are no serialized Any (a length-delimited field running past the end). */
const NOT_AN_ANY = Buffer.from([0x0a, 0x7f, 0x01]);

/**
 * proto_value as MLMD stores it: the base64 text of the serialized Any on MySQL and SQLite, the
 * bytes themselves on PostgreSQL. The broken one: text that is not base64, or bytes that are no Any.
 */
const storedProto = (db: Db, base64: string) => (db.dialect === 'postgres' ? Buffer.from(base64, 'base64') : base64);
const storedBadProto = (db: Db) => (db.dialect === 'postgres' ? NOT_AN_ANY : 'not*base64');
const badProtoRaw = (dialect: string) => (dialect === 'postgres' ? NOT_AN_ANY.toString('base64') : 'not*base64');

// Type ids after the nine mlmd.* simple types.
const T = { run: 10, pipeline: 11, container: 12, dag: 13, artifact: 14, model: 15, kfpRun: 16, v1Component: 17 };

/** A small KFP-2.x-shaped MLMD database with the awkward cases the reader must survive. */
async function buildFixture(db: Db, version: MlmdSchemaVersion): Promise<void> {
  await createMlmdSchema(db, version);
  const ext = (id: string) => (version >= 9 ? { external_id: id } : {});
  await insertRows(db, 'Type', [
    { id: T.run, name: 'system.PipelineRun', type_kind: 2 },
    { id: T.pipeline, name: 'system.Pipeline', type_kind: 2 },
    { id: T.container, name: 'system.ContainerExecution', type_kind: 0 },
    { id: T.dag, name: 'system.DAGExecution', type_kind: 0 },
    { id: T.artifact, name: 'system.Artifact', type_kind: 1, version: 'v1' },
    { id: T.model, name: 'system.Model', type_kind: 1 },
    { id: T.kfpRun, name: 'KfpRun', type_kind: 2 },
    { id: T.v1Component, name: 'components.train', type_kind: 0 },
  ]);
  const node = (id: number, type_id: number, name: string | null, t: number) => ({
    id,
    type_id,
    name,
    create_time_since_epoch: t,
    last_update_time_since_epoch: t + 1,
  });
  await insertRows(db, 'Context', [
    { ...node(1, T.pipeline, 'my-pipeline', 1000) },
    { ...node(2, T.run, 'run-a', 2000), ...ext('ctx-ext-2') },
    { ...node(3, T.run, 'run-b', 3000) },
    { ...node(4, T.kfpRun, 'v1-workflow', 4000) },
    { ...node(5, T.run, 'run-orphan', 5000) },
  ]);
  await insertRows(db, 'ParentContext', [
    { context_id: 2, parent_context_id: 1 },
    { context_id: 3, parent_context_id: 1 },
  ]);
  await insertRows(db, 'Execution', [
    { ...node(1, T.dag, 'run/run-a', 2100), last_known_state: 2 },
    { ...node(2, T.container, null, 2200), last_known_state: 3, ...ext('exec-ext-2') },
    { ...node(3, T.container, null, 3300), last_known_state: 5 },
    { ...node(4, T.v1Component, 'v1-step', 4400), last_known_state: 3 },
    { ...node(6, T.container, null, 6600) },
  ]);
  await insertRows(db, 'Association', [
    { context_id: 1, execution_id: 1 },
    { context_id: 2, execution_id: 1 },
    { context_id: 1, execution_id: 2 },
    { context_id: 2, execution_id: 2 },
    { context_id: 2, execution_id: 99 }, // names an execution that does not exist
    { context_id: 1, execution_id: 3 },
    { context_id: 3, execution_id: 3 },
    { context_id: 4, execution_id: 4 },
    { context_id: 5, execution_id: 6 },
  ]);
  await insertRows(db, 'Artifact', [
    { ...node(1, T.model, null, 2250), uri: 'gs://b/model', state: 2 },
    { ...node(2, T.artifact, null, 1500), uri: 'gs://b/data', state: 2, ...ext('art-ext-2') },
    { ...node(3, T.artifact, null, 4500), uri: 'gs://b/v1', state: 2 },
  ]);
  // Event 1 (run-b) produces artifact 2 before run-a consumes it; artifact 1 is produced in run-a
  // (event 3) and re-output by run-b's cache hit (event 4).
  await insertRows(db, 'Event', [
    { id: 1, artifact_id: 2, execution_id: 3, type: 4, milliseconds_since_epoch: 1500 },
    { id: 2, artifact_id: 2, execution_id: 2, type: 3, milliseconds_since_epoch: 2200 },
    { id: 3, artifact_id: 1, execution_id: 2, type: 4, milliseconds_since_epoch: 2250 },
    { id: 4, artifact_id: 1, execution_id: 3, type: 4, milliseconds_since_epoch: 3300 },
    { id: 5, artifact_id: 77, execution_id: 2, type: 3, milliseconds_since_epoch: 2200 }, // missing artifact
    { id: 6, artifact_id: 3, execution_id: 4, type: 4, milliseconds_since_epoch: 4500 },
  ]);
  const key = (event_id: number, step_key: string) => ({ event_id, is_index_step: 0, step_key });
  const index = (event_id: number, step_index: number) => ({ event_id, is_index_step: 1, step_index });
  // Interleaved and not in sorted order: only the physical order tells the step order.
  await insertRows(db, 'EventPath', [
    key(3, 'zeta'),
    key(1, 'out_ds'),
    index(3, 7),
    key(2, 'dataset'),
    key(3, 'alpha'),
    key(4, 'cached_model'),
    key(5, 'ghost'),
    key(6, 'v1out'),
  ]);
  const prop = (owner: string, id: number, name: string, custom: 0 | 1, value: Record<string, string | number | Buffer>) => ({
    [owner]: id,
    name,
    is_custom_property: custom,
    ...value,
  });
  await insertRows(db, 'ExecutionProperty', [
    prop('execution_id', 2, 'task_name', 1, { string_value: 'train' }),
    prop('execution_id', 2, 'count', 1, { int_value: -2147483648 }),
    prop('execution_id', 2, 'ratio', 1, { double_value: 0.25 }),
    prop('execution_id', 2, 'nested', 1, { string_value: encodeStructValue(NESTED) }),
    prop('execution_id', 2, 'broken', 1, { string_value: BAD_BASE64_STRUCT }),
    prop('execution_id', 2, 'garbled', 1, { string_value: BAD_BYTES_STRUCT }),
    prop('execution_id', 2, 'same', 0, { string_value: 'declared' }),
    prop('execution_id', 2, 'same', 1, { string_value: 'custom' }),
    prop('execution_id', 1, 'task_name', 1, { string_value: '' }),
  ]);
  if (version >= 10) {
    await insertRows(db, 'ExecutionProperty', [
      prop('execution_id', 2, 'flag', 1, { bool_value: 1 }),
      prop('execution_id', 2, 'payload', 1, { proto_value: storedProto(db, PROTO_VALUE) }),
      prop('execution_id', 2, 'bad_payload', 1, { proto_value: storedBadProto(db) }),
    ]);
  }
  await insertRows(db, 'ArtifactProperty', [
    prop('artifact_id', 1, 'display_name', 1, { string_value: 'model' }),
    prop('artifact_id', 2, 'accuracy', 1, { double_value: 0.875 }),
  ]);
  await insertRows(db, 'ContextProperty', [
    prop('context_id', 2, 'namespace', 1, { string_value: 'team-a' }),
    prop('context_id', 1, 'owner', 0, { string_value: 'nobody' }),
  ]);
}

const VERSIONS: MlmdSchemaVersion[] = [8, 9, 10];

describe.each(MLMD_DIALECTS)('extract on $dialect', ({ dialect, temp }) => {
  describe.each(VERSIONS)('schema %i', (version) => {
    let tmp: TempDatabase;
    let source: MlmdSource;

    beforeAll(async () => {
      tmp = await temp(`extract_v${version}`);
      const db = await openDb(tmp.url, { ...MLMD_IDENTIFIERS, create: true });
      await buildFixture(db, version);
      await db.close();
      source = await openMlmdSource(tmp.url);
    });
    afterAll(async () => {
      await source?.close();
      await tmp?.drop();
    });

    const bundleOf = async (contextId: number, details = new Map<string, KfpRunDetails>()) => {
      const [b] = await source.readRunBundles([contextId], details);
      expect(b).toBeDefined();
      return b as RunBundle;
    };

    it('detects the schema version and which optional columns exist', () => {
      expect(source.schemaVersion).toBe(version);
      expect(source.catalog.has('Execution', 'external_id')).toBe(hasExternalIds(dialect, version));
      expect(source.catalog.has('ExecutionProperty', 'proto_value')).toBe(version >= 10);
      expect(source.catalog.has('ContextProperty', 'bool_value')).toBe(version >= 10);
    });

    it('reads every type and lists the run contexts in id order', async () => {
      const types = await source.readTypes();
      expect(types.map((t) => t.id)).toEqual([...Array(17).keys()].map((i) => i + 1));
      expect(types[0]).toEqual({ id: 1, name: 'mlmd.Dataset', typeKind: 1, version: null });
      expect(types.find((t) => t.id === T.artifact)).toMatchObject({ name: 'system.Artifact', version: 'v1', typeKind: 1 });
      expect(await source.listRunContexts()).toEqual([
        { id: 2, name: 'run-a', createMs: 2000, updateMs: 2001 },
        { id: 3, name: 'run-b', createMs: 3000, updateMs: 3001 },
        { id: 5, name: 'run-orphan', createMs: 5000, updateMs: 5001 },
      ]);
    });

    it('assembles a run bundle: contexts, executions, events with ordered paths, artifacts', async () => {
      const details: KfpRunDetails = {
        uuid: 'run-a',
        displayName: 'Run A',
        name: 'wf-a',
        namespace: 'team-a',
        experimentUuid: 'exp',
        experimentNamespace: 'team-a',
        state: 'SUCCEEDED',
        createdAtInSec: 2,
        finishedAtInSec: 3,
        pipelineName: 'my-pipeline',
        pipelineSpecManifest: null,
        pipelineRoot: null,
      };
      const b = await bundleOf(2, new Map([['run-a', details]]));
      expect(b.runDetails).toBe(details);
      expect(b.runContext).toEqual({
        id: 2,
        typeId: T.run,
        type: 'system.PipelineRun',
        name: 'run-a',
        createMs: 2000,
        updateMs: 2001,
        externalId: version >= 9 ? 'ctx-ext-2' : null,
        properties: {},
        customProperties: { namespace: { kind: 'string', value: 'team-a' } },
      });
      expect(b.pipelineContext).toMatchObject({
        id: 1,
        type: 'system.Pipeline',
        name: 'my-pipeline',
        properties: { owner: { kind: 'string', value: 'nobody' } },
      });
      // Execution 99 is associated but missing: absent from the executions, named for the rejects.
      expect(b.executions.map((e) => e.id)).toEqual([1, 2]);
      expect(b.danglingExecutionIds).toEqual([99]);
      expect(b.executions[1]).toMatchObject({
        id: 2,
        type: 'system.ContainerExecution',
        name: null,
        lastKnownState: 3,
        createMs: 2200,
        updateMs: 2201,
        externalId: version >= 9 ? 'exec-ext-2' : null,
      });
      expect(b.events.map((e) => e.id)).toEqual([2, 3, 5]);
      expect(b.events.find((e) => e.id === 3)).toEqual({
        id: 3,
        artifactId: 1,
        executionId: 2,
        type: 4,
        ms: 2250,
        path: [{ key: 'zeta' }, { index: 7 }, { key: 'alpha' }],
      });
      expect(b.events.find((e) => e.id === 5)?.path).toEqual([{ key: 'ghost' }]);
      // Artifact 77 (named by event 5) does not exist: the bundle lacks it, nothing throws.
      expect(b.artifacts.map((a) => a.id)).toEqual([1, 2]);
      expect(b.artifacts[0]).toMatchObject({
        id: 1,
        type: 'system.Model',
        uri: 'gs://b/model',
        state: 2,
        customProperties: { display_name: { kind: 'string', value: 'model' } },
      });
      expect(b.artifacts[1]?.externalId).toBe(version >= 9 ? 'art-ext-2' : null);
    });

    it('decodes properties of every kind and keeps declared and custom ones apart', async () => {
      const e = (await bundleOf(2)).executions[1]!;
      expect(e.properties).toEqual({ same: { kind: 'string', value: 'declared' } });
      const c = e.customProperties;
      expect(c.same).toEqual({ kind: 'string', value: 'custom' });
      expect(c.task_name).toEqual({ kind: 'string', value: 'train' });
      expect(c.count).toEqual({ kind: 'int', value: -2147483648 });
      expect(c.ratio).toEqual({ kind: 'double', value: 0.25 });
      expect(c.nested).toEqual({ kind: 'struct', value: NESTED });
      expect(Object.getPrototypeOf((c.nested as { value: object }).value)).toBe(Object.prototype);
      expect(c.broken).toMatchObject({ kind: 'corrupt', raw: BAD_BASE64_STRUCT });
      expect(c.garbled).toMatchObject({ kind: 'corrupt', raw: BAD_BYTES_STRUCT });
      if (version >= 10) {
        expect(c.flag).toEqual({ kind: 'bool', value: true });
        expect(c.payload).toEqual({
          kind: 'proto',
          typeUrl: 'type.googleapis.com/google.protobuf.StringValue',
          base64: Buffer.from([0x0a, 0x02, 0x68, 0x69]).toString('base64'),
        });
        expect(c.bad_payload).toMatchObject({ kind: 'corrupt', raw: badProtoRaw(dialect) });
        expect(Object.keys(c)).toHaveLength(10);
      } else {
        expect(Object.keys(c)).toHaveLength(7);
      }
    });

    it('finds each artifact origin across the whole database', async () => {
      const a = await bundleOf(2);
      // Artifact 2 was first output by run-b's execution 3, artifact 1 by run-a's execution 2.
      expect(a.artifactOrigins).toEqual({
        1: { executionId: 2, executionType: 'system.ContainerExecution', key: 'zeta' },
        2: { executionId: 3, executionType: 'system.ContainerExecution', key: 'out_ds' },
      });
      const b = await bundleOf(3);
      expect(b.executions.map((e) => e.id)).toEqual([3]);
      expect(b.events.map((e) => e.id)).toEqual([1, 4]);
      expect(b.artifacts.map((x) => x.id)).toEqual([1, 2]);
      expect(b.artifactOrigins[1]).toEqual({ executionId: 2, executionType: 'system.ContainerExecution', key: 'zeta' });
    });

    it('reads a batch in input order, skips unknown ids, and costs the same number of queries as one run', async () => {
      const db = source.db as { all: Db['all'] };
      const original = db.all;
      let calls = 0;
      db.all = ((sql: string, params?: readonly never[]) => {
        calls++;
        return original.call(source.db, sql, params);
      }) as Db['all'];
      try {
        await source.readRunBundles([2], new Map());
        const single = calls;
        calls = 0;
        const batch = await source.readRunBundles([5, 3, 404, 2], new Map());
        expect(calls).toBe(single);
        expect(batch.map((x) => x.runContext.id)).toEqual([5, 3, 2]);
        expect(batch[0]?.pipelineContext).toBeNull();
        expect(batch[0]?.runDetails).toBeNull();
        expect(batch[0]?.executions.map((e) => e.id)).toEqual([6]);
        expect(batch[0]?.events).toEqual([]);
      } finally {
        db.all = original;
      }
    });

    it('counts the source and lists what is not KFP', async () => {
      const counts = await source.countSource();
      expect(counts).toMatchObject({ executions: 5, artifacts: 3, events: 6, contexts: 5 });
      const find = (kind: string, type: string, kfp: boolean) =>
        counts.byType.find((x) => x.kind === kind && x.type === type && x.kfp === kfp)?.count;
      expect(find('context', 'system.PipelineRun', true)).toBe(3);
      expect(find('context', 'system.Pipeline', true)).toBe(1);
      expect(find('context', 'KfpRun', false)).toBe(1);
      expect(find('execution', 'system.ContainerExecution', true)).toBe(3);
      expect(find('execution', 'system.DAGExecution', true)).toBe(1);
      expect(find('execution', 'components.train', false)).toBe(1);
      expect(find('artifact', 'system.Artifact', true)).toBe(1);
      expect(find('artifact', 'system.Artifact', false)).toBe(1);
      expect(find('artifact', 'system.Model', true)).toBe(1);
      const sum = (kind: string) => counts.byType.filter((x) => x.kind === kind).reduce((s, x) => s + x.count, 0);
      expect([sum('context'), sum('execution'), sum('artifact')]).toEqual([5, 5, 3]);

      const listed = [];
      for await (const r of source.listNonKfp()) listed.push(r);
      expect(listed).toEqual([
        { entity: 'context', id: 4, type: 'KfpRun' },
        { entity: 'execution', id: 4, type: 'components.train' },
      ]);
    });

    it('opens read-only: a write through the source connection fails', async () => {
      await expect(source.db.run('INSERT INTO `Type` (`name`, `type_kind`) VALUES (?, ?)', ['sneaky', 0])).rejects.toThrow();
      const types = await source.readTypes();
      expect(types.some((t) => t.name === 'sneaky')).toBe(false);
    });
  });

  describe('refusals', () => {
    const made: TempDatabase[] = [];
    afterAll(async () => {
      for (const t of made) await t.drop();
    });
    const mlmdWithVersion = async (recorded: number[]) => {
      const t = await temp('extract_ver');
      made.push(t);
      const db = await openDb(t.url, { ...MLMD_IDENTIFIERS, create: true });
      await createMlmdSchema(db, 10);
      await db.run('DELETE FROM `MLMDEnv`');
      for (const v of recorded) await insertRow(db, 'MLMDEnv', { schema_version: v });
      await db.close();
      return t.url;
    };
    const failure = async (url: string) => {
      try {
        const s = await openMlmdSource(url);
        await s.close();
      } catch (e) {
        return e as BridgeError;
      }
      throw new Error('openMlmdSource did not refuse');
    };

    it.each([7, 11])('refuses schema version %i and names it', async (v) => {
      const err = await failure(await mlmdWithVersion([v]));
      expect(err).toBeInstanceOf(BridgeError);
      expect(err.code).toBe('SCHEMA_VERSION');
      expect(err.message).toContain(`MLMD schema version ${v} is not supported`);
      expect(err.message).toContain('8, 9, 10');
      expect(err.exitCode).toBe(3);
    });

    it('refuses a database that is not MLMD, and one with no recorded version', async () => {
      const t = await temp('extract_notmlmd');
      made.push(t);
      const db = await openDb(t.url, { create: true });
      await db.run('CREATE TABLE `something_else` (`x` INT)');
      await db.close();
      expect((await failure(t.url)).code).toBe('NOT_MLMD_DATABASE');
      expect((await failure(await mlmdWithVersion([]))).code).toBe('NOT_MLMD_DATABASE');
    });

    it('refuses an ml-metadata 0.13.2 database (no MLMDEnv) as schema version 0, with the upgrade hint', async () => {
      const t = await temp('extract_v0');
      made.push(t);
      const db = await openDb(t.url, { ...MLMD_IDENTIFIERS, create: true });
      // The tables MLMD itself looks for to call a database version 0; only Type's shape matters here.
      const flag = dialect === 'postgres' ? 'SMALLINT' : 'TINYINT(1)';
      await db.run(`CREATE TABLE \`Type\` (\`id\` INTEGER PRIMARY KEY, \`name\` VARCHAR(255) NOT NULL, \`is_artifact_type\` ${flag} NOT NULL, \`input_type\` TEXT, \`output_type\` TEXT)`);
      for (const table of ['Artifact', 'Execution', 'Event', 'EventPath', 'ArtifactProperty', 'ExecutionProperty', 'TypeProperty']) {
        await db.run(`CREATE TABLE \`${table}\` (\`x\` INT)`);
      }
      await db.close();
      const err = await failure(t.url);
      expect(err.code).toBe('SCHEMA_VERSION');
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('MLMD schema version 0');
      expect(err.hint).toContain('--enable_database_upgrade');
    });
  });

  describe('readRunDetails', () => {
    let tmp: TempDatabase;
    let kfp: Db;
    beforeAll(async () => {
      tmp = await temp('extract_kfp');
      kfp = await openDb(tmp.url, { create: true });
      // An older deployment: no PipelineRoot column; one run still has only the v1 Conditions.
      await kfp.run(
        'CREATE TABLE `run_details` (`UUID` VARCHAR(191) PRIMARY KEY, `DisplayName` VARCHAR(255), `Name` VARCHAR(255), ' +
          '`Namespace` VARCHAR(63), `ExperimentUUID` VARCHAR(64), `State` VARCHAR(64), `Conditions` VARCHAR(125), ' +
          '`CreatedAtInSec` BIGINT, `FinishedAtInSec` BIGINT, `PipelineName` VARCHAR(255), `PipelineSpecManifest` TEXT)',
      );
      await kfp.run('CREATE TABLE `experiments` (`UUID` VARCHAR(64) PRIMARY KEY, `Namespace` VARCHAR(63))');
      await insertRows(kfp, 'run_details', [
        {
          UUID: 'run-a',
          DisplayName: 'Run A',
          Name: 'wf-a',
          Namespace: '',
          ExperimentUUID: 'exp-1',
          State: 'SUCCEEDED',
          Conditions: 'Succeeded',
          CreatedAtInSec: 1700000000,
          FinishedAtInSec: 1700000100,
          PipelineName: 'p',
          PipelineSpecManifest: 'pipelineInfo:\n  name: p\n',
        },
        { UUID: 'run-old', DisplayName: 'Old', Name: 'wf-old', Namespace: 'ns', ExperimentUUID: 'exp-missing', Conditions: 'Error', CreatedAtInSec: 5 },
        { UUID: 'run-other', DisplayName: 'Other', Name: 'wf-o', Namespace: 'ns', ExperimentUUID: 'exp-1', State: 'RUNNING', CreatedAtInSec: 6 },
      ]);
      await insertRow(kfp, 'experiments', { UUID: 'exp-1', Namespace: 'team-x' });
    });
    afterAll(async () => {
      await kfp?.close();
      await tmp?.drop();
    });

    it('reads the asked runs with their experiment namespace, NULL for absent columns', async () => {
      const m = await readRunDetails(kfp, ['run-a', 'run-old', 'no-such-run']);
      expect([...m.keys()].sort()).toEqual(['run-a', 'run-old']);
      expect(m.get('run-a')).toEqual({
        uuid: 'run-a',
        displayName: 'Run A',
        name: 'wf-a',
        namespace: '',
        experimentUuid: 'exp-1',
        experimentNamespace: 'team-x',
        state: 'SUCCEEDED',
        createdAtInSec: 1700000000,
        finishedAtInSec: 1700000100,
        pipelineName: 'p',
        pipelineSpecManifest: 'pipelineInfo:\n  name: p\n',
        pipelineRoot: null,
      });
      expect(m.get('run-old')).toMatchObject({ experimentNamespace: null, state: 'FAILED', finishedAtInSec: 0, pipelineName: null });
    });

    it('takes the spec from the pipeline version when the run has none', async () => {
      const t = await temp('extract_pv');
      const db = await openDb(t.url, { create: true });
      try {
        await db.run(
          'CREATE TABLE `run_details` (`UUID` VARCHAR(191) PRIMARY KEY, `DisplayName` VARCHAR(255), `State` VARCHAR(64), ' +
            '`CreatedAtInSec` BIGINT, `PipelineSpecManifest` TEXT, `PipelineVersionId` VARCHAR(64))',
        );
        await db.run('CREATE TABLE `pipeline_versions` (`UUID` VARCHAR(191) PRIMARY KEY, `PipelineSpec` TEXT)');
        await insertRow(db, 'pipeline_versions', { UUID: 'pv-1', PipelineSpec: 'pipelineInfo:\n  name: from-version\n' });
        await insertRows(db, 'run_details', [
          { UUID: 'r-empty', DisplayName: 'a', State: 'SUCCEEDED', CreatedAtInSec: 1, PipelineSpecManifest: '', PipelineVersionId: 'pv-1' },
          { UUID: 'r-own', DisplayName: 'b', State: 'SUCCEEDED', CreatedAtInSec: 1, PipelineSpecManifest: 'own', PipelineVersionId: 'pv-1' },
          { UUID: 'r-none', DisplayName: 'c', State: 'SUCCEEDED', CreatedAtInSec: 1, PipelineSpecManifest: null, PipelineVersionId: 'pv-gone' },
        ]);
        const m = await readRunDetails(db, ['r-empty', 'r-own', 'r-none']);
        expect(m.get('r-empty')!.pipelineSpecManifest).toBe('pipelineInfo:\n  name: from-version\n');
        expect(m.get('r-own')!.pipelineSpecManifest).toBe('own');
        expect(m.get('r-none')!.pipelineSpecManifest).toBeNull();
      } finally {
        await db.close();
        await t.drop();
      }
    });

    it('takes the spec from the pipeline version when run_details has no manifest column', async () => {
      const t = await temp('extract_pv_nocol');
      const db = await openDb(t.url, { create: true });
      try {
        await db.run('CREATE TABLE `run_details` (`UUID` VARCHAR(191) PRIMARY KEY, `State` VARCHAR(64), `PipelineVersionId` VARCHAR(64))');
        await db.run('CREATE TABLE `pipeline_versions` (`UUID` VARCHAR(191) PRIMARY KEY, `PipelineSpec` TEXT)');
        await insertRow(db, 'pipeline_versions', { UUID: 'pv-1', PipelineSpec: 'pipelineInfo:\n  name: v\n' });
        await insertRow(db, 'run_details', { UUID: 'r-1', State: 'SUCCEEDED', PipelineVersionId: 'pv-1' });
        const m = await readRunDetails(db, ['r-1']);
        expect(m.get('r-1')!.pipelineSpecManifest).toBe('pipelineInfo:\n  name: v\n');
      } finally {
        await db.close();
        await t.drop();
      }
    });

    it('refuses a database without run_details', async () => {
      const t = await temp('extract_notkfp');
      const other = await openDb(t.url, { create: true });
      try {
        await other.run('CREATE TABLE `x` (`y` INT)');
        await expect(readRunDetails(other, ['a'])).rejects.toMatchObject({ code: 'NOT_KFP_DATABASE' });
      } finally {
        await other.close();
        await t.drop();
      }
    });
  });
});

describe('decodeValue', () => {
  it('takes the first non-NULL column in MLMD order', () => {
    expect(decodeValue({ int_value: 0, double_value: 1.5, string_value: 'x' })).toEqual({ kind: 'int', value: 0 });
    expect(decodeValue({ int_value: null, double_value: 1.5, string_value: 'x' })).toEqual({ kind: 'double', value: 1.5 });
    expect(decodeValue({ string_value: '', bool_value: 1 })).toEqual({ kind: 'string', value: '' });
    expect(decodeValue({ bool_value: 0 })).toEqual({ kind: 'bool', value: false });
    expect(decodeValue({ int_value: 9007199254740991n })).toEqual({ kind: 'int', value: 9007199254740991 });
    expect(decodeValue({})).toMatchObject({ kind: 'corrupt' });
  });

  it('round-trips Structs and reads proto_value handed over as a Buffer', () => {
    const obj: JsonObject = { empty: {}, list: [], deep: { a: [{ b: [null, false, 0, ''] }] } };
    expect(decodeValue({ string_value: encodeStructValue(obj) })).toEqual({ kind: 'struct', value: obj });
    expect(encodeStructValue({})).toBe('mlmd-struct::');
    expect(decodeValue({ proto_value: Buffer.from(PROTO_VALUE) })).toMatchObject({ kind: 'proto', typeUrl: 'type.googleapis.com/google.protobuf.StringValue' });
    const noTypeUrl = anyBase64('', Buffer.from([1]));
    expect(decodeValue({ proto_value: noTypeUrl })).toMatchObject({ kind: 'corrupt', reason: expect.stringContaining('type_url') });
  });
});
