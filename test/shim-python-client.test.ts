// The shim as the real `ml-metadata` Python client (ml_metadata/metadata_store/metadata_store.py,
// gRPC mode) sees it. `pythonStore` below builds every read request field for field as that client
// does — which fields it sets, which it leaves unset, and its paging loop over next_page_token —
// and the tests check MLMD's answer to each: over an MLMD archive large enough to need several
// pages (SQLite, MariaDB and PostgreSQL), and over the KFP tables (on each of the three), where a run deleted after the migration
// leaves ids behind that no longer name a node.
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Param } from '../src/db/connection.ts';
import { insertMany } from '../src/db/insert.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { createMlmdSchema } from '../src/seed/mlmd-ddl.ts';
import type { ShimBackend } from '../src/shim/backend.ts';
import { CallRunner } from '../src/shim/dispatch.ts';
import { DEFAULT_LIMITS } from '../src/shim/limits.ts';
import { startGrpc } from '../src/shim/grpc-server.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { openMlmdBackend } from '../src/shim/mlmd-backend.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { mlmdHandlers, shimServiceDefinition } from '../src/shim/service.ts';
import { toRpcError } from '../src/shim/status.ts';
import { KFP_DIALECTS, MARIADB_HOST, MARIADB_PORT, MARIADB_USER, MLMD_DIALECTS, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, type TempDatabase, tempMariaDb, tempPostgres, tempSqlite } from './helpers/databases.ts';
import { type MlmdTestClient, mlmdClient, type Msg } from './helpers/grpc-client.ts';
import { seedUrls } from './helpers/seeded.ts';

// ------------------------------------------------------------------ the Python client's requests

/** The client's `MAX_NUM_RESULT`: the page size of every listing it sends options with. */
const MAX_NUM_RESULT = 100;

/** The client's `ListOptions` (limit, order_by, is_asc, filter_query). */
interface ListOptions {
  limit?: number;
  orderBy?: 'CREATE_TIME' | 'LAST_UPDATE_TIME' | 'ID';
  isAsc?: boolean;
  filterQuery?: string;
}

interface Listed {
  rows: Msg[];
  /** Every request the loop sent, as sent. */
  requests: Msg[];
}

/**
 * `_call_method_with_list_options`: without list options one call with no `options`; with them
 * `max_result_size` 100 (or the rest of `limit` when smaller), `order_by_field.is_asc` always,
 * `field` and `filter_query` only when given, and the token of each answer copied into the next
 * request until an answer has none (or an empty one) or `limit` rows have come.
 */
async function listLikePython(client: MlmdTestClient, rpc: string, field: string, base: Msg, listOptions?: ListOptions): Promise<Listed> {
  const request: Msg = structuredClone(base);
  let returnSize: number | undefined;
  if (listOptions) {
    request.options = { max_result_size: MAX_NUM_RESULT, order_by_field: { is_asc: listOptions.isAsc ?? true } };
    if (listOptions.limit) returnSize = listOptions.limit;
    if (listOptions.orderBy) request.options.order_by_field.field = listOptions.orderBy;
    if (listOptions.filterQuery) request.options.filter_query = listOptions.filterQuery;
  }
  const rows: Msg[] = [];
  const requests: Msg[] = [];
  for (;;) {
    if (requests.length > 50) throw new Error(`${rpc}: the paging loop did not end`);
    if (returnSize && returnSize < MAX_NUM_RESULT) request.options.max_result_size = returnSize;
    requests.push(structuredClone(request));
    const response = await client.call(rpc, request);
    const page: Msg[] = response[field] ?? [];
    rows.push(...page);
    if (returnSize) {
      returnSize -= page.length;
      if (returnSize <= 0) break;
    }
    if (!response.next_page_token) break;
    request.options.next_page_token = response.next_page_token;
  }
  return { rows, requests };
}

/** `type_version` is set only when truthy, as every `get_*` method of the client does. */
const version = (typeVersion?: string): Msg => (typeVersion ? { type_version: typeVersion } : {});

/** The client's read methods, each sending exactly the request metadata_store.py builds. */
function pythonStore(client: MlmdTestClient) {
  const list = (rpc: string, field: string) => async (request: Msg) => ((await client.call(rpc, request))[field] ?? []) as Msg[];
  const store = {
    getArtifactTypes: () => list('GetArtifactTypes', 'artifact_types')({}),
    getExecutionTypes: () => list('GetExecutionTypes', 'execution_types')({}),
    getContextTypes: () => list('GetContextTypes', 'context_types')({}),
    getArtifactType: async (name: string, typeVersion?: string) => (await client.call('GetArtifactType', { type_name: name, ...version(typeVersion) })).artifact_type as Msg,
    getExecutionType: async (name: string, typeVersion?: string) => (await client.call('GetExecutionType', { type_name: name, ...version(typeVersion) })).execution_type as Msg,
    getContextType: async (name: string, typeVersion?: string) => (await client.call('GetContextType', { type_name: name, ...version(typeVersion) })).context_type as Msg,
    getArtifactTypesById: (ids: number[]) => list('GetArtifactTypesByID', 'artifact_types')({ type_ids: ids }),
    getExecutionTypesById: (ids: number[]) => list('GetExecutionTypesByID', 'execution_types')({ type_ids: ids }),
    getContextTypesById: (ids: number[]) => list('GetContextTypesByID', 'context_types')({ type_ids: ids }),
    getArtifactTypesByExternalIds: (ids: string[]) => list('GetArtifactTypesByExternalIds', 'artifact_types')({ external_ids: ids }),
    getExecutionTypesByExternalIds: (ids: string[]) => list('GetExecutionTypesByExternalIds', 'execution_types')({ external_ids: ids }),
    getContextTypesByExternalIds: (ids: string[]) => list('GetContextTypesByExternalIds', 'context_types')({ external_ids: ids }),

    getArtifacts: (o?: ListOptions) => listLikePython(client, 'GetArtifacts', 'artifacts', {}, o),
    getExecutions: (o?: ListOptions) => listLikePython(client, 'GetExecutions', 'executions', {}, o),
    getContexts: (o?: ListOptions) => listLikePython(client, 'GetContexts', 'contexts', {}, o),
    getArtifactsByContext: (contextId: number, o?: ListOptions) => listLikePython(client, 'GetArtifactsByContext', 'artifacts', { context_id: contextId }, o),
    // Without list options the client asks for the newest first: CREATE_TIME descending.
    getExecutionsByContext: (contextId: number, o: ListOptions = { orderBy: 'CREATE_TIME', isAsc: false }) =>
      listLikePython(client, 'GetExecutionsByContext', 'executions', { context_id: contextId }, o),

    getArtifactsByType: (name: string, typeVersion?: string) => list('GetArtifactsByType', 'artifacts')({ type_name: name, ...version(typeVersion) }),
    getExecutionsByType: (name: string, typeVersion?: string) => list('GetExecutionsByType', 'executions')({ type_name: name, ...version(typeVersion) }),
    getContextsByType: (name: string, typeVersion?: string) => list('GetContextsByType', 'contexts')({ type_name: name, ...version(typeVersion) }),
    // `None` when the answer has no node: the client tests HasField.
    getArtifactByTypeAndName: async (name: string, artifactName: string, typeVersion?: string) =>
      ((await client.call('GetArtifactByTypeAndName', { type_name: name, artifact_name: artifactName, ...version(typeVersion) })).artifact as Msg) ?? null,
    getExecutionByTypeAndName: async (name: string, executionName: string, typeVersion?: string) =>
      ((await client.call('GetExecutionByTypeAndName', { type_name: name, execution_name: executionName, ...version(typeVersion) })).execution as Msg) ?? null,
    getContextByTypeAndName: async (name: string, contextName: string, typeVersion?: string) =>
      ((await client.call('GetContextByTypeAndName', { type_name: name, context_name: contextName, ...version(typeVersion) })).context as Msg) ?? null,
    getArtifactsByUri: (uri: string) => list('GetArtifactsByURI', 'artifacts')({ uris: [uri] }),
    getArtifactsById: (ids: number[]) => list('GetArtifactsByID', 'artifacts')({ artifact_ids: ids }),
    getArtifactsAndTypesByArtifactIds: async (ids: number[]) => {
      const r = await client.call('GetArtifactsByID', { artifact_ids: ids, populate_artifact_types: true });
      return { artifacts: (r.artifacts ?? []) as Msg[], types: (r.artifact_types ?? []) as Msg[] };
    },
    getExecutionsById: (ids: number[]) => list('GetExecutionsByID', 'executions')({ execution_ids: ids }),
    getContextsById: (ids: number[]) => list('GetContextsByID', 'contexts')({ context_ids: ids }),
    getArtifactsByExternalIds: (ids: string[]) => list('GetArtifactsByExternalIds', 'artifacts')({ external_ids: ids }),
    getExecutionsByExternalIds: (ids: string[]) => list('GetExecutionsByExternalIds', 'executions')({ external_ids: ids }),
    getContextsByExternalIds: (ids: string[]) => list('GetContextsByExternalIds', 'contexts')({ external_ids: ids }),
    getEventsByExecutionIds: (ids: number[]) => list('GetEventsByExecutionIDs', 'events')({ execution_ids: ids }),
    getEventsByArtifactIds: (ids: number[]) => list('GetEventsByArtifactIDs', 'events')({ artifact_ids: ids }),
    getContextsByArtifact: (id: number) => list('GetContextsByArtifact', 'contexts')({ artifact_id: id }),
    getContextsByExecution: (id: number) => list('GetContextsByExecution', 'contexts')({ execution_id: id }),
    getParentContextsByContext: (id: number) => list('GetParentContextsByContext', 'contexts')({ context_id: id }),
    getChildrenContextsByContext: (id: number) => list('GetChildrenContextsByContext', 'contexts')({ context_id: id }),

    /**
     * `get_lineage_subgraph(query_options)` without field_mask_paths: the read mask names every
     * LineageGraph field except the `*_types` ones, and the client then hydrates the skeleton with
     * the *ByID calls (types of artifacts through populate_artifact_types, the other types by id).
     */
    async getLineageSubgraph(queryOptions: Msg) {
      const paths = ['artifacts', 'executions', 'contexts', 'events', 'attributions', 'associations', 'parent_contexts'];
      const skeleton = ((await client.call('GetLineageSubgraph', { lineage_subgraph_query_options: queryOptions, read_mask: { paths } })).lineage_subgraph ?? {}) as Msg;
      const idsOf = (xs: Msg[] | undefined) => (xs ?? []).map((x) => Number(x.id));
      const { artifacts, types: artifactTypes } = await store.getArtifactsAndTypesByArtifactIds(idsOf(skeleton.artifacts));
      const executions = await store.getExecutionsById(idsOf(skeleton.executions));
      const executionTypes = await store.getExecutionTypesById([...new Set(executions.map((e) => Number(e.type_id)))]);
      const contexts = await store.getContextsById(idsOf(skeleton.contexts));
      const contextTypes = await store.getContextTypesById([...new Set(contexts.map((c) => Number(c.type_id)))]);
      return { skeleton, artifacts, artifactTypes, executions, executionTypes, contexts, contextTypes };
    },
  };
  return store;
}

// ------------------------------------------------------------------ an archive of several pages

const EXECUTIONS = 230;
const ARTIFACTS = 240;

/** Create times repeat (ties) and do not follow id order; so do update times. */
const execCreate = (i: number) => 10_000 + ((i * 37) % 50) * 10;
const execUpdate = (i: number) => 50_000 + ((i * 11) % 40) * 5;
const artCreate = (j: number) => 20_000 + ((j * 13) % 70) * 10;
const artUpdate = (j: number) => artCreate(j) + (j % 4);
/** Odd artifacts are models (type 11), even ones datasets (type 10): artifact 1 has the higher type id. */
const artType = (j: number) => (j % 2 === 1 ? 11 : 10);
const execContext = (i: number) => (i <= 220 ? 2 : 3);
const artContext = (j: number) => (j <= 200 ? 2 : 3);

interface Key {
  id: number;
  c: number;
  u: number;
}
const EXEC_KEYS: Key[] = Array.from({ length: EXECUTIONS }, (_, n) => ({ id: n + 1, c: execCreate(n + 1), u: execUpdate(n + 1) }));
const ART_KEYS: Key[] = Array.from({ length: ARTIFACTS }, (_, n) => ({ id: n + 1, c: artCreate(n + 1), u: artUpdate(n + 1) }));

/** MLMD's order: the field, then id, both in the requested direction. */
function ordered(keys: Key[], field: 'ID' | 'CREATE_TIME' | 'LAST_UPDATE_TIME', asc: boolean): number[] {
  const value = (k: Key) => (field === 'ID' ? k.id : field === 'CREATE_TIME' ? k.c : k.u);
  const dir = asc ? 1 : -1;
  return [...keys].sort((a, b) => (value(a) - value(b) || a.id - b.id) * dir).map((k) => k.id);
}

async function buildArchive(url: string): Promise<void> {
  const db = await openDb(url, { ...MLMD_IDENTIFIERS, create: true });
  try {
    await createMlmdSchema(db, 10);
    await insertMany(
      db,
      'Type',
      ['id', 'name', 'version', 'type_kind', 'description', 'input_type', 'output_type', 'external_id'],
      [
        [10, 'system.Dataset', null, 1, 'datasets', null, null, 'type-ext-dataset'],
        [11, 'system.Model', null, 1, null, null, null, null],
        [12, 'system.ContainerExecution', null, 0, null, '{"simple":{"name":"system.Dataset"}}', '{"simple":{"name":"system.Model"}}', 'type-ext-exec'],
        [13, 'system.PipelineRun', null, 2, null, null, null, 'type-ext-run'],
        [14, 'system.Pipeline', null, 2, null, null, null, null],
        [15, 'system.ContainerExecution', 'v2', 0, null, null, null, null],
      ],
    );
    await insertMany(db, 'ParentType', ['type_id', 'parent_type_id'], [[10, 1]]);
    await insertMany(db, 'TypeProperty', ['type_id', 'name', 'data_type'], [[10, 'size', 1]]);

    await insertMany(
      db,
      'Context',
      ['id', 'type_id', 'name', 'external_id', 'create_time_since_epoch', 'last_update_time_since_epoch'],
      [
        [1, 14, 'my-pipeline', null, 900, 900],
        [2, 13, 'run-a', 'ctx-ext-2', 950, 6000],
        [3, 13, 'run-b', null, 1400, 1400],
      ],
    );
    await insertMany(db, 'ParentContext', ['context_id', 'parent_context_id'], [
      [2, 1],
      [3, 1],
    ]);

    const executions: Param[][] = [];
    const execProps: Param[][] = [];
    for (const k of EXEC_KEYS) {
      executions.push([k.id, k.id > 225 ? 15 : 12, `step-${k.id}`, k.id % 10 === 0 ? 4 : 3, k.id === 2 ? 'exec-ext-2' : null, k.c, k.u]);
      execProps.push([k.id, 'task_name', 1, null, `t${k.id % 3}`]);
      execProps.push([k.id, 'index', 1, k.id, null]);
    }
    await insertMany(db, 'Execution', ['id', 'type_id', 'name', 'last_known_state', 'external_id', 'create_time_since_epoch', 'last_update_time_since_epoch'], executions);
    await insertMany(db, 'ExecutionProperty', ['execution_id', 'name', 'is_custom_property', 'int_value', 'string_value'], execProps);
    await insertMany(
      db,
      'Association',
      ['context_id', 'execution_id'],
      EXEC_KEYS.map((k) => [execContext(k.id), k.id]),
    );

    const artifacts: Param[][] = [];
    const artProps: Param[][] = [];
    for (const k of ART_KEYS) {
      artifacts.push([k.id, artType(k.id), `s3://bucket/a/${k.id % 60}`, 2, `art-${k.id}`, k.id <= 3 ? `art-ext-${k.id}` : null, k.c, k.u]);
      if (artType(k.id) === 10) artProps.push([k.id, 'size', 0, k.id * 10]);
    }
    await insertMany(db, 'Artifact', ['id', 'type_id', 'uri', 'state', 'name', 'external_id', 'create_time_since_epoch', 'last_update_time_since_epoch'], artifacts);
    await insertMany(db, 'ArtifactProperty', ['artifact_id', 'name', 'is_custom_property', 'int_value'], artProps);
    await insertMany(
      db,
      'Attribution',
      ['context_id', 'artifact_id'],
      ART_KEYS.map((k) => [artContext(k.id), k.id]),
    );

    // A chain: execution i outputs artifact i, which execution i + 1 reads.
    const events: Param[][] = [];
    const paths: Param[][] = [];
    let eventId = 0;
    for (let i = 1; i <= 220; i++) {
      events.push([++eventId, i, i, 4, 70_000 + i]);
      paths.push([eventId, 0, null, 'out']);
      if (i < 220) {
        events.push([++eventId, i, i + 1, 3, 70_000 + i + 1]);
        paths.push([eventId, 0, null, 'in']);
      }
    }
    await insertMany(db, 'Event', ['id', 'artifact_id', 'execution_id', 'type', 'milliseconds_since_epoch'], events);
    await insertMany(db, 'EventPath', ['event_id', 'is_index_step', 'step_index', 'step_key'], paths);
  } finally {
    await db.close();
  }
}

const ids = (xs: Msg[] | undefined) => (xs ?? []).map((x) => Number(x.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, n) => from + n);

describe.each(MLMD_DIALECTS)('the Python client against an MLMD archive ($dialect)', ({ temp }) => {
  let database: TempDatabase;
  let shim: RunningShim;
  let client: MlmdTestClient;
  let py: ReturnType<typeof pythonStore>;

  beforeAll(async () => {
    database = await temp('shimpy');
    await buildArchive(database.url);
    shim = await startShim({ mlmdUrl: database.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
    client = mlmdClient(shim.port);
    py = pythonStore(client);
  });

  afterAll(async () => {
    client?.close();
    await shim?.close();
    await database?.drop();
  });

  describe('types', () => {
    it('get_*_types: every type but the built-in mlmd.* ones, without external_id', async () => {
      const artifactTypes = await py.getArtifactTypes();
      expect(artifactTypes.map((t) => [t.id, t.name])).toEqual([
        ['10', 'system.Dataset'],
        ['11', 'system.Model'],
      ]);
      expect(artifactTypes[0]).toEqual({ id: '10', name: 'system.Dataset', description: 'datasets', properties: { size: 'INT' }, base_type: 'DATASET' });
      expect((await py.getExecutionTypes()).map((t) => [t.id, t.version ?? null])).toEqual([
        ['12', null],
        ['15', 'v2'],
      ]);
      expect(ids(await py.getContextTypes())).toEqual([13, 14]);
    });

    it('get_*_type(name, version): the type with external_id and base_type; NOT_FOUND (errors.NotFoundError) when missing', async () => {
      expect(await py.getArtifactType('system.Dataset')).toEqual({
        id: '10',
        name: 'system.Dataset',
        description: 'datasets',
        external_id: 'type-ext-dataset',
        properties: { size: 'INT' },
        base_type: 'DATASET',
      });
      const exec = await py.getExecutionType('system.ContainerExecution');
      expect(exec.id).toBe('12');
      expect(exec.input_type).toEqual({ simple: { name: 'system.Dataset' }, kind: 'simple' });
      expect((await py.getExecutionType('system.ContainerExecution', 'v2')).id).toBe('15');
      expect((await py.getContextType('system.PipelineRun')).external_id).toBe('type-ext-run');
      for (const [rpc, request] of [
        ['GetArtifactType', { type_name: 'nope' }],
        ['GetExecutionType', { type_name: 'system.ContainerExecution', type_version: 'v3' }],
        ['GetContextType', { type_name: 'system.Dataset' }],
      ] as const) {
        expect((await client.fail(rpc, request)).code, rpc).toBe(grpc.status.NOT_FOUND);
      }
    });

    it('get_*_types_by_id: request order, unknown and other-kind ids skipped', async () => {
      expect(ids(await py.getArtifactTypesById([11, 12, 10, 99]))).toEqual([11, 10]);
      expect(ids(await py.getExecutionTypesById([15, 12]))).toEqual([15, 12]);
      expect(ids(await py.getContextTypesById([]))).toEqual([]);
    });

    it('get_*_types_by_external_ids: the matching types as MLMD selects them; NOT_FOUND when none match', async () => {
      expect(await py.getArtifactTypesByExternalIds(['type-ext-dataset', 'nope'])).toEqual([
        { id: '10', name: 'system.Dataset', description: 'datasets', external_id: 'type-ext-dataset', properties: { size: 'INT' } },
      ]);
      // MLMD's select by external id has no input_type/output_type columns.
      expect(await py.getExecutionTypesByExternalIds(['type-ext-exec'])).toEqual([{ id: '12', name: 'system.ContainerExecution', external_id: 'type-ext-exec' }]);
      expect(ids(await py.getContextTypesByExternalIds(['type-ext-run']))).toEqual([13]);
      expect((await client.fail('GetContextTypesByExternalIds', { external_ids: ['nope'] })).code).toBe(grpc.status.NOT_FOUND);
      expect(await py.getArtifactTypesByExternalIds([])).toEqual([]);
    });
  });

  describe('listings with the client paging loop', () => {
    it('get_artifacts(): one request without options, every artifact in id order', async () => {
      const { rows, requests } = await py.getArtifacts();
      expect(requests).toEqual([{}]);
      expect(ids(rows)).toEqual(range(1, ARTIFACTS));
    });

    it('get_artifacts(ListOptions()): pages of 100 in id order, each artifact once, until the token is gone', async () => {
      const { rows, requests } = await py.getArtifacts({});
      expect(ids(rows)).toEqual(range(1, ARTIFACTS));
      expect(requests).toHaveLength(3);
      expect(requests[0]).toEqual({ options: { max_result_size: 100, order_by_field: { is_asc: true } } });
      expect(requests[2]!.options.next_page_token).toEqual(expect.any(String));
    });

    it('get_executions(ListOptions(limit=150)): 100, then the 50 left; limit=5 sends max_result_size 5', async () => {
      const limited = await py.getExecutions({ limit: 150 });
      expect(ids(limited.rows)).toEqual(range(1, 150));
      expect(limited.requests.map((r) => r.options.max_result_size)).toEqual([100, 50]);
      const five = await py.getExecutions({ limit: 5, orderBy: 'CREATE_TIME', isAsc: false });
      expect(five.requests).toEqual([{ options: { max_result_size: 5, order_by_field: { is_asc: false, field: 'CREATE_TIME' } } }]);
      expect(ids(five.rows)).toEqual(ordered(EXEC_KEYS, 'CREATE_TIME', false).slice(0, 5));
    });

    it.each([
      ['CREATE_TIME', true],
      ['CREATE_TIME', false],
      ['LAST_UPDATE_TIME', true],
      ['LAST_UPDATE_TIME', false],
      ['ID', false],
    ] as const)('get_executions / get_artifacts ordered by %s (is_asc=%s): ties by id, each row exactly once', async (field, asc) => {
      const executions = await py.getExecutions({ orderBy: field, isAsc: asc });
      expect(ids(executions.rows)).toEqual(ordered(EXEC_KEYS, field, asc));
      expect(executions.requests).toHaveLength(3);
      const artifacts = await py.getArtifacts({ orderBy: field, isAsc: asc, limit: 230 });
      expect(ids(artifacts.rows)).toEqual(ordered(ART_KEYS, field, asc).slice(0, 230));
      expect(artifacts.requests.map((r) => r.options.max_result_size)).toEqual([100, 100, 30]);
    });

    it('a filter_query is sent with every page and applies to each', async () => {
      const { rows, requests } = await py.getExecutions({ filterQuery: "custom_properties.task_name.string_value = 't1'", orderBy: 'CREATE_TIME' });
      const want = ordered(
        EXEC_KEYS.filter((k) => k.id % 3 === 1),
        'CREATE_TIME',
        true,
      );
      expect(ids(rows)).toEqual(want);
      expect(requests).toHaveLength(1);
      const many = await py.getArtifacts({ filterQuery: "type = 'system.Dataset' AND state = LIVE", isAsc: false });
      expect(ids(many.rows)).toEqual(range(1, ARTIFACTS).filter((j) => j % 2 === 0).reverse());
      expect(many.requests).toHaveLength(2);
      expect(many.requests.every((r) => r.options.filter_query === "type = 'system.Dataset' AND state = LIVE")).toBe(true);
    });

    it('get_contexts(ListOptions(limit=2)) and get_contexts()', async () => {
      const two = await py.getContexts({ limit: 2, orderBy: 'LAST_UPDATE_TIME', isAsc: false });
      expect(ids(two.rows)).toEqual([2, 3]);
      expect(ids((await py.getContexts()).rows)).toEqual([1, 2, 3]);
    });

    it('get_executions_by_context(id): the default newest-first pages, ties by id, each execution once', async () => {
      const { rows, requests } = await py.getExecutionsByContext(2);
      const inContext = EXEC_KEYS.filter((k) => execContext(k.id) === 2);
      expect(ids(rows)).toEqual(ordered(inContext, 'CREATE_TIME', false));
      expect(requests).toHaveLength(3);
      expect(requests[0]).toEqual({ context_id: 2, options: { max_result_size: 100, order_by_field: { is_asc: false, field: 'CREATE_TIME' } } });
      expect(ids((await py.getExecutionsByContext(3)).rows)).toEqual(ordered(EXEC_KEYS.filter((k) => execContext(k.id) === 3), 'CREATE_TIME', false));
      expect((await py.getExecutionsByContext(999)).rows).toEqual([]);
      const limited = await py.getExecutionsByContext(2, { limit: 120, orderBy: 'LAST_UPDATE_TIME' });
      expect(ids(limited.rows)).toEqual(ordered(inContext, 'LAST_UPDATE_TIME', true).slice(0, 120));
    });

    it('get_artifacts_by_context(id): without list options every artifact at once; with them in pages', async () => {
      const all = await py.getArtifactsByContext(2);
      expect(all.requests).toEqual([{ context_id: 2 }]);
      expect(ids(all.rows)).toEqual(range(1, 200));
      const paged = await py.getArtifactsByContext(2, { orderBy: 'CREATE_TIME' });
      expect(ids(paged.rows)).toEqual(ordered(ART_KEYS.filter((k) => artContext(k.id) === 2), 'CREATE_TIME', true));
      expect(paged.requests).toHaveLength(2);
    });
  });

  describe('node lookups', () => {
    it('get_*_by_type(name, version): everything at once, no token; an unknown type is an empty list', async () => {
      const r = await client.call('GetArtifactsByType', { type_name: 'system.Dataset' });
      expect(r.next_page_token).toBeUndefined();
      expect(ids(r.artifacts)).toEqual(range(1, ARTIFACTS).filter((j) => j % 2 === 0));
      expect(ids(await py.getExecutionsByType('system.ContainerExecution'))).toEqual(range(1, 225));
      expect(ids(await py.getExecutionsByType('system.ContainerExecution', 'v2'))).toEqual(range(226, 230));
      expect(ids(await py.getContextsByType('system.PipelineRun'))).toEqual([2, 3]);
      expect(await py.getArtifactsByType('nope')).toEqual([]);
    });

    it('get_*_by_type_and_name: the node, or None (no field in the answer)', async () => {
      expect((await py.getArtifactByTypeAndName('system.Model', 'art-7'))?.id).toBe('7');
      expect(await py.getArtifactByTypeAndName('system.Dataset', 'art-7')).toBeNull();
      expect((await py.getExecutionByTypeAndName('system.ContainerExecution', 'step-228', 'v2'))?.id).toBe('228');
      expect(await py.getExecutionByTypeAndName('system.ContainerExecution', 'step-228')).toBeNull();
      expect((await py.getContextByTypeAndName('system.PipelineRun', 'run-b'))?.id).toBe('3');
      expect(await py.getContextByTypeAndName('nope', 'run-b')).toBeNull();
    });

    it('get_artifacts_by_uri(uri) sends uris=[uri]', async () => {
      expect(ids(await py.getArtifactsByUri('s3://bucket/a/7'))).toEqual([7, 67, 127, 187]);
      expect(await py.getArtifactsByUri('s3://none')).toEqual([]);
    });

    it('get_*_by_id: the nodes that exist, by id', async () => {
      const [a] = await py.getArtifactsById([2]);
      expect(a).toEqual({
        id: '2',
        type_id: '10',
        type: 'system.Dataset',
        uri: 's3://bucket/a/2',
        state: 'LIVE',
        name: 'art-2',
        external_id: 'art-ext-2',
        properties: { size: { int_value: '20', value: 'int_value' } },
        create_time_since_epoch: String(artCreate(2)),
        last_update_time_since_epoch: String(artUpdate(2)),
      });
      expect(ids(await py.getArtifactsById([5, 999, 3]))).toEqual([3, 5]);
      expect(ids(await py.getExecutionsById([230, 1]))).toEqual([1, 230]);
      expect(ids(await py.getContextsById([]))).toEqual([]);
    });

    it('get_artifacts_and_types_by_artifact_ids: each type once, in the order the artifacts first use it', async () => {
      const { artifacts, types } = await py.getArtifactsAndTypesByArtifactIds([1, 2, 3, 4]);
      expect(ids(artifacts)).toEqual([1, 2, 3, 4]);
      // Artifact 1 is a model (type 11), artifact 2 a dataset (type 10). The types carry what the
      // node query joins (name, version, description, external_id) and their properties.
      expect(types).toEqual([
        { id: '11', name: 'system.Model' },
        { id: '10', name: 'system.Dataset', description: 'datasets', external_id: 'type-ext-dataset', properties: { size: 'INT' } },
      ]);
      expect(await py.getArtifactsAndTypesByArtifactIds([])).toEqual({ artifacts: [], types: [] });
    });

    it('get_*_by_external_ids: the matches; NOT_FOUND (errors.NotFoundError) when none', async () => {
      expect(ids(await py.getArtifactsByExternalIds(['art-ext-3', 'art-ext-1', 'nope']))).toEqual([1, 3]);
      expect(ids(await py.getExecutionsByExternalIds(['exec-ext-2']))).toEqual([2]);
      expect(ids(await py.getContextsByExternalIds(['ctx-ext-2']))).toEqual([2]);
      expect((await client.fail('GetArtifactsByExternalIds', { external_ids: ['nope'] })).code).toBe(grpc.status.NOT_FOUND);
      expect(await py.getExecutionsByExternalIds([])).toEqual([]);
    });
  });

  describe('edges', () => {
    it('get_events_by_execution_ids / get_events_by_artifact_ids', async () => {
      const events = await py.getEventsByExecutionIds([3]);
      expect(events).toEqual([
        { artifact_id: '2', execution_id: '3', type: 'INPUT', path: { steps: [{ key: 'in', value: 'key' }] }, milliseconds_since_epoch: '70003' },
        { artifact_id: '3', execution_id: '3', type: 'OUTPUT', path: { steps: [{ key: 'out', value: 'key' }] }, milliseconds_since_epoch: '70003' },
      ]);
      expect((await py.getEventsByArtifactIds([220])).map((e) => [e.execution_id, e.type])).toEqual([['220', 'OUTPUT']]);
      expect(await py.getEventsByExecutionIds([])).toEqual([]);
    });

    it('get_contexts_by_artifact / _execution: the contexts; NOT_FOUND when the node has none', async () => {
      expect(ids(await py.getContextsByArtifact(201))).toEqual([3]);
      expect(ids(await py.getContextsByExecution(5))).toEqual([2]);
      expect((await client.fail('GetContextsByArtifact', { artifact_id: 999 })).code).toBe(grpc.status.NOT_FOUND);
      expect((await client.fail('GetContextsByExecution', { execution_id: 999 })).code).toBe(grpc.status.NOT_FOUND);
    });

    it('get_parent_contexts_by_context / get_children_contexts_by_context: an empty list, not an error, when none', async () => {
      expect(ids(await py.getParentContextsByContext(3))).toEqual([1]);
      expect(ids(await py.getChildrenContextsByContext(1))).toEqual([2, 3]);
      expect(await py.getParentContextsByContext(1)).toEqual([]);
      expect(await py.getChildrenContextsByContext(999)).toEqual([]);
    });
  });

  describe('lineage', () => {
    it('get_lineage_subgraph: a dehydrated skeleton, then the client hydrates it by id', async () => {
      const g = await py.getLineageSubgraph({ starting_artifacts: { filter_query: 'id = 10' }, max_num_hops: 2 });
      // Two hops from artifact 10: its producer (execution 10) and reader (11), and their artifacts.
      expect(ids(g.skeleton.artifacts)).toEqual([9, 10, 11]);
      expect(g.skeleton.artifacts[0]).toEqual({ id: '9' });
      expect(ids(g.skeleton.executions)).toEqual([10, 11]);
      expect(ids(g.skeleton.contexts)).toEqual([2]);
      // MLMD leaves out what the mask does not name, and never fills parent_contexts here.
      expect(g.skeleton.artifact_types).toBeUndefined();
      expect(g.skeleton.parent_contexts).toBeUndefined();
      expect(g.skeleton.events.map((e: Msg) => `${e.artifact_id}:${e.execution_id}:${e.type}`).sort()).toEqual(['10:10:OUTPUT', '10:11:INPUT', '11:11:OUTPUT', '9:10:INPUT']);
      expect(g.skeleton.attributions).toHaveLength(3);
      expect(g.skeleton.associations).toHaveLength(2);
      expect(ids(g.artifacts)).toEqual([9, 10, 11]);
      expect(g.artifacts[1]!.uri).toBe('s3://bucket/a/10');
      expect(ids(g.artifactTypes)).toEqual([11, 10]);
      expect(ids(g.executions)).toEqual([10, 11]);
      expect(ids(g.executionTypes)).toEqual([12]);
      expect(ids(g.contexts)).toEqual([2]);
      expect(ids(g.contextTypes)).toEqual([13]);
    });

    it('get_lineage_subgraph: NOT_FOUND when the starting filter matches nothing, INVALID_ARGUMENT without a filter', async () => {
      const paths = ['artifacts', 'executions', 'contexts', 'events', 'attributions', 'associations', 'parent_contexts'];
      const call = (options: Msg) => client.fail('GetLineageSubgraph', { lineage_subgraph_query_options: options, read_mask: { paths } });
      expect((await call({ starting_executions: { filter_query: 'id = 100000' } })).code).toBe(grpc.status.NOT_FOUND);
      expect((await call({ starting_executions: {} })).code).toBe(grpc.status.INVALID_ARGUMENT);
    });
  });

  it('a bad filter_query in list options is INVALID_ARGUMENT (errors.InvalidArgumentError)', async () => {
    const e = await listLikePython(client, 'GetArtifacts', 'artifacts', {}, { filterQuery: 'uri == 1' }).then(
      () => null,
      (err: grpc.ServiceError) => err,
    );
    expect(e?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

// ------------------------------------------------------------------ the KFP tables

// KFP_DIALECTS: every server a KFP database runs on holds the MLMD database as well.
describe.each(KFP_DIALECTS)('the Python client against the KFP tables ($dialect)', ({ dialect, temp }) => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  const shims: RunningShim[] = [];
  const clients: MlmdTestClient[] = [];

  const serve = async () => {
    const shim = await startShim({ kfpUrl: kfp.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
    shims.push(shim);
    const client = mlmdClient(shim.port);
    clients.push(client);
    return { client, py: pythonStore(client) };
  };

  beforeAll(async () => {
    mlmd = await temp(`shimpy_mlmd_${dialect}`);
    kfp = await temp(`shimpy_kfp_${dialect}`);
    await seedUrls(mlmd.url, kfp.url, { runs: 14, seed: 11, hostile: true });
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, batchSize: 4 });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of shims) await s.close();
    await mlmd?.drop();
    await kfp?.drop();
  });

  /** The listings the client pages through must answer what one call without options answers. */
  async function pagedAsWhole(py: ReturnType<typeof pythonStore>): Promise<void> {
    for (const [name, list] of [
      ['executions', py.getExecutions],
      ['artifacts', py.getArtifacts],
      ['contexts', py.getContexts],
    ] as const) {
      const whole = ids((await list()).rows);
      expect(whole.length, name).toBeGreaterThan(0);
      expect(ids((await list({})).rows), name).toEqual(whole);
      expect(ids((await list({ limit: 10 })).rows), name).toEqual(whole.slice(0, 10));
      expect(ids((await list({ isAsc: false, limit: 150 })).rows), name).toEqual([...whole].reverse().slice(0, 150));
      const byCreate = (await list({ orderBy: 'CREATE_TIME', isAsc: false })).rows;
      expect(ids(byCreate).sort((a, b) => a - b), name).toEqual(whole);
      const key = (x: Msg) => [Number(x.create_time_since_epoch ?? 0), Number(x.id)];
      for (let i = 1; i < byCreate.length; i++) {
        const [c0, id0] = key(byCreate[i - 1]!);
        const [c1, id1] = key(byCreate[i]!);
        expect(c0! > c1! || (c0 === c1 && id0! > id1!), `${name} at ${i}`).toBe(true);
      }
    }
  }

  it('the paging loop answers every node once, in order, over several pages', async () => {
    const { py } = await serve();
    expect(ids((await py.getExecutions()).rows).length).toBeGreaterThan(MAX_NUM_RESULT);
    await pagedAsWhole(py);
    const run = (await py.getContextsByType('system.PipelineRun'))[0]!;
    const newestFirst = await py.getExecutionsByContext(Number(run.id));
    const whole = await listLikePython(clients[0]!, 'GetExecutionsByContext', 'executions', { context_id: run.id });
    expect(ids(newestFirst.rows).sort((a, b) => a - b)).toEqual(ids(whole.rows));
  });

  it('after a run is deleted from KFP, its leftover ids do not cut pages short', async () => {
    const { py: before } = await serve();
    const firstExecution = ids((await before.getExecutions({ limit: 1 })).rows)[0]!;
    const runContext = (await before.getContextsByExecution(firstExecution)).find((c) => c.type === 'system.PipelineRun')!;
    const db = await openDb(kfp.url);
    try {
      // What KFP's run deletion leaves: the run's rows are gone, the migration's id map is not.
      await db.run('DELETE FROM artifact_tasks WHERE `RunUUID` = ?', [runContext.name]);
      await db.run('DELETE FROM tasks WHERE `RunUUID` = ?', [runContext.name]);
      await db.run('DELETE FROM run_details WHERE `UUID` = ?', [runContext.name]);
    } finally {
      await db.close();
    }
    const { py } = await serve();
    expect(ids((await py.getExecutions()).rows)).not.toContain(firstExecution);
    await pagedAsWhole(py);
  });
});

// ------------------------------------------------------------------ lock conflicts

/** A genuine "database is locked" from SQLite: a reader that may not wait meets an exclusive writer. */
async function sqliteLockError(): Promise<unknown> {
  const file = await tempSqlite('locked');
  const path = file.url.slice('sqlite:'.length);
  const writer = new Database(path);
  const reader = new Database(path);
  try {
    writer.exec('PRAGMA journal_mode = DELETE; CREATE TABLE t (v INTEGER); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);');
    reader.pragma('busy_timeout = 0');
    try {
      reader.prepare('SELECT * FROM t').all();
    } catch (e) {
      return e;
    }
    throw new Error('the read was not refused');
  } finally {
    writer.close();
    reader.close();
    await file.drop();
  }
}

type Query = (sql: string) => Promise<unknown>;

/** Two transactions that each wait for the other's row: the server picks one and fails it with its deadlock error. */
async function crossedRowLocks(a: Query, b: Query): Promise<unknown> {
  await a('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
  await a('INSERT INTO t VALUES (1, 0), (2, 0)');
  await a('BEGIN');
  await b('BEGIN');
  await a('UPDATE t SET v = 1 WHERE id = 1');
  await b('UPDATE t SET v = 1 WHERE id = 2');
  const first = a('UPDATE t SET v = 2 WHERE id = 2').then(
    () => null,
    (e: unknown) => e,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const second = await b('UPDATE t SET v = 2 WHERE id = 1').then(
    () => null,
    (e: unknown) => e,
  );
  const error = second ?? (await first);
  if (!error) throw new Error('no deadlock');
  await a('ROLLBACK').catch(() => undefined);
  await b('ROLLBACK').catch(() => undefined);
  await first;
  return error;
}

interface Session {
  query: Query;
  end(): Promise<void>;
}

/** The crossed row locks on two sessions of a scratch database of one server; the database is dropped after. */
async function deadlockOn(temp: (prefix: string) => Promise<TempDatabase>, open: (database: string) => Promise<Session>): Promise<unknown> {
  const database = await temp('deadlock');
  const name = database.url.slice(database.url.lastIndexOf('/') + 1);
  const sessions: Session[] = [];
  try {
    sessions.push(await open(name), await open(name));
    return await crossedRowLocks(sessions[0]!.query, sessions[1]!.query);
  } finally {
    for (const s of sessions) await s.end();
    await database.drop();
  }
}

/** A genuine deadlock from MariaDB (InnoDB, errno 1213). */
const mysqlDeadlockError = () =>
  deadlockOn(tempMariaDb, async (database) => {
    const c = await mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER, database });
    return { query: (sql) => c.query(sql), end: () => c.end() };
  });

/** A genuine deadlock from PostgreSQL (SQLSTATE 40P01). */
const postgresDeadlockError = () =>
  deadlockOn(tempPostgres, async (database) => {
    const c = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database });
    await c.connect();
    return { query: (sql) => c.query(sql), end: () => c.end() };
  });

describe('lock conflicts', () => {
  it('are ABORTED, which the client retries (errors.AbortedError), as MLMD answers them', async () => {
    const locked = await sqliteLockError();
    const deadlock = await mysqlDeadlockError();
    const pgDeadlock = await postgresDeadlockError();
    expect((locked as { code?: string }).code).toBe('SQLITE_BUSY');
    expect((deadlock as { errno?: number }).errno).toBe(1213);
    expect((pgDeadlock as { code?: string }).code).toBe('40P01');
    expect(toRpcError(locked).status).toBe('ABORTED');
    expect(toRpcError(deadlock).status).toBe('ABORTED');
    // Upstream MLMD's PostgreSQL source answers every failed statement INTERNAL; the shim keeps PostgreSQL's lock
    // conflicts retryable, as MLMD does on SQLite and MySQL (docs/shim.md).
    expect(toRpcError(pgDeadlock).status).toBe('ABORTED');
    expect(toRpcError(new Error('no such table: Artifact')).status).toBe('INTERNAL');

    // Over the wire: a backend whose database refuses the read.
    const database = await tempSqlite('aborted');
    await buildArchive(database.url);
    const real = await openMlmdBackend(database.url);
    const failing: ShimBackend = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'types') return async () => Promise.reject(locked);
        return Reflect.get(target, prop, receiver);
      },
    });
    const server = await startGrpc({
      host: '127.0.0.1',
      port: 0,
      methods: shimServiceDefinition(DEFAULT_LIMITS.maxIdsPerRequest),
      runner: new CallRunner(mlmdHandlers(failing), silentLogger, DEFAULT_LIMITS),
    });
    const client = mlmdClient(server.port);
    try {
      const e = await client.fail('GetArtifactTypes', {});
      expect(e.code).toBe(grpc.status.ABORTED);
      expect(ids((await client.call('GetContexts', {})).contexts)).toEqual([1, 2, 3]);
    } finally {
      client.close();
      server.forceClose();
      await real.close();
      await database.drop();
    }
  });
});
