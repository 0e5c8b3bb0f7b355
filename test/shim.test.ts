// The shim over an MLMD archive, end to end: a real @grpc/grpc-js client calls every RPC of
// MetadataStoreService against a small MLMD database (schema 10 on SQLite, MariaDB and PostgreSQL,
// schema 8 on SQLite) and checks MLMD's semantics — presence, int64 strings, ordering, paging tokens,
// filter_query, NOT_FOUND / INVALID_ARGUMENT / UNIMPLEMENTED — plus gRPC health.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Param, openDb, type Queryable } from '../src/db/connection.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { encodeStructValue } from '../src/extract/values.ts';
import { createMlmdSchema, type MlmdSchemaVersion } from '../src/seed/mlmd-ddl.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { WRITE_RPCS } from '../src/shim/writes.ts';
import { MLMD_DIALECTS, type TempDatabase, tempSqlite } from './helpers/databases.ts';
import { type MlmdTestClient, mlmdClient, type Msg } from './helpers/grpc-client.ts';

const INT = 1;
const STRING = 3;

async function insert(q: Queryable, table: string, row: Record<string, Param>): Promise<void> {
  const cols = Object.keys(row);
  await q.run(`INSERT INTO \`${table}\` (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, Object.values(row));
}

type Value = { int: number } | { double: number } | { string: string } | { bool: boolean } | { raw: string } | { proto: Buffer };

async function prop(q: Queryable, kind: 'artifact' | 'execution' | 'context', ownerId: number, name: string, custom: boolean, v: Value) {
  const table = `${kind[0]!.toUpperCase()}${kind.slice(1)}Property`;
  const row: Record<string, Param> = { [`${kind}_id`]: ownerId, name, is_custom_property: custom ? 1 : 0 };
  if ('int' in v) row.int_value = v.int;
  else if ('double' in v) row.double_value = v.double;
  else if ('string' in v) row.string_value = v.string;
  else if ('raw' in v) row.string_value = v.raw;
  else if ('bool' in v) row.bool_value = v.bool ? 1 : 0;
  // MLMD keeps the serialized Any's base64 text on MySQL and SQLite, the bytes themselves on PostgreSQL.
  else row.proto_value = q.dialect === 'postgres' ? v.proto : v.proto.toString('base64');
  await insert(q, table, row);
}

/**
 * A small archive: one pipeline with two runs. Ids are explicit so that assertions can name them.
 * Types 1–9 are MLMD's built-in ones.
 */
async function buildArchive(url: string, version: MlmdSchemaVersion): Promise<void> {
  const db = await openDb(url, { ...MLMD_IDENTIFIERS, create: true });
  const v9 = version >= 9;
  const v10 = version >= 10;
  try {
    await createMlmdSchema(db, version);
    const type = (id: number, name: string, kind: number, extra: Record<string, Param> = {}) => {
      const row: Record<string, Param> = { id, name, type_kind: kind, ...extra };
      if (!v9) delete row.external_id;
      return insert(db, 'Type', row);
    };
    await type(10, 'system.Dataset', 1, { external_id: 'type-ext-dataset', description: 'datasets' });
    await type(11, 'system.Model', 1);
    await type(12, 'system.ContainerExecution', 0);
    await type(13, 'system.PipelineRun', 2);
    await type(14, 'system.Pipeline', 2);
    await type(15, 'system.ContainerExecution', 0, { version: 'v2' });
    await insert(db, 'ParentType', { type_id: 10, parent_type_id: 1 });
    await insert(db, 'TypeProperty', { type_id: 10, name: 'size', data_type: INT });
    await insert(db, 'TypeProperty', { type_id: 13, name: 'namespace', data_type: STRING });

    const node = (table: string, row: Record<string, Param>) => {
      if (!v9) delete row.external_id;
      return insert(db, table, row);
    };
    await node('Context', { id: 1, type_id: 14, name: 'my-pipeline', create_time_since_epoch: 900, last_update_time_since_epoch: 900 });
    await node('Context', { id: 2, type_id: 13, name: 'run-uuid-1', external_id: 'ctx-ext-2', create_time_since_epoch: 950, last_update_time_since_epoch: 6000 });
    await node('Context', { id: 3, type_id: 13, name: 'run-uuid-2', create_time_since_epoch: 1400, last_update_time_since_epoch: 1400 });
    await prop(db, 'context', 2, 'namespace', false, { string: 'kubeflow' });
    await insert(db, 'ParentContext', { context_id: 2, parent_context_id: 1 });
    await insert(db, 'ParentContext', { context_id: 3, parent_context_id: 1 });

    const exec = (id: number, typeId: number, name: string | null, state: number | null, c: number, u: number, externalId: string | null = null) =>
      node('Execution', { id, type_id: typeId, name, last_known_state: state, create_time_since_epoch: c, last_update_time_since_epoch: u, external_id: externalId });
    await exec(1, 12, 'run/root', 3, 1000, 5000);
    await exec(2, 12, 'run/train', 3, 2000, 4000, 'exec-ext-2');
    await exec(3, 12, 'run/eval', 4, 3000, 3000);
    await exec(4, 12, 'run2/train', 2, 1500, 1500);
    await exec(5, 15, 'v2exec', null, 1600, 1600);
    await prop(db, 'execution', 1, 'task_name', true, { string: '' });
    await prop(db, 'execution', 2, 'task_name', true, { string: 'train' });
    await prop(db, 'execution', 3, 'task_name', true, { string: 'eval' });
    await prop(db, 'execution', 4, 'task_name', true, { string: 'train' });
    for (const id of [2, 3]) await prop(db, 'execution', id, 'parent_dag_id', true, { int: 1 });
    for (const id of [1, 2, 3]) await insert(db, 'Association', { context_id: 2, execution_id: id });
    await insert(db, 'Association', { context_id: 3, execution_id: 4 });

    const art = (id: number, typeId: number, uri: string, state: number | null, c: number, extra: Record<string, Param> = {}) =>
      node('Artifact', { id, type_id: typeId, uri, state, create_time_since_epoch: c, last_update_time_since_epoch: c + 1, ...extra });
    await art(1, 10, 's3://b/data', 2, 1100);
    await art(2, 11, 's3://b/model', 2, 2100);
    await art(3, 10, 's3://b/data', null, 3100, { name: 'named-art', external_id: 'art-ext-3' });
    await art(4, 11, 's3://b/orphan', 4, 4100);
    await prop(db, 'artifact', 1, 'size', false, { int: 10 });
    await prop(db, 'artifact', 1, 'display_name', true, { string: 'data' });
    await prop(db, 'artifact', 1, 'schema', true, { raw: encodeStructValue({ a: [1, 'x'], b: { c: true } }) });
    await prop(db, 'artifact', 2, 'display_name', true, { string: 'model' });
    await prop(db, 'artifact', 2, 'accuracy', true, { double: 0.9 });
    if (v10) {
      await prop(db, 'artifact', 2, 'flag', true, { bool: true });
      const anyType = protobuf.common.get('google/protobuf/any.proto');
      const Any = protobuf.Root.fromJSON(anyType!).lookupType('google.protobuf.Any');
      await prop(db, 'artifact', 3, 'blob', true, {
        proto: Buffer.from(Any.encode(Any.fromObject({ type_url: 'type.googleapis.com/x.Y', value: Buffer.from([1, 2, 3]) })).finish()),
      });
    }
    await insert(db, 'Attribution', { context_id: 2, artifact_id: 1 });
    await insert(db, 'Attribution', { context_id: 2, artifact_id: 2 });
    await insert(db, 'Attribution', { context_id: 3, artifact_id: 3 });

    const event = async (id: number, artifactId: number, executionId: number, type: number, ms: number, steps: (string | number)[]) => {
      await insert(db, 'Event', { id, artifact_id: artifactId, execution_id: executionId, type, milliseconds_since_epoch: ms });
      for (const s of steps) {
        await insert(db, 'EventPath', typeof s === 'number' ? { event_id: id, is_index_step: 1, step_index: s } : { event_id: id, is_index_step: 0, step_key: s });
      }
    };
    await event(1, 1, 2, 3, 2001, ['dataset']); // INPUT
    await event(2, 2, 2, 4, 2500, ['model']); // OUTPUT
    await event(3, 2, 3, 3, 3001, ['model', 0]); // INPUT, two steps
    await event(4, 3, 4, 4, 1550, ['data']); // OUTPUT
    await event(5, 1, 1, 4, 1500, ['ds']); // OUTPUT
  } finally {
    await db.close();
  }
}

const idsOf = (nodes: Msg[] | undefined) => (nodes ?? []).map((n) => Number(n.id));

describe.each(MLMD_DIALECTS)('shim over an MLMD archive ($dialect)', ({ temp }) => {
  let database: TempDatabase;
  let shim: RunningShim;
  let client: MlmdTestClient;

  beforeAll(async () => {
    database = await temp('shim');
    await buildArchive(database.url, 10);
    shim = await startShim({ mlmdUrl: database.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
    client = mlmdClient(shim.port);
  });

  afterAll(async () => {
    client?.close();
    await shim?.close();
    await database?.drop();
  });

  // An empty repeated field is not on the wire, so the client sees `{}` for an empty list.
  describe('type reads', () => {
    it('GetArtifactType answers the type with properties, base_type and external_id', async () => {
      const r = await client.call('GetArtifactType', { type_name: 'system.Dataset' });
      expect(r.artifact_type).toEqual({
        id: '10',
        name: 'system.Dataset',
        properties: { size: 'INT' },
        description: 'datasets',
        external_id: 'type-ext-dataset',
        base_type: 'DATASET',
      });
    });

    it('Get*Type is NOT_FOUND for an unknown name or version', async () => {
      const e = await client.fail('GetArtifactType', { type_name: 'nope' });
      expect(e.code).toBe(grpc.status.NOT_FOUND);
      expect(e.details).toContain('No type found for query, name: `nope`');
      expect((await client.fail('GetContextType', { type_name: 'system.PipelineRun', type_version: 'v9' })).code).toBe(grpc.status.NOT_FOUND);
    });

    it('GetExecutionType distinguishes versions; an empty version means none', async () => {
      expect((await client.call('GetExecutionType', { type_name: 'system.ContainerExecution', type_version: 'v2' })).execution_type.id).toBe('15');
      expect((await client.call('GetExecutionType', { type_name: 'system.ContainerExecution', type_version: '' })).execution_type.id).toBe('12');
      const ctx = await client.call('GetContextType', { type_name: 'system.PipelineRun' });
      expect(ctx.context_type).toEqual({ id: '13', name: 'system.PipelineRun', properties: { namespace: 'STRING' } });
    });

    it('Get*TypesByID keeps request order and duplicates and skips other kinds and unknown ids', async () => {
      const r = await client.call('GetArtifactTypesByID', { type_ids: ['11', '10', '11', '12', '999'] });
      expect(r.artifact_types.map((t: Msg) => t.id)).toEqual(['11', '10', '11']);
      const e = await client.call('GetExecutionTypesByID', { type_ids: ['15', '10'] });
      expect(e.execution_types.map((t: Msg) => [t.id, t.version])).toEqual([['15', 'v2']]);
      const c = await client.call('GetContextTypesByID', { type_ids: ['14', '13'] });
      expect(c.context_types.map((t: Msg) => t.name)).toEqual(['system.Pipeline', 'system.PipelineRun']);
    });

    it('Get*Types hide the built-in mlmd.* types and leave external_id out', async () => {
      const a = await client.call('GetArtifactTypes');
      expect(a.artifact_types.map((t: Msg) => t.name)).toEqual(['system.Dataset', 'system.Model']);
      expect(a.artifact_types[0].external_id).toBeUndefined();
      expect(a.artifact_types[0].base_type).toBe('DATASET');
      const x = await client.call('GetExecutionTypes');
      expect(x.execution_types.map((t: Msg) => t.id)).toEqual(['12', '15']);
      const c = await client.call('GetContextTypes');
      expect(c.context_types.map((t: Msg) => t.id)).toEqual(['13', '14']);
    });

    it('Get*TypesByExternalIds: found, NOT_FOUND, INVALID_ARGUMENT for an empty id, OK for no ids', async () => {
      const r = await client.call('GetArtifactTypesByExternalIds', { external_ids: ['type-ext-dataset', 'zzz'] });
      expect(r.artifact_types.map((t: Msg) => t.id)).toEqual(['10']);
      expect((await client.fail('GetExecutionTypesByExternalIds', { external_ids: ['zzz'] })).code).toBe(grpc.status.NOT_FOUND);
      expect((await client.fail('GetContextTypesByExternalIds', { external_ids: ['a', ''] })).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(await client.call('GetContextTypesByExternalIds', { external_ids: [] })).toEqual({});
    });
  });

  describe('node reads', () => {
    it('GetArtifacts without options answers every artifact, with MLMD presence and int64 strings', async () => {
      const r = await client.call('GetArtifacts');
      expect(idsOf(r.artifacts)).toEqual([1, 2, 3, 4]);
      expect(r.next_page_token).toBeUndefined();
      const [a1, a2, a3] = r.artifacts as Msg[];
      expect(a1).toMatchObject({
        id: '1',
        type_id: '10',
        type: 'system.Dataset',
        uri: 's3://b/data',
        state: 'LIVE',
        create_time_since_epoch: '1100',
        last_update_time_since_epoch: '1101',
        properties: { size: { int_value: '10', value: 'int_value' } },
      });
      expect(a1!.custom_properties.display_name.string_value).toBe('data');
      expect(a1!.custom_properties.schema.struct_value.fields.b.structValue.fields.c.boolValue).toBe(true);
      expect(a1!.custom_properties.schema.struct_value.fields.a.listValue.values.map((v: Msg) => v.numberValue ?? v.stringValue)).toEqual([1, 'x']);
      expect(a1!.name).toBeUndefined();
      expect(a1!.external_id).toBeUndefined();
      expect(a2!.custom_properties.accuracy.double_value).toBeCloseTo(0.9, 12);
      expect(a2!.custom_properties.flag).toEqual({ bool_value: true, value: 'bool_value' });
      // An unset state stays unset: it is not UNKNOWN.
      expect(a3!.state).toBeUndefined();
      expect(a3!.name).toBe('named-art');
      expect(a3!.external_id).toBe('art-ext-3');
      expect(a3!.custom_properties.blob.proto_value.type_url).toBe('type.googleapis.com/x.Y');
      expect([...a3!.custom_properties.blob.proto_value.value]).toEqual([1, 2, 3]);
    });

    it('GetExecutions and GetContexts page with options', async () => {
      const p1 = await client.call('GetExecutions', { options: { max_result_size: 2 } });
      expect(idsOf(p1.executions)).toEqual([1, 2]);
      expect(typeof p1.next_page_token).toBe('string');
      const p2 = await client.call('GetExecutions', { options: { max_result_size: 2, next_page_token: p1.next_page_token } });
      expect(idsOf(p2.executions)).toEqual([3, 4]);
      const p3 = await client.call('GetExecutions', { options: { max_result_size: 2, next_page_token: p2.next_page_token } });
      expect(idsOf(p3.executions)).toEqual([5]);
      expect(p3.next_page_token).toBeUndefined();
      expect(p1.executions[0].last_known_state).toBe('COMPLETE');
      expect(p3.executions[0].last_known_state).toBeUndefined();
      const c = await client.call('GetContexts', { options: {} });
      expect(idsOf(c.contexts)).toEqual([1, 2, 3]);
      expect(c.contexts[1].custom_properties).toBeUndefined();
      expect(c.contexts[1].properties.namespace.string_value).toBe('kubeflow');
    });

    it('orders by create or update time, either direction, with id as tie-break', async () => {
      const desc = await client.call('GetExecutions', { options: { order_by_field: { field: 'CREATE_TIME', is_asc: false } } });
      expect(idsOf(desc.executions)).toEqual([3, 2, 5, 4, 1]);
      const upd = await client.call('GetExecutions', { options: { order_by_field: { field: 'LAST_UPDATE_TIME', is_asc: true }, max_result_size: 3 } });
      expect(idsOf(upd.executions)).toEqual([4, 5, 3]);
      const next = await client.call('GetExecutions', {
        options: { order_by_field: { field: 'LAST_UPDATE_TIME', is_asc: true }, max_result_size: 3, next_page_token: upd.next_page_token },
      });
      expect(idsOf(next.executions)).toEqual([2, 1]);
    });

    it('refuses bad list options and bad tokens with INVALID_ARGUMENT', async () => {
      for (const options of [
        { max_result_size: 0 },
        { max_result_size: -3 },
        { order_by_field: { field: 'FIELD_UNSPECIFIED' } },
        { next_page_token: 'not a token!' },
        { next_page_token: 'AAAA' },
        { next_page_token: Buffer.from('garbage bytes here').toString('base64url') },
      ]) {
        const e = await client.fail('GetArtifacts', { options });
        expect(e.code, JSON.stringify(options)).toBe(grpc.status.INVALID_ARGUMENT);
      }
      const first = await client.call('GetArtifacts', { options: { max_result_size: 1 } });
      const e = await client.fail('GetArtifacts', { options: { max_result_size: 1, order_by_field: { is_asc: false }, next_page_token: first.next_page_token } });
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toContain('next_page_token was issued for order ID ascending');
    });

    it('caps max_result_size at 100', async () => {
      const r = await client.call('GetArtifacts', { options: { max_result_size: 500 } });
      expect(idsOf(r.artifacts)).toEqual([1, 2, 3, 4]);
      expect(r.next_page_token).toBeUndefined();
    });

    it('Get*ByID skips missing ids; populate_artifact_types adds the used types', async () => {
      const r = await client.call('GetArtifactsByID', { artifact_ids: ['3', '99', '1'], populate_artifact_types: true });
      expect(idsOf(r.artifacts)).toEqual([1, 3]);
      expect(r.artifact_types.map((t: Msg) => t.id)).toEqual(['10']);
      expect((await client.call('GetArtifactsByID', { artifact_ids: ['2'] })).artifact_types).toBeUndefined();
      expect(idsOf((await client.call('GetExecutionsByID', { execution_ids: ['5', '4', '77'] })).executions)).toEqual([4, 5]);
      expect(idsOf((await client.call('GetContextsByID', { context_ids: ['3'] })).contexts)).toEqual([3]);
      expect(await client.call('GetContextsByID', { context_ids: [] })).toEqual({});
    });

    it('Get*ByType: by name and version; a token with options unless the type has no node; unknown type is OK-empty', async () => {
      const r = await client.call('GetArtifactsByType', { type_name: 'system.Dataset' });
      expect(idsOf(r.artifacts)).toEqual([1, 3]);
      expect(r.next_page_token).toBeUndefined();
      const paged = await client.call('GetArtifactsByType', { type_name: 'system.Dataset', options: { max_result_size: 5 } });
      expect(idsOf(paged.artifacts)).toEqual([1, 3]);
      expect(paged.next_page_token).toBe('');
      expect(idsOf((await client.call('GetExecutionsByType', { type_name: 'system.ContainerExecution', type_version: 'v2' })).executions)).toEqual([5]);
      const contexts = await client.call('GetContextsByType', { type_name: 'system.PipelineRun', options: { max_result_size: 1 } });
      expect(idsOf(contexts.contexts)).toEqual([2]);
      expect(contexts.next_page_token).not.toBe('');
      expect(await client.call('GetArtifactsByType', { type_name: 'unknown' })).toEqual({});
      // A type with no node at all ends MLMD's lookup before the token is set; one whose nodes the
      // filter excludes still gets it.
      expect(await client.call('GetArtifactsByType', { type_name: 'mlmd.Model', options: { max_result_size: 5 } })).toEqual({});
      expect(await client.call('GetExecutionsByType', { type_name: 'mlmd.Train', options: {} })).toEqual({});
      expect(await client.call('GetArtifactsByType', { type_name: 'system.Dataset', options: { filter_query: "uri = 'nowhere'" } })).toEqual({ next_page_token: '' });
    });

    it('Get*ByTypeAndName answers the node, or an empty response', async () => {
      const c = await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: 'run-uuid-2' });
      expect(c.context.id).toBe('3');
      expect(await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: 'missing' })).toEqual({});
      expect(await client.call('GetContextByTypeAndName', { type_name: 'nope', context_name: 'run-uuid-2' })).toEqual({});
      const a = await client.call('GetArtifactByTypeAndName', { type_name: 'system.Dataset', artifact_name: 'named-art' });
      expect(a.artifact.id).toBe('3');
      const x = await client.call('GetExecutionByTypeAndName', { type_name: 'system.ContainerExecution', execution_name: 'run/eval' });
      expect(x.execution.id).toBe('3');
      expect(await client.call('GetExecutionByTypeAndName', { type_name: 'system.ContainerExecution', type_version: 'v2', execution_name: 'run/eval' })).toEqual({});
    });

    it('GetArtifactsByURI answers every artifact of each URI once, and refuses the removed field 1', async () => {
      const r = await client.call('GetArtifactsByURI', { uris: ['s3://b/data', 's3://b/data', 's3://b/model', 's3://none'] });
      expect(idsOf(r.artifacts)).toEqual([1, 2, 3]);
      // Field 1 (string) = "s3://b/data", hand-encoded: tag 0x0a, length, bytes.
      const uri = Buffer.from('s3://b/data');
      const bytes = Buffer.concat([Buffer.from([0x0a, uri.length]), uri]);
      const e = await client.rawCall('GetArtifactsByURI', bytes).then(
        () => null,
        (err: grpc.ServiceError) => err,
      );
      expect(e?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e?.details).toContain('deprecated field `uri`');
    });

    it('Get*ByExternalIds: found, NOT_FOUND when none, INVALID_ARGUMENT for an empty id', async () => {
      expect(idsOf((await client.call('GetArtifactsByExternalIds', { external_ids: ['art-ext-3', 'x'] })).artifacts)).toEqual([3]);
      expect(idsOf((await client.call('GetExecutionsByExternalIds', { external_ids: ['exec-ext-2'] })).executions)).toEqual([2]);
      expect(idsOf((await client.call('GetContextsByExternalIds', { external_ids: ['ctx-ext-2'] })).contexts)).toEqual([2]);
      const nf = await client.fail('GetContextsByExternalIds', { external_ids: ['nothing'] });
      expect(nf.code).toBe(grpc.status.NOT_FOUND);
      expect(nf.details).toBe('No contexts found for external_ids.');
      expect((await client.fail('GetArtifactsByExternalIds', { external_ids: [''] })).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(await client.call('GetExecutionsByExternalIds', {})).toEqual({});
    });

    it('Get*ByContext: everything without options; filter, order and paging with them', async () => {
      expect(idsOf((await client.call('GetExecutionsByContext', { context_id: '2' })).executions)).toEqual([1, 2, 3]);
      expect(idsOf((await client.call('GetArtifactsByContext', { context_id: '2' })).artifacts)).toEqual([1, 2]);
      expect(idsOf((await client.call('GetArtifactsByContext', { context_id: '999' })).artifacts)).toEqual([]);
      // The KFP driver's child lookup.
      const children = await client.call('GetExecutionsByContext', {
        context_id: '2',
        options: { filter_query: 'custom_properties.parent_dag_id.int_value = 1' },
      });
      expect(idsOf(children.executions)).toEqual([2, 3]);
      expect(children.next_page_token).toBeUndefined();
      // The Python client's default: newest first, paged.
      const p1 = await client.call('GetExecutionsByContext', {
        context_id: '2',
        options: { max_result_size: 2, order_by_field: { field: 'CREATE_TIME', is_asc: false } },
      });
      expect(idsOf(p1.executions)).toEqual([3, 2]);
      const p2 = await client.call('GetExecutionsByContext', {
        context_id: '2',
        options: { max_result_size: 2, order_by_field: { field: 'CREATE_TIME', is_asc: false }, next_page_token: p1.next_page_token },
      });
      expect(idsOf(p2.executions)).toEqual([1]);
      expect(p2.next_page_token).toBeUndefined();
    });
  });

  describe('filter_query through the RPCs', () => {
    const filtered = async (rpc: string, field: string, filter_query: string, extra: Msg = {}) =>
      idsOf((await client.call(rpc, { ...extra, options: { filter_query, max_result_size: 100 } }))[field]);

    it('filters on attributes, properties, times and types', async () => {
      expect(await filtered('GetArtifacts', 'artifacts', "uri = 's3://b/data'")).toEqual([1, 3]);
      expect(await filtered('GetArtifacts', 'artifacts', "type = 'system.Model' AND state = LIVE")).toEqual([2]);
      expect(await filtered('GetArtifacts', 'artifacts', 'state != LIVE')).toEqual([3, 4]);
      expect(await filtered('GetArtifacts', 'artifacts', 'custom_properties.accuracy.double_value > 0.5')).toEqual([2]);
      expect(await filtered('GetArtifacts', 'artifacts', "custom_properties.display_name.string_value = 'data' OR id = 4")).toEqual([1]);
      expect(await filtered('GetArtifacts', 'artifacts', 'properties.size.int_value = 10')).toEqual([1]);
      expect(await filtered('GetArtifacts', 'artifacts', "name = 'named-art'")).toEqual([3]);
      expect(await filtered('GetExecutions', 'executions', 'create_time_since_epoch >= 2000 AND last_update_time_since_epoch < 4000')).toEqual([3]);
      expect(await filtered('GetExecutions', 'executions', "last_known_state IN (FAILED, RUNNING) OR name LIKE 'run/r%'")).toEqual([1, 3, 4]);
      expect(await filtered('GetExecutions', 'executions', 'id > 1 AND id <= 3')).toEqual([2, 3]);
      expect(await filtered('GetContexts', 'contexts', "type = 'system.PipelineRun'")).toEqual([2, 3]);
    });

    it('filters through neighbours: contexts, events, parent contexts, members', async () => {
      expect(await filtered('GetExecutions', 'executions', "contexts_a.name = 'run-uuid-2'")).toEqual([4]);
      expect(await filtered('GetArtifacts', 'artifacts', "contexts_a.type = 'system.PipelineRun' AND contexts_a.name = 'run-uuid-1'")).toEqual([1, 2]);
      expect(await filtered('GetArtifacts', 'artifacts', 'events_e.type = INPUT AND events_e.execution_id = 3')).toEqual([2]);
      expect(await filtered('GetExecutions', 'executions', 'events_e.type = OUTPUT')).toEqual([1, 2, 4]);
      expect(await filtered('GetContexts', 'contexts', "parent_contexts_p.name = 'my-pipeline'")).toEqual([2, 3]);
      expect(await filtered('GetContexts', 'contexts', 'child_contexts_c.id = 3')).toEqual([1]);
      expect(await filtered('GetContexts', 'contexts', "artifacts_a.uri = 's3://b/model'")).toEqual([2]);
      expect(await filtered('GetContexts', 'contexts', 'executions_x.last_known_state = RUNNING')).toEqual([3]);
    });

    it('pages through filtered results', async () => {
      const p1 = await client.call('GetExecutions', { options: { filter_query: 'id >= 2', max_result_size: 2 } });
      expect(idsOf(p1.executions)).toEqual([2, 3]);
      const p2 = await client.call('GetExecutions', { options: { filter_query: 'id >= 2', max_result_size: 2, next_page_token: p1.next_page_token } });
      expect(idsOf(p2.executions)).toEqual([4, 5]);
      expect(p2.next_page_token).toBeUndefined();
    });

    it('a bad filter_query is INVALID_ARGUMENT', async () => {
      for (const q of ['id == 1', "id = 'x'", 'contexts_a.uri = 1', 'state = ABANDONED', 'custom_properties.x = 1']) {
        expect((await client.fail('GetArtifacts', { options: { filter_query: q } })).code, q).toBe(grpc.status.INVALID_ARGUMENT);
      }
    });
  });

  describe('edge reads', () => {
    it('GetEventsByExecutionIDs answers every event with its path in step order', async () => {
      const r = await client.call('GetEventsByExecutionIDs', { execution_ids: ['2', '3', '42'] });
      expect(r.events).toEqual([
        { artifact_id: '1', execution_id: '2', type: 'INPUT', path: { steps: [{ key: 'dataset', value: 'key' }] }, milliseconds_since_epoch: '2001' },
        { artifact_id: '2', execution_id: '2', type: 'OUTPUT', path: { steps: [{ key: 'model', value: 'key' }] }, milliseconds_since_epoch: '2500' },
        {
          artifact_id: '2',
          execution_id: '3',
          type: 'INPUT',
          path: { steps: [{ key: 'model', value: 'key' }, { index: '0', value: 'index' }] },
          milliseconds_since_epoch: '3001',
        },
      ]);
      expect(await client.call('GetEventsByExecutionIDs', { execution_ids: [] })).toEqual({});
    });

    it('GetEventsByArtifactIDs', async () => {
      const r = await client.call('GetEventsByArtifactIDs', { artifact_ids: ['1'] });
      expect(r.events.map((e: Msg) => [e.execution_id, e.type])).toEqual([
        ['2', 'INPUT'],
        ['1', 'OUTPUT'],
      ]);
    });

    it('GetContextsByArtifact / ByExecution, NOT_FOUND without links', async () => {
      expect(idsOf((await client.call('GetContextsByArtifact', { artifact_id: '3' })).contexts)).toEqual([3]);
      expect(idsOf((await client.call('GetContextsByExecution', { execution_id: '2' })).contexts)).toEqual([2]);
      const e = await client.fail('GetContextsByArtifact', { artifact_id: '4' });
      expect(e.code).toBe(grpc.status.NOT_FOUND);
      expect(e.details).toBe('No contexts found for artifact_id: 4');
      expect((await client.fail('GetContextsByExecution', { execution_id: '5' })).code).toBe(grpc.status.NOT_FOUND);
    });

    it('parent and child contexts, single and batched', async () => {
      expect(idsOf((await client.call('GetParentContextsByContext', { context_id: '2' })).contexts)).toEqual([1]);
      expect(idsOf((await client.call('GetChildrenContextsByContext', { context_id: '1' })).contexts)).toEqual([2, 3]);
      expect(await client.call('GetParentContextsByContext', { context_id: '1' })).toEqual({});
      // protobufjs decodes int64 map keys into 8-character "long hashes"; turn them back into ids.
      const byKey = (map: Msg) =>
        Object.fromEntries(Object.entries(map).map(([k, v]) => [protobuf.util.longFromHash(k, false).toString(), v])) as Msg;
      const parents = byKey((await client.call('GetParentContextsByContexts', { context_ids: ['2', '3', '1'] })).contexts);
      expect(Object.keys(parents).sort()).toEqual(['2', '3']);
      expect(idsOf(parents['2'].parent_contexts)).toEqual([1]);
      expect(idsOf(parents['3'].parent_contexts)).toEqual([1]);
      const children = byKey((await client.call('GetChildrenContextsByContexts', { context_ids: ['1'] })).contexts);
      expect(Object.keys(children)).toEqual(['1']);
      expect(idsOf(children['1'].children_contexts)).toEqual([2, 3]);
      expect((await client.fail('GetParentContextsByContexts', { context_ids: [] })).code).toBe(grpc.status.INVALID_ARGUMENT);
    });
  });

  describe('lineage', () => {
    const subgraph = async (options: Msg, read_mask?: Msg) =>
      (await client.call('GetLineageSubgraph', { lineage_subgraph_query_options: options, ...(read_mask ? { read_mask } : {}) })).lineage_subgraph as Msg;

    it('walks both directions from the starting artifacts', async () => {
      const g = await subgraph({ starting_artifacts: { filter_query: 'id = 2' }, max_num_hops: '2' });
      expect(idsOf(g.artifacts)).toEqual([1, 2]);
      expect(idsOf(g.executions)).toEqual([2, 3]);
      expect(idsOf(g.contexts)).toEqual([2]);
      expect(g.artifacts[0]).toEqual({ id: '1' });
      expect(g.events.map((e: Msg) => `${e.artifact_id}-${e.execution_id}`).sort()).toEqual(['1-2', '2-2', '2-3']);
      expect(g.attributions.map((a: Msg) => `${a.artifact_id}@${a.context_id}`)).toEqual(['1@2', '2@2']);
      expect(g.associations.map((a: Msg) => `${a.execution_id}@${a.context_id}`)).toEqual(['2@2', '3@2']);
      expect(g.artifact_types.map((t: Msg) => t.name)).toContain('mlmd.Dataset');
    });

    it('limits hops, follows a direction, honours ending nodes and the read mask', async () => {
      const oneHop = await subgraph({ starting_artifacts: { filter_query: 'id = 2' }, max_num_hops: '1' }, { paths: ['artifacts', 'executions'] });
      expect(idsOf(oneHop.artifacts)).toEqual([2]);
      expect(idsOf(oneHop.executions)).toEqual([2, 3]);
      expect(oneHop.events).toBeUndefined();
      const up = await subgraph({ starting_artifacts: { filter_query: 'id = 2' }, direction: 'UPSTREAM' }, { paths: ['artifacts', 'executions'] });
      expect(idsOf(up.artifacts)).toEqual([1, 2]);
      expect(idsOf(up.executions)).toEqual([1, 2]);
      const down = await subgraph({ starting_executions: { filter_query: "name = 'run/root'" }, direction: 'DOWNSTREAM' }, { paths: ['artifacts', 'executions'] });
      // exec 1 → (OUTPUT) artifact 1 → (INPUT) exec 2 → (OUTPUT) artifact 2 → (INPUT) exec 3
      expect(idsOf(down.executions)).toEqual([1, 2, 3]);
      expect(idsOf(down.artifacts)).toEqual([1, 2]);
      const ending = await subgraph(
        { starting_artifacts: { filter_query: 'id = 2' }, ending_executions: { filter_query: 'id = 3' } },
        { paths: ['executions', 'artifacts'] },
      );
      expect(idsOf(ending.executions)).toEqual([1, 2]);
      const included = await subgraph(
        { starting_artifacts: { filter_query: 'id = 2' }, ending_executions: { filter_query: 'id = 3', include_ending_nodes: true } },
        { paths: ['executions'] },
      );
      expect(idsOf(included.executions)).toEqual([1, 2, 3]);
    });

    it('refuses missing starting nodes, bad hops; NOT_FOUND when nothing starts; GetLineageGraph UNIMPLEMENTED', async () => {
      const call = (options: Msg) => client.fail('GetLineageSubgraph', { lineage_subgraph_query_options: options });
      expect((await call({})).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((await call({ starting_artifacts: {} })).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((await call({ starting_artifacts: { filter_query: 'id = 1' }, max_num_hops: '-1' })).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((await call({ starting_artifacts: { filter_query: 'id = 1000' } })).code).toBe(grpc.status.NOT_FOUND);
      expect((await client.fail('GetLineageGraph', {})).code).toBe(grpc.status.UNIMPLEMENTED);
    });
  });

  it('every write RPC is UNIMPLEMENTED with a message naming the alternative', async () => {
    for (const rpc of WRITE_RPCS) {
      const e = await client.fail(rpc, {});
      expect(e.code, rpc).toBe(grpc.status.UNIMPLEMENTED);
      expect(e.details, rpc).toContain('ArtifactService');
    }
  });

  it('answers grpc.health.v1.Health/Check', async () => {
    const healthProto = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'proto', 'grpc', 'health', 'v1', 'health.proto');
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { keepCase: true, enums: String, defaults: true })) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const health = new pkg.grpc.health.v1.Health(`127.0.0.1:${shim.port}`, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<{ status?: string; code?: number }>((resolve) => {
        (health as unknown as { Check: Function }).Check({ service }, (err: grpc.ServiceError | null, r: { status: string }) =>
          resolve(err ? { code: err.code } : { status: r.status }),
        );
      });
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check('ml_metadata.MetadataStoreService')).toEqual({ status: 'SERVING' });
    expect(await check('other.Service')).toEqual({ code: grpc.status.NOT_FOUND });
    health.close();
  });
});

describe('shim over a schema 8 archive (no external_id, proto_value, bool_value)', () => {
  let database: TempDatabase;
  let shim: RunningShim;
  let client: MlmdTestClient;

  beforeAll(async () => {
    database = await tempSqlite('shim8');
    await buildArchive(database.url, 8);
    shim = await startShim({ mlmdUrl: database.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
    client = mlmdClient(shim.port);
  });

  afterAll(async () => {
    client?.close();
    await shim?.close();
    await database?.drop();
  });

  it('serves nodes and types with the columns it has', async () => {
    const r = await client.call('GetArtifacts');
    expect(idsOf(r.artifacts)).toEqual([1, 2, 3, 4]);
    expect(r.artifacts[2].external_id).toBeUndefined();
    expect((await client.call('GetArtifactType', { type_name: 'system.Dataset' })).artifact_type.external_id).toBeUndefined();
    expect((await client.fail('GetArtifactsByExternalIds', { external_ids: ['art-ext-3'] })).code).toBe(grpc.status.NOT_FOUND);
    expect(idsOf((await client.call('GetExecutionsByContext', { context_id: '2', options: { filter_query: "custom_properties.task_name.string_value = 'eval'" } })).executions)).toEqual([3]);
  });
});
