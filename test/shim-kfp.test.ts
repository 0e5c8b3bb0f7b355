// The shim over the KFP tables (--kfp) and over both sources, end to end on seeded and migrated
// data: a real @grpc/grpc-js client on loopback, SQLite and MariaDB. The differential test asks
// the KFP UI's questions (kfp-facts.md §E.1) of the shim over the migrated tables and of the shim
// over the original MLMD database, and requires the same answers up to the documented lossy codes.
import type { ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, type Param } from '../src/db/connection.ts';
import { insertMany } from '../src/db/insert.ts';
import { readRunDetails } from '../src/extract/run-details.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { seedDatabases, type SeedReport } from '../src/seed/index.ts';
import { KfpBackend } from '../src/shim/kfp-backend.ts';
import { KfpRunCache } from '../src/shim/kfp-runs.ts';
import { ShimIdStore } from '../src/shim/kfp-ids.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { compareRun, type Difference } from '../src/transform/compare.ts';
import type { MlmdType, Reject, RunBundle } from '../src/transform/model.ts';
import type { MlmdView } from '../src/transform/reverse.ts';
import { IO_TYPE } from '../src/transform/rules.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase, watchReads } from './helpers/databases.ts';
import { artifactOf, contextOf, eventOf, executionOf, type MlmdTestClient, mlmdClient, type Msg } from './helpers/grpc-client.ts';

const RUNS = 14;

async function seedAndMigrate(mlmdUrl: string, kfpUrl: string): Promise<SeedReport> {
  const mlmd = await openDb(mlmdUrl, { create: true, ...MLMD_IDENTIFIERS });
  const kfp = await openDb(kfpUrl, { create: true });
  let report: SeedReport;
  try {
    report = await seedDatabases(mlmd, kfp, { runs: RUNS, seed: 11, hostile: true });
  } finally {
    await mlmd.close();
    await kfp.close();
  }
  await migrate({ mlmdUrl, kfpUrl, batchSize: 4 });
  return report;
}

const start = (o: { kfpUrl?: string; mlmdUrl?: string }) => startShim({ ...o, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
const ids = (xs: Msg[] | undefined) => (xs ?? []).map((x) => Number(x.id));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** What a legacy client learns about one run by the KFP UI's call sequence, as records. */
interface RunAnswers {
  runContext: ReturnType<typeof contextOf> | null;
  pipelineContext: ReturnType<typeof contextOf> | null;
  executions: ReturnType<typeof executionOf>[];
  executionsById: ReturnType<typeof executionOf>[];
  artifacts: ReturnType<typeof artifactOf>[];
  artifactsByContextIds: number[];
  events: ReturnType<typeof eventOf>[];
  types: MlmdType[];
}

async function uiSequence(client: MlmdTestClient, runUuid: string): Promise<RunAnswers> {
  const empty: RunAnswers = { runContext: null, pipelineContext: null, executions: [], executionsById: [], artifacts: [], artifactsByContextIds: [], events: [], types: [] };
  const ctx = await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: runUuid });
  if (!ctx.context) return empty;
  const runContext = contextOf(ctx.context);
  const execs = (await client.call('GetExecutionsByContext', { context_id: runContext.id })).executions ?? [];
  const byContext = (await client.call('GetArtifactsByContext', { context_id: runContext.id })).artifacts ?? [];
  const execIds = ids(execs);
  const events = execIds.length > 0 ? ((await client.call('GetEventsByExecutionIDs', { execution_ids: execIds })).events ?? []) : [];
  const linked = [...new Set(events.map((e: Msg) => Number(e.artifact_id)))];
  const artifacts = linked.length > 0 ? ((await client.call('GetArtifactsByID', { artifact_ids: linked })).artifacts ?? []) : [];
  const executionsById = execIds.length > 0 ? ((await client.call('GetExecutionsByID', { execution_ids: execIds })).executions ?? []) : [];
  const contexts = execIds.length > 0 ? ((await client.call('GetContextsByExecution', { execution_id: execIds[0] })).contexts ?? []) : [];
  const pipeline = contexts.find((c: Msg) => c.type === 'system.Pipeline');
  const types: MlmdType[] = [];
  for (const [rpc, field, typeKind] of [
    ['GetExecutionTypes', 'execution_types', 0],
    ['GetArtifactTypes', 'artifact_types', 1],
    ['GetContextTypes', 'context_types', 2],
  ] as const) {
    for (const t of (await client.call(rpc))[field] ?? []) types.push({ id: Number(t.id), name: t.name, typeKind, version: t.version ?? null });
  }
  return {
    runContext,
    pipelineContext: pipeline ? contextOf(pipeline) : null,
    executions: execs.map(executionOf),
    executionsById: executionsById.map(executionOf),
    artifacts: artifacts.map(artifactOf),
    artifactsByContextIds: sorted(ids(byContext)),
    events: events.map(eventOf),
    types,
  };
}

async function storedRejects(kfp: Db, runUuid: string): Promise<Reject[]> {
  const rows = await kfp.all<Record<string, unknown>>('SELECT code, disposition, entity, mlmd_id, reason FROM mlmd_bridge_rejects WHERE run_key = ?', [runUuid]);
  return rows.map((r) => ({
    code: String(r.code),
    disposition: String(r.disposition) as Reject['disposition'],
    entity: String(r.entity) as Reject['entity'],
    mlmdId: Number(r.mlmd_id),
    runUuid,
    reason: String(r.reason),
  }));
}

async function eventRowIds(mlmd: Db, executionIds: number[]): Promise<Map<string, number>> {
  if (executionIds.length === 0) return new Map();
  const rows = await mlmd.all<Record<string, unknown>>(
    `SELECT id, artifact_id, execution_id, type FROM Event WHERE execution_id IN (${executionIds.map(() => '?').join(', ')})`,
    executionIds,
  );
  return new Map(rows.map((r) => [`${Number(r.artifact_id)}|${Number(r.execution_id)}|${Number(r.type)}`, Number(r.id)]));
}

/** The gRPC port the CLI announced on stdout, once it has. */
const stdoutOf = new WeakMap<ChildProcess, string>();
async function listeningPort(child: ChildProcess): Promise<number> {
  if (!stdoutOf.has(child)) {
    stdoutOf.set(child, '');
    child.stdout!.on('data', (d) => stdoutOf.set(child, stdoutOf.get(child) + String(d)));
  }
  const m = /gRPC on [^:]+:(\d+)/.exec(stdoutOf.get(child) ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Makes a KFP-3-native run: a copy of a migrated run under new UUIDs (run_details, tasks, artifacts,
 * links), as if KFP 3 had executed it after the cut-over. No id-map row names any of it.
 */
async function copyRunAsNative(url: string, template: string, tag: string): Promise<string> {
  const db = await openDb(url);
  const fresh = (old: string) => `${tag}-${old}`.slice(0, 36);
  const insert = async (table: string, row: Record<string, unknown>) => {
    const cols = Object.keys(row);
    await db.run(`INSERT INTO ${table} (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, Object.values(row) as never);
  };
  try {
    const runUuid = fresh(template);
    const [run] = await db.all<Record<string, unknown>>('SELECT * FROM run_details WHERE `UUID` = ?', [template]);
    await insert('run_details', { ...run, UUID: runUuid, DisplayName: `native copy ${tag}` });
    const tasks = await db.all<Record<string, unknown>>('SELECT * FROM tasks WHERE `RunUUID` = ?', [template]);
    const done = new Set<string>();
    while (done.size < tasks.length) {
      for (const t of tasks) {
        const uuid = String(t.UUID);
        if (done.has(uuid) || (t.ParentTaskUUID !== null && !done.has(String(t.ParentTaskUUID)))) continue;
        await insert('tasks', { ...t, UUID: fresh(uuid), RunUUID: runUuid, ParentTaskUUID: t.ParentTaskUUID === null ? null : fresh(String(t.ParentTaskUUID)), LogicalKey: null });
        done.add(uuid);
      }
    }
    const links = await db.all<Record<string, unknown>>('SELECT * FROM artifact_tasks WHERE `RunUUID` = ?', [template]);
    const artifactIds = [...new Set(links.map((l) => String(l.ArtifactID)))];
    for (const a of await db.all<Record<string, unknown>>(`SELECT * FROM artifacts WHERE \`UUID\` IN (${artifactIds.map(() => '?').join(', ')})`, artifactIds)) {
      await insert('artifacts', { ...a, UUID: fresh(String(a.UUID)), IdentityKey: null });
    }
    for (const l of links) {
      await insert('artifact_tasks', { ...l, UUID: fresh(String(l.UUID)), ArtifactID: fresh(String(l.ArtifactID)), TaskID: fresh(String(l.TaskID)), RunUUID: runUuid });
    }
    return runUuid;
  } finally {
    await db.close();
  }
}

const describeDifference = (run: string, d: Difference) =>
  `run ${run}: ${d.entity} ${d.mlmdId} ${d.field}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.found)}`;

describe.each(KFP_DIALECTS)('shim over the KFP tables ($dialect)', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  const shims: RunningShim[] = [];
  const clients: MlmdTestClient[] = [];
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  let report: SeedReport;
  let kfpDb: Db;
  let mlmdDb: Db;
  let viaKfp: MlmdTestClient;
  let viaMlmd: MlmdTestClient;
  let viaBoth: MlmdTestClient;
  let kfpShim: RunningShim;

  const client = (shim: RunningShim) => {
    const c = mlmdClient(shim.port);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    mlmd = await temp(`shimkfp_mlmd_${dialect}`);
    kfp = await temp(`shimkfp_kfp_${dialect}`);
    dbs.push(mlmd, kfp);
    report = await seedAndMigrate(mlmd.url, kfp.url);
    kfpDb = await openDb(kfp.url, { readOnly: true });
    mlmdDb = await openDb(mlmd.url, { readOnly: true, ...MLMD_IDENTIFIERS });
    kfpShim = await start({ kfpUrl: kfp.url });
    const mlmdShim = await start({ mlmdUrl: mlmd.url });
    const bothShim = await start({ kfpUrl: kfp.url, mlmdUrl: mlmd.url });
    shims.push(kfpShim, mlmdShim, bothShim);
    viaKfp = client(kfpShim);
    viaMlmd = client(mlmdShim);
    viaBoth = client(bothShim);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of shims) await s.close();
    await kfpDb?.close();
    await mlmdDb?.close();
    for (const d of dbs) await d.drop();
  });

  it("answers MLMD's cache_fingerprint for a task whose tasks.Fingerprint holds its KFP 3 key", async () => {
    const tasks = await kfpDb.all<{ mlmd_id: number; Fingerprint: string }>(
      "SELECT m.mlmd_id, t.`Fingerprint` FROM tasks t JOIN mlmd_id_map m ON m.kind = 'execution' AND m.kfp_uuid = t.`UUID` WHERE t.`Fingerprint` <> '' ORDER BY m.mlmd_id",
    );
    let keys = 0;
    for (const t of tasks) {
      const [stored] = await mlmdDb.all<{ v: string }>("SELECT string_value AS v FROM ExecutionProperty WHERE execution_id = ? AND name = 'cache_fingerprint'", [Number(t.mlmd_id)]);
      const [answer] = (await viaKfp.call('GetExecutionsByID', { execution_ids: [Number(t.mlmd_id)] })).executions ?? [];
      expect(executionOf(answer).customProperties.cache_fingerprint, `execution ${t.mlmd_id}`).toEqual({ kind: 'string', value: stored!.v });
      if (t.Fingerprint !== stored!.v) keys++;
    }
    // Most of them hold a KFP 3 key (custom keys and fingerprints that did not reproduce hold MLMD's).
    expect(keys).toBeGreaterThan(tasks.length / 2);
  });

  it('differential: every run answers the UI call sequence as the MLMD original does, up to documented losses', async () => {
    let compared = 0;
    for (const run of report.runs) {
      const source = await uiSequence(viaMlmd, run.uuid);
      const found = await uiSequence(viaKfp, run.uuid);
      const rejects = await storedRejects(kfpDb, run.uuid);
      if (!source.runContext) throw new Error(`the archive has no run context for seeded run ${run.uuid}`);
      if (!found.runContext) {
        // Only a run the migration skipped may be missing, and it must say why.
        expect(rejects.map((r) => r.code), `run ${run.uuid} is missing from the KFP shim`).toContain('ORPHAN_RUN');
        continue;
      }
      const details = (await readRunDetails(kfpDb, [run.uuid])).get(run.uuid) ?? null;
      // Event ids are not on the wire; MLMD keys an event by (artifact, execution, type), which
      // names its row, and the rejects name events by that row id.
      const eventIds = await eventRowIds(mlmdDb, source.executions.map((e) => e.id));
      for (const e of source.events) e.id = eventIds.get(`${e.artifactId}|${e.executionId}|${e.type}`) ?? 0;
      const bundle: RunBundle = {
        runContext: source.runContext,
        pipelineContext: source.pipelineContext,
        runDetails: details,
        executions: source.executions,
        events: source.events,
        artifacts: source.artifacts,
        artifactOrigins: {},
      };
      const contextIds = [found.runContext.id, ...(found.pipelineContext ? [found.pipelineContext.id] : [])];
      // Association and attribution are read the way a client reads them: contexts of each node.
      const associations: MlmdView['associations'] = [];
      for (const e of found.executions) {
        for (const c of (await viaKfp.call('GetContextsByExecution', { execution_id: e.id })).contexts ?? []) associations.push({ contextId: Number(c.id), executionId: e.id });
      }
      const attributions: MlmdView['attributions'] = [];
      for (const a of found.artifacts) {
        for (const c of (await viaKfp.call('GetContextsByArtifact', { artifact_id: a.id })).contexts ?? []) {
          if (contextIds.includes(Number(c.id))) attributions.push({ contextId: Number(c.id), artifactId: a.id });
        }
      }
      const parents = (await viaKfp.call('GetParentContextsByContext', { context_id: found.runContext.id })).contexts ?? [];
      const view: MlmdView = {
        contexts: [found.runContext, ...(found.pipelineContext ? [found.pipelineContext] : [])],
        executions: found.executions,
        artifacts: found.artifacts,
        events: found.events,
        associations,
        attributions,
        parentContexts: parents.map((p: Msg) => ({ childId: found.runContext!.id, parentId: Number(p.id) })),
        types: found.types,
        corrupt: [],
        artifactIdOfRow: new Map(),
      };
      expect(found.executions.length, `run ${run.uuid} has executions`).toBeGreaterThan(0);
      expect(found.pipelineContext?.name, `run ${run.uuid}: pipeline context`).toBe(source.pipelineContext?.name);
      const drift = compareRun(bundle, view, { rejects }).filter((d) => d.code === 'DRIFT');
      expect(drift.map((d) => describeDifference(run.uuid, d))).toEqual([]);

      // Answers that must agree exactly, whatever the mapping loses.
      expect(found.executionsById, `run ${run.uuid}: GetExecutionsByID = GetExecutionsByContext`).toEqual(found.executions);
      expect(found.artifactsByContextIds, `run ${run.uuid}: GetArtifactsByContext = the linked artifacts`).toEqual(sorted(found.artifacts.map((a) => a.id)));
      const sourceTypes = new Map(source.types.map((t) => [t.id, t]));
      for (const r of [...found.executions, ...found.artifacts, ...view.contexts]) {
        expect(sourceTypes.get(r.typeId)?.name, `run ${run.uuid}: type ${r.typeId} of ${r.id}`).toBe(r.type);
      }
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(RUNS - 1);
  }, 120_000);

  describe('every read RPC over the KFP tables', () => {
    let runContextIds: number[];
    let runExecutionIds: number[];
    let runArtifactIds: number[];

    beforeAll(async () => {
      runContextIds = [];
      runExecutionIds = [];
      runArtifactIds = [];
      for (const run of report.runs) {
        const ctx = (await viaKfp.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: run.uuid })).context;
        if (!ctx) continue;
        runContextIds.push(Number(ctx.id));
        runExecutionIds.push(...ids((await viaKfp.call('GetExecutionsByContext', { context_id: ctx.id })).executions));
        runArtifactIds.push(...ids((await viaKfp.call('GetArtifactsByContext', { context_id: ctx.id })).artifacts));
      }
      runArtifactIds = [...new Set(runArtifactIds)];
    });

    it('type reads keep the MLMD type ids; an unknown type is NOT_FOUND', async () => {
      for (const name of ['system.PipelineRun', 'system.Pipeline']) {
        const k = (await viaKfp.call('GetContextType', { type_name: name })).context_type;
        const m = (await viaMlmd.call('GetContextType', { type_name: name })).context_type;
        expect(k.id).toBe(m.id);
      }
      const exec = (await viaKfp.call('GetExecutionType', { type_name: 'system.ContainerExecution' })).execution_type;
      const byId = (await viaKfp.call('GetExecutionTypesByID', { type_ids: [exec.id, exec.id, '999999'] })).execution_types;
      expect(byId.map((t: Msg) => t.name)).toEqual(['system.ContainerExecution', 'system.ContainerExecution']);
      const err = await viaKfp.fail('GetArtifactType', { type_name: 'no.such.Type' });
      expect(err.code).toBe(grpc.status.NOT_FOUND);
    });

    it('GetExecutions / GetArtifacts / GetContexts without options answer every node of every run, and nothing of TFX or KFP v1', async () => {
      const execs = ids((await viaKfp.call('GetExecutions')).executions);
      expect(execs).toEqual(sorted(execs));
      expect(new Set(execs)).toEqual(new Set(runExecutionIds));
      const arts = ids((await viaKfp.call('GetArtifacts')).artifacts);
      expect(new Set(arts)).toEqual(new Set(runArtifactIds));
      const contexts = ids((await viaKfp.call('GetContexts')).contexts);
      for (const id of runContextIds) expect(contexts).toContain(id);
      const nonKfp = report.hostile.filter((h) => h.code === 'NON_KFP_EXECUTION').map((h) => Number(h.mlmdId));
      expect(nonKfp.length).toBeGreaterThan(0);
      for (const id of nonKfp) {
        expect(execs).not.toContain(id);
      }
    });

    it('pages through all nodes in id order and by create time, with tokens, without gaps or repeats', async () => {
      const all = ids((await viaKfp.call('GetArtifacts')).artifacts);
      const pageThrough = async (order?: Msg) => {
        const seen: Msg[] = [];
        let token: string | undefined;
        for (let i = 0; i < 100; i++) {
          const options: Msg = { max_result_size: 7, ...(order ? { order_by_field: order } : {}), ...(token ? { next_page_token: token } : {}) };
          const page = await viaKfp.call('GetArtifacts', { options });
          seen.push(...(page.artifacts ?? []));
          token = page.next_page_token || undefined;
          if (!token) break;
        }
        return seen;
      };
      expect(ids(await pageThrough())).toEqual(all);
      const byCreate = await pageThrough({ field: 'CREATE_TIME', is_asc: false });
      expect(sorted(ids(byCreate))).toEqual(all);
      const times = byCreate.map((a) => Number(a.create_time_since_epoch));
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('by type, by type and name, by URI, by external id', async () => {
      const all = (await viaKfp.call('GetExecutions')).executions as Msg[];
      const containers = all.filter((e) => e.type === 'system.ContainerExecution');
      expect(containers.length).toBeGreaterThan(0);
      expect(ids((await viaKfp.call('GetExecutionsByType', { type_name: 'system.ContainerExecution' })).executions)).toEqual(ids(containers));
      const runCtx = (await viaKfp.call('GetContextsByType', { type_name: 'system.PipelineRun' })).contexts;
      expect(sorted(ids(runCtx))).toEqual(sorted(runContextIds));
      const pipeline = (await viaKfp.call('GetContextsByID', { context_ids: [runContextIds[0]] })).contexts[0];
      const parent = (await viaKfp.call('GetParentContextsByContext', { context_id: pipeline.id })).contexts[0];
      const byName = (await viaKfp.call('GetContextByTypeAndName', { type_name: 'system.Pipeline', context_name: parent.name })).context;
      expect(byName.id).toBe(parent.id);
      expect(await viaKfp.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: 'no-such-run' })).toEqual({});

      const artifacts = (await viaKfp.call('GetArtifacts')).artifacts as Msg[];
      const withUri = artifacts.find((a) => a.uri);
      const byUri = (await viaKfp.call('GetArtifactsByURI', { uris: [withUri!.uri] })).artifacts;
      expect(ids(byUri)).toContain(Number(withUri!.id));
      expect(byUri.every((a: Msg) => a.uri === withUri!.uri)).toBe(true);
      expect((await viaKfp.fail('GetExecutionsByExternalIds', { external_ids: ['x'] })).code).toBe(grpc.status.NOT_FOUND);
    });

    it('edges: events by artifact, contexts of an artifact, parent and children contexts', async () => {
      const artifactId = runArtifactIds[0]!;
      const events = (await viaKfp.call('GetEventsByArtifactIDs', { artifact_ids: [artifactId] })).events as Msg[];
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => Number(e.artifact_id) === artifactId)).toBe(true);
      const byExecution = (await viaKfp.call('GetEventsByExecutionIDs', { execution_ids: [events[0]!.execution_id] })).events as Msg[];
      expect(byExecution.some((e) => Number(e.artifact_id) === artifactId)).toBe(true);
      const contexts = (await viaKfp.call('GetContextsByArtifact', { artifact_id: artifactId })).contexts as Msg[];
      expect(contexts.map((c) => c.type).sort()).toEqual(expect.arrayContaining(['system.Pipeline', 'system.PipelineRun']));
      const pipeline = contexts.find((c) => c.type === 'system.Pipeline')!;
      const children = ids((await viaKfp.call('GetChildrenContextsByContext', { context_id: pipeline.id })).contexts);
      const run = contexts.find((c) => c.type === 'system.PipelineRun')!;
      expect(children).toContain(Number(run.id));
      // protobufjs keys an int64 map by the 8-byte hash of the number.
      const batched = (await viaKfp.call('GetParentContextsByContexts', { context_ids: [run.id] })).contexts as Msg;
      const byKey = Object.fromEntries(Object.entries(batched).map(([k, v]) => [protobuf.util.longFromHash(k, false).toString(), v])) as Msg;
      expect(ids(byKey[run.id].parent_contexts)).toEqual([Number(pipeline.id)]);
      expect((await viaKfp.fail('GetContextsByExecution', { execution_id: 987654321 })).code).toBe(grpc.status.NOT_FOUND);
    });

    it('filter_query and lineage work over the reversed records', async () => {
      const filtered = (await viaKfp.call('GetExecutions', { options: { max_result_size: 100, filter_query: "type = 'system.DAGExecution'" } })).executions as Msg[];
      expect(filtered.length).toBeGreaterThan(0);
      expect(filtered.every((e) => e.type === 'system.DAGExecution')).toBe(true);
      const artifactId = runArtifactIds[0]!;
      const lineage = (
        await viaKfp.call('GetLineageSubgraph', {
          lineage_subgraph_query_options: { starting_artifacts: { filter_query: `id = ${artifactId}` }, max_num_hops: 2 },
        })
      ).lineage_subgraph;
      expect(ids(lineage.artifacts)).toContain(artifactId);
      expect(lineage.executions.length).toBeGreaterThan(0);
    });

    it('serves health and server reflection on the gRPC port', async () => {
      const health = protoLoader.loadSync(new URL('../proto/grpc/health/v1/health.proto', import.meta.url).pathname, { keepCase: true, enums: String });
      const Health = (grpc.loadPackageDefinition(health) as any).grpc.health.v1.Health;
      const h = new Health(`127.0.0.1:${kfpShim.port}`, grpc.credentials.createInsecure());
      const status = await new Promise<Msg>((res, rej) => h.Check({ service: 'ml_metadata.MetadataStoreService' }, (e: Error | null, r: Msg) => (e ? rej(e) : res(r))));
      h.close();
      expect(status.status).toBe('SERVING');

      const reflectionProto = new URL('../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url).pathname;
      const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { keepCase: true })) as any;
      const r = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${kfpShim.port}`, grpc.credentials.createInsecure());
      const names = await new Promise<string[]>((res, rej) => {
        const call = r.ServerReflectionInfo();
        call.on('data', (m: Msg) => {
          res((m.list_services_response?.service ?? []).map((x: Msg) => x.name));
          call.end();
        });
        call.on('error', rej);
        call.write({ list_services: '*' });
      });
      r.close();
      expect(names).toEqual(expect.arrayContaining(['ml_metadata.MetadataStoreService', 'grpc.health.v1.Health']));
    });
  });

  describe('both sources at once', () => {
    it('serves TFX and KFP v1 data from the archive, KFP runs from the KFP tables', async () => {
      const nonKfpContexts = report.hostile.filter((h) => h.code === 'NON_KFP_CONTEXT').map((h) => Number(h.mlmdId));
      expect(nonKfpContexts.length).toBeGreaterThan(0);
      const fromArchive = (await viaMlmd.call('GetContextsByID', { context_ids: nonKfpContexts })).contexts as Msg[];
      expect(fromArchive.length).toBe(nonKfpContexts.length);
      for (const c of fromArchive) {
        const req = { type_name: c.type, context_name: c.name };
        expect(await viaKfp.call('GetContextByTypeAndName', req)).toEqual({});
        expect((await viaBoth.call('GetContextByTypeAndName', req)).context).toEqual(c);
        expect(await viaBoth.call('GetExecutionsByContext', { context_id: c.id })).toEqual(await viaMlmd.call('GetExecutionsByContext', { context_id: c.id }));
      }
      const tfxTypes = (await viaMlmd.call('GetExecutionTypes')).execution_types.filter((t: Msg) => String(t.name).startsWith('tfx.'));
      expect(tfxTypes.length).toBeGreaterThan(0);
      const bothTypes = (await viaBoth.call('GetExecutionTypes')).execution_types.map((t: Msg) => t.name);
      for (const t of tfxTypes) expect(bothTypes).toContain(t.name);

      // KFP rows win: where the KFP view differs from the archive (e.g. the ROOT state comes from
      // run_details), the layered shim answers the KFP view.
      let differing = 0;
      for (const run of report.runs) {
        const req = { type_name: 'system.PipelineRun', context_name: run.uuid };
        const k = (await viaKfp.call('GetContextByTypeAndName', req)).context;
        if (!k) continue;
        expect((await viaBoth.call('GetContextByTypeAndName', req)).context).toEqual(k);
        const kExecs = await viaKfp.call('GetExecutionsByContext', { context_id: k.id });
        const bExecs = await viaBoth.call('GetExecutionsByContext', { context_id: k.id });
        const mExecs = await viaMlmd.call('GetExecutionsByContext', { context_id: k.id });
        expect(bExecs).toEqual(kExecs);
        if (JSON.stringify(kExecs) !== JSON.stringify(mExecs)) differing++;
        const execIds = ids(kExecs.executions);
        expect(await viaBoth.call('GetEventsByExecutionIDs', { execution_ids: execIds })).toEqual(await viaKfp.call('GetEventsByExecutionIDs', { execution_ids: execIds }));
      }
      expect(differing).toBeGreaterThan(0);
      const all = ids((await viaBoth.call('GetExecutions')).executions);
      for (const id of report.hostile.filter((h) => h.code === 'NON_KFP_EXECUTION').map((h) => Number(h.mlmdId))) expect(all).toContain(id);
    });
  });

  describe('KFP-3-native rows', () => {
    let template: string;
    let max: { execution: number; artifact: number; context: number };

    const answer = async (c: MlmdTestClient, runUuid: string) => {
      const ctx = (await c.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: runUuid })).context;
      if (!ctx) throw new Error(`no run context for ${runUuid}`);
      const executions = ids((await c.call('GetExecutionsByContext', { context_id: ctx.id })).executions);
      const artifacts = ids((await c.call('GetArtifactsByContext', { context_id: ctx.id })).artifacts);
      return { context: Number(ctx.id), executions: sorted(executions), artifacts: sorted(artifacts) };
    };

    beforeAll(async () => {
      const rows = await kfpDb.all<{ RunUUID: string; n: unknown }>('SELECT `RunUUID`, COUNT(*) AS n FROM tasks GROUP BY `RunUUID` ORDER BY COUNT(*) DESC, `RunUUID`');
      template = rows[0]!.RunUUID;
      const m = async (table: string) => Number((await mlmdDb.all<{ m: unknown }>(`SELECT MAX(id) AS m FROM ${table}`))[0]!.m);
      max = { execution: await m('Execution'), artifact: await m('Artifact'), context: await m('Context') };
    });

    it('get ids above every MLMD id on first sight, the same on every later call and from another shim', async () => {
      const native = await copyRunAsNative(kfp.url, template, 'n1');
      const first = await answer(viaBoth, native);
      expect(first.executions.length).toBeGreaterThan(1);
      expect(first.artifacts.length).toBeGreaterThan(0);
      expect(first.context).toBeGreaterThan(max.context);
      for (const id of first.executions) expect(id).toBeGreaterThan(max.execution);
      for (const id of first.artifacts) expect(id).toBeGreaterThan(max.artifact);
      expect(await answer(viaBoth, native)).toEqual(first);
      expect(await answer(viaKfp, native)).toEqual(first);
      const second = await start({ kfpUrl: kfp.url });
      shims.push(second);
      expect(await answer(client(second), native)).toEqual(first);
      // The native run shows the same shape as its migrated template, with its own ids.
      const t = await answer(viaKfp, template);
      expect(first.executions.length).toBe(t.executions.length);
      const events = (await viaKfp.call('GetEventsByExecutionIDs', { execution_ids: first.executions })).events as Msg[];
      expect(events.length).toBeGreaterThan(0);
      for (const e of events) expect(first.artifacts).toContain(Number(e.artifact_id));
    });

    it('two shims allocating at the same moment agree, and ids never repeat', async () => {
      const a = await copyRunAsNative(kfp.url, template, 'n2');
      const b = await copyRunAsNative(kfp.url, template, 'n3');
      const s1 = await start({ kfpUrl: kfp.url, mlmdUrl: mlmd.url });
      const s2 = await start({ kfpUrl: kfp.url, mlmdUrl: mlmd.url });
      shims.push(s1, s2);
      const [c1, c2] = [client(s1), client(s2)];
      const [a1, b2, a2, b1] = await Promise.all([answer(c1, a), answer(c2, b), answer(c2, a), answer(c1, b)]);
      expect(a2).toEqual(a1);
      expect(b1).toEqual(b2);
      expect(new Set([...a1.executions, ...b1.executions]).size).toBe(a1.executions.length + b1.executions.length);
      expect(new Set([...a1.artifacts, ...b1.artifacts]).size).toBe(a1.artifacts.length + b1.artifacts.length);
    });

    it('are listed by GetExecutions / GetArtifacts even before anyone asked for their run', async () => {
      const unseen = await copyRunAsNative(kfp.url, template, 'n4');
      const listed = new Set(ids((await viaKfp.call('GetExecutions')).executions));
      const listedArtifacts = new Set(ids((await viaKfp.call('GetArtifacts')).artifacts));
      const shown = await answer(viaKfp, unseen);
      for (const id of shown.executions) expect(listed.has(id), `execution ${id}`).toBe(true);
      for (const id of shown.artifacts) expect(listedArtifacts.has(id), `artifact ${id}`).toBe(true);
    });
  });

  it('answers whole-run questions with a number of queries that does not grow with the rows asked for', async () => {
    const counted = await openDb(kfp.url, { readOnly: true });
    const writer = await openDb(kfp.url);
    let queries = 0;
    const counting = watchReads(counted, () => queries++);
    const backend = new KfpBackend(counting, writer, await ShimIdStore.open(writer), true);
    try {
      const execIdsOf = async (uuids: string[]) => {
        const out: number[] = [];
        for (const u of uuids) {
          const ctx = (await viaKfp.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: u })).context;
          if (ctx) out.push(...ids((await viaKfp.call('GetExecutionsByContext', { context_id: ctx.id })).executions));
        }
        return out;
      };
      const migrated = (await kfpDb.all<{ kfp_uuid: string }>("SELECT kfp_uuid FROM mlmd_id_map WHERE kind = 'run_context'")).map((r) => r.kfp_uuid);
      const one = await execIdsOf(migrated.slice(0, 1));
      const all = await execIdsOf(migrated);
      expect(all.length).toBeGreaterThan(5 * one.length);
      const cost = async (fn: () => Promise<unknown>) => {
        backend.clear();
        queries = 0;
        await fn();
        return queries;
      };
      await cost(() => backend.events('execution', one)); // the first call also reads the column catalog once
      const eventsOne = await cost(() => backend.events('execution', one));
      const eventsAll = await cost(() => backend.events('execution', all));
      expect(eventsAll).toBe(eventsOne);
      const nodesAll = await cost(() => backend.nodes('execution', all));
      expect(nodesAll).toBe(await cost(() => backend.nodes('execution', one)));
      expect(nodesAll).toBeLessThan(20);
      const [runContext] = await kfpDb.all<{ mlmd_id: unknown }>("SELECT mlmd_id FROM mlmd_id_map WHERE kind = 'run_context' AND kfp_uuid = ?", [migrated[0]!]);
      const byContext = await cost(() => backend.nodeKeys('execution', { by: 'context', contextId: Number(runContext!.mlmd_id) }));
      expect(byContext).toBeLessThan(20);
    } finally {
      await backend.close();
    }
  });

  it('a call that waits on other calls\' loads gets every run they load, and their failure rather than an empty answer', async () => {
    const migrated = (await kfpDb.all<{ kfp_uuid: string }>("SELECT kfp_uuid FROM mlmd_id_map WHERE kind = 'run_context' ORDER BY kfp_uuid")).map((r) => r.kfp_uuid);
    const [slow, fast] = migrated as [string, string];
    const reader = await openDb(kfp.url, { readOnly: true });
    const writer = await openDb(kfp.url);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let failSlow = false;
    // Reads that name the slow run wait until released: the fast run's load finishes first.
    const gated = watchReads(reader, async (_sql, params) => {
      if (!params.includes(slow)) return;
      await held;
      if (failSlow) throw new Error('the database went away');
    });
    const cache = new KfpRunCache(gated, await ShimIdStore.open(writer));
    try {
      const loadSlow = cache.views([slow]);
      const loadFast = cache.views([fast]);
      const both = cache.views([slow, fast]); // waits on the two loads above, loads nothing itself
      expect([...(await loadFast).keys()]).toEqual([fast]);
      release();
      expect([...(await loadSlow).keys()]).toEqual([slow]);
      expect([...(await both).keys()].sort()).toEqual([slow, fast].sort());

      cache.clear();
      failSlow = true;
      const failing = cache.views([slow]);
      const waiter = cache.views([slow, fast]);
      await expect(failing).rejects.toThrow('the database went away');
      await expect(waiter).rejects.toThrow('the database went away');
    } finally {
      release();
      await reader.close();
      await writer.close();
    }
  });

  it("remembers the run it shows a shared artifact from, and asks again once that run no longer links it", async () => {
    // An artifact that more than one run links (a cached output), with its MLMD id.
    const [shared] = await kfpDb.all<{ ArtifactID: string; mlmd_id: unknown }>(
      "SELECT l.`ArtifactID`, m.mlmd_id FROM artifact_tasks l JOIN mlmd_id_map m ON m.kind = 'artifact' AND m.kfp_uuid = l.`ArtifactID` " +
        'GROUP BY l.`ArtifactID`, m.mlmd_id HAVING COUNT(DISTINCT l.`RunUUID`) > 1 ORDER BY l.`ArtifactID`',
    );
    expect(shared, 'the hostile seed has an artifact linked by two runs').toBeDefined();
    const artifactId = Number(shared!.mlmd_id);
    const counted = await openDb(kfp.url, { readOnly: true });
    const writer = await openDb(kfp.url);
    const homeQueries: string[] = [];
    // Home-run queries that ask about this artifact (loading a run also asks about the other artifacts it links).
    const counting = watchReads(counted, (sql, params) => {
      if (/group by [`"]artifact_tasks[`"]\.[`"]ArtifactID[`"]/i.test(sql) && params.includes(shared!.ArtifactID)) homeQueries.push(sql);
    });
    const backend = new KfpBackend(counting, writer, await ShimIdStore.open(writer), true);
    const saved = await kfpDb.all<Record<string, unknown>>('SELECT * FROM artifact_tasks WHERE `ArtifactID` = ?', [shared!.ArtifactID]);
    try {
      const first = await backend.nodes('artifact', [artifactId]);
      expect(first.map((a) => a.id)).toEqual([artifactId]);
      expect(homeQueries).toHaveLength(1);
      backend.runs.clear();
      const again = await backend.nodes('artifact', [artifactId]);
      expect(again).toEqual(first);
      expect(homeQueries, 'the second call is answered from memory').toHaveLength(1);

      // The remembered run loses its links to the artifact: the backend must find another run.
      const [home] = await kfpDb.all<{ RunUUID: string }>(
        'SELECT MIN(`RunUUID`) AS `RunUUID` FROM artifact_tasks WHERE `ArtifactID` = ?',
        [shared!.ArtifactID],
      );
      const produced = await kfpDb.all<{ RunUUID: string }>(
        `SELECT \`RunUUID\` FROM artifact_tasks WHERE \`ArtifactID\` = ? AND \`Type\` BETWEEN ${IO_TYPE.ITERATOR_OUTPUT} AND ${IO_TYPE.TASK_FINAL_STATUS_OUTPUT} ORDER BY \`RunUUID\``,
        [shared!.ArtifactID],
      );
      const remembered = produced[0]?.RunUUID ?? home!.RunUUID;
      await writer.run('DELETE FROM artifact_tasks WHERE `ArtifactID` = ? AND `RunUUID` = ?', [shared!.ArtifactID, remembered]);
      backend.runs.clear();
      const moved = await backend.nodes('artifact', [artifactId]);
      expect(moved.map((a) => a.id)).toEqual([artifactId]);
      expect(homeQueries, 'asked again once, for the artifact its remembered run no longer shows').toHaveLength(2);
    } finally {
      await writer.run('DELETE FROM artifact_tasks WHERE `ArtifactID` = ?', [shared!.ArtifactID]);
      await insertMany(writer, 'artifact_tasks', Object.keys(saved[0]!), saved.map((r) => Object.values(r) as Param[]));
      await backend.close();
    }
  });

  it('mlmd-bridge shim: --help says where to point the UI; serves until SIGTERM, then exits 0', async () => {
    const help = await runCli(['shim', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('METADATA_ENVOY_SERVICE_SERVICE_HOST');
    expect(help.stdout).toContain('mlmd_bridge_shim_ids');
    const { child, done } = startCli(['shim', '--port', '0', '--grpc-web-port', '0', '--host', '127.0.0.1'], { KFP_DB_URL: kfp.url, MLMD_DB_URL: '' });
    let port = 0;
    for (let i = 0; i < 200 && port === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const out = await Promise.race([done.then((r) => r.stdout), Promise.resolve(null)]);
      if (out !== null) throw new Error(`the shim exited early: ${out}`);
      port = await listeningPort(child);
    }
    expect(port).toBeGreaterThan(0);
    const c = mlmdClient(port);
    const types = (await c.call('GetContextTypes')).context_types.map((t: Msg) => t.name);
    c.close();
    expect(types).toContain('system.PipelineRun');
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('shim stopped');
  }, 30_000);
});
