import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type Db, openDb, type Row } from '../src/db/connection.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { type SeedReport, seedDatabases } from '../src/seed/index.ts';
import { decodeMlmdStruct, mlmdStruct } from '../src/seed/struct-value.ts';
import { MLMD_DIALECTS, type TempDatabase } from './helpers/databases.ts';

const MLMD_TABLES = ['Type', 'TypeProperty', 'Context', 'ContextProperty', 'ParentContext', 'Execution', 'ExecutionProperty',
  'Artifact', 'ArtifactProperty', 'Event', 'EventPath', 'Association', 'Attribution', 'MLMDEnv'];
const KFP_TABLES = ['experiments', 'run_details', 'tasks'];

type Prop = { int: number | null; double: number | null; string: string | null };
type Props = Map<number, Record<string, Prop>>;

interface Seeded {
  mlmd: Db;
  kfp: Db;
  report: SeedReport;
  temps: TempDatabase[];
}

async function seeded(temp: (p: string) => Promise<TempDatabase>, runs: number, seed: number, hostile: boolean, schemaVersion?: 8 | 9 | 10): Promise<Seeded> {
  const tm = await temp('seed_mlmd');
  const tk = await temp('seed_kfp');
  const mlmd = await openDb(tm.url, { ...MLMD_IDENTIFIERS, create: true });
  const kfp = await openDb(tk.url, { create: true });
  const report = await seedDatabases(mlmd, kfp, { runs, seed, hostile, ...(schemaVersion ? { schemaVersion } : {}) });
  return { mlmd, kfp, report, temps: [tm, tk] };
}

async function release(s: Seeded | undefined): Promise<void> {
  if (!s) return;
  await s.mlmd.close();
  await s.kfp.close();
  for (const t of s.temps) await t.drop();
}

/** Every row of every table, as sorted JSON lines: an order-independent picture of the database. */
async function dump(db: Db, tables: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const rows = await db.all(`SELECT * FROM \`${t}\``);
    out[t] = rows.map((r) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]))).sort();
  }
  return out;
}

async function properties(db: Db, table: 'ExecutionProperty' | 'ArtifactProperty' | 'ContextProperty', owner: string): Promise<Props> {
  const rows = await db.all<Row>(`SELECT \`${owner}\` AS id, name, int_value, double_value, string_value FROM \`${table}\``);
  const out: Props = new Map();
  for (const r of rows) {
    const id = Number(r.id);
    const rec = out.get(id) ?? {};
    rec[String(r.name)] = {
      int: r.int_value === null ? null : Number(r.int_value),
      double: r.double_value === null ? null : Number(r.double_value),
      string: r.string_value === null ? null : String(r.string_value),
    };
    out.set(id, rec);
  }
  return out;
}

interface Exec {
  id: number;
  type: string;
  state: number;
  name: string | null;
  p: Record<string, Prop>;
}

async function executions(db: Db): Promise<Exec[]> {
  const props = await properties(db, 'ExecutionProperty', 'execution_id');
  const rows = await db.all<Row>('SELECT e.id, t.name AS type, e.last_known_state AS state, e.name FROM Execution e JOIN Type t ON t.id = e.type_id ORDER BY e.id');
  return rows.map((r) => ({ id: Number(r.id), type: String(r.type), state: Number(r.state), name: r.name === null ? null : String(r.name), p: props.get(Number(r.id)) ?? {} }));
}

async function events(db: Db): Promise<{ id: number; artifact: number; execution: number; type: number; key: string | null }[]> {
  const rows = await db.all<Row>(
    'SELECT ev.id, ev.artifact_id, ev.execution_id, ev.type, p.step_key FROM Event ev LEFT JOIN EventPath p ON p.event_id = ev.id ORDER BY ev.id',
  );
  return rows.map((r) => ({ id: Number(r.id), artifact: Number(r.artifact_id), execution: Number(r.execution_id), type: Number(r.type), key: r.step_key === null ? null : String(r.step_key) }));
}

const str = (p: Record<string, Prop>, k: string) => p[k]?.string ?? undefined;
const int = (p: Record<string, Prop>, k: string) => p[k]?.int ?? undefined;

it('encodes structs as MLMD does: "mlmd-struct::" + padded base64 of a serialized Struct', () => {
  // Struct{fields{"a": Value{number_value: 1}}} = 0a 0e | 0a 01 'a' | 12 09 | 11 <8-byte double 1.0>
  expect(mlmdStruct({ a: 1 })).toBe('mlmd-struct::Cg4KAWESCREAAAAAAADwPw==');
  expect(decodeMlmdStruct(mlmdStruct({ list: [1, 'x', { y: true }] }))).toEqual({ list: [1, 'x', { y: true }] });
});

describe.each(MLMD_DIALECTS)('seed on $dialect', ({ dialect, temp }) => {
  let a: Seeded | undefined;
  beforeAll(async () => {
    a = await seeded(temp, 12, 42, true);
  });
  afterAll(async () => {
    await release(a);
  });

  it('gives identical databases for the same seed and different ones for another seed', async () => {
    const b = await seeded(temp, 12, 42, true);
    const c = await seeded(temp, 12, 43, true);
    try {
      expect(await dump(b.mlmd, MLMD_TABLES)).toEqual(await dump(a!.mlmd, MLMD_TABLES));
      expect(await dump(b.kfp, KFP_TABLES)).toEqual(await dump(a!.kfp, KFP_TABLES));
      expect(b.report).toEqual(a!.report);
      expect(await dump(c.kfp, ['run_details'])).not.toEqual(await dump(a!.kfp, ['run_details']));
    } finally {
      await release(b);
      await release(c);
    }
  });

  it('refuses a database that already holds MLMD tables', async () => {
    await expect(seedDatabases(a!.mlmd, a!.kfp, { runs: 1, seed: 1 })).rejects.toThrow(/already has a `MLMDEnv` table/);
  });

  it('writes every KFP 2.x execution shape', async () => {
    const db = a!.mlmd;
    const execs = await executions(db);
    const byId = new Map(execs.map((e) => [e.id, e]));
    const evs = await events(db);
    const outputsOf = (id: number) => evs.filter((e) => e.execution === id && e.type === 4);

    // Root DAGs: named run/<uuid>, empty task_name, no parent, RUNNING forever — except that the
    // launchers of KFP 2.4–2.16 settled the root like any DAG whose container had ended.
    const roots = execs.filter((e) => e.name?.startsWith('run/'));
    expect(roots.length).toBe(a!.report.runs.length + 1); // + the orphan
    const eraOf = new Map(a!.report.runs.map((r) => [`run/${r.uuid}`, r.era]));
    const settlingRoots = new Set(['kfp-2.4', 'kfp-2.5', 'kfp-2.14', 'kfp-2.16']);
    expect(roots.some((r) => settlingRoots.has(eraOf.get(r.name!) ?? '') && r.state !== 2)).toBe(true);
    for (const r of roots) {
      expect(r.type).toBe('system.DAGExecution');
      if (!settlingRoots.has(eraOf.get(r.name!) ?? '')) expect(r.state).toBe(2);
      expect(str(r.p, 'task_name')).toBe('');
      expect(r.p.parent_dag_id).toBeUndefined();
    }

    // ParallelFor: iteration DAGs under a loop DAG with the same task_name.
    const iterations = execs.filter((e) => int(e.p, 'iteration_index') !== undefined);
    expect(iterations.length).toBeGreaterThanOrEqual(3);
    for (const it of iterations) {
      const loop = byId.get(int(it.p, 'parent_dag_id')!)!;
      expect(loop.type).toBe('system.DAGExecution');
      expect(str(loop.p, 'task_name')).toBe(str(it.p, 'task_name'));
      expect(int(loop.p, 'iteration_count')).toBeGreaterThan(int(it.p, 'iteration_index')!);
    }
    expect(execs.some((e) => int(e.p, 'iteration_count') === 3)).toBe(true);
    expect(execs.some((e) => int(e.p, 'iteration_count') === 0)).toBe(true);
    const untriggeredLoop = execs.find((e) => str(e.p, 'task_name')?.startsWith('for-loop') && e.state === 6);
    expect(untriggeredLoop?.p.iteration_count).toBeUndefined();
    // Nested loop: an iteration DAG whose loop sits inside another iteration DAG.
    expect(
      iterations.some((it) => {
        const loop = byId.get(int(it.p, 'parent_dag_id')!)!;
        const outer = byId.get(int(loop.p, 'parent_dag_id')!);
        return outer !== undefined && int(outer.p, 'iteration_index') !== undefined;
      }),
    ).toBe(true);

    // Not triggered: CANCELED, with inputs, without outputs.
    const canceled = execs.filter((e) => e.state === 6);
    expect(canceled.some((e) => str(e.p, 'task_name')?.startsWith('condition-'))).toBe(true);
    for (const c of canceled) {
      expect(str(c.p, 'inputs')?.startsWith('mlmd-struct::')).toBe(true);
      expect(c.p.outputs).toBeUndefined();
      expect(outputsOf(c.id)).toEqual([]);
    }
    // condition-branches-N holds two conditions, one taken and one not.
    const branches = execs.find((e) => str(e.p, 'task_name')?.startsWith('condition-branches-'))!;
    const branchKids = execs.filter((e) => int(e.p, 'parent_dag_id') === branches.id);
    expect(branchKids.map((k) => k.state).sort()).toEqual([3, 6]);

    // Cache hits: CACHED, cached_execution_id as a decimal string, outputs copied, OUTPUT events to the source's artifacts.
    const cached = execs.filter((e) => e.state === 5);
    expect(cached.length).toBeGreaterThan(0);
    for (const c of cached) {
      const srcId = str(c.p, 'cached_execution_id');
      expect(srcId).toMatch(/^\d+$/);
      expect(c.p.cached_execution_id!.int).toBeNull();
      const src = byId.get(Number(srcId))!;
      expect(src.state).toBe(3);
      expect(str(c.p, 'cache_fingerprint')).toBe(str(src.p, 'cache_fingerprint'));
      expect(str(c.p, 'outputs') ?? null).toBe(str(src.p, 'outputs') ?? null);
      expect(str(c.p, 'pod_name')).toBe('');
      const mine = outputsOf(c.id).map((e) => e.artifact).sort();
      expect(mine.length).toBeGreaterThan(0);
      expect(mine).toEqual(outputsOf(src.id).filter((e) => e.key !== 'executor-logs').map((e) => e.artifact).sort());
    }

    // Importers: both types, task_name = display name, empty display_name, no inputs, artifacts without display_name.
    const importers = execs.filter((e) => e.type.startsWith('system.Importer'));
    expect(new Set(importers.map((e) => e.type))).toEqual(new Set(['system.ImporterExecution', 'system.ImporterWorkspaceExecution']));
    const artProps = await properties(db, 'ArtifactProperty', 'artifact_id');
    for (const imp of importers) {
      expect(str(imp.p, 'display_name')).toBe('');
      expect(str(imp.p, 'task_name')).toMatch(/^Import /);
      expect(imp.p.inputs).toBeUndefined();
      for (const ev of outputsOf(imp.id)) expect(artProps.get(ev.artifact)?.display_name).toBeUndefined();
    }
    // One imported artifact is reused by a later run in another namespace.
    const runNamespace = await db.all<Row>(
      `SELECT a.execution_id AS id, cp.string_value AS ns FROM Association a JOIN Context c ON c.id = a.context_id
         JOIN Type t ON t.id = c.type_id AND t.name = 'system.PipelineRun'
         JOIN ContextProperty cp ON cp.context_id = c.id AND cp.name = 'namespace'`,
    );
    const nsOf = new Map(runNamespace.map((r) => [Number(r.id), String(r.ns)]));
    const importedBy = new Map<number, Set<string>>();
    for (const imp of importers) for (const ev of outputsOf(imp.id)) importedBy.set(ev.artifact, (importedBy.get(ev.artifact) ?? new Set()).add(nsOf.get(imp.id)!));
    expect([...importedBy.values()].some((s) => s.size >= 2)).toBe(true);

    // A failed container whose only output is executor-logs.
    expect(execs.some((e) => e.type === 'system.ContainerExecution' && e.state === 4 && outputsOf(e.id).map((x) => x.key).join() === 'executor-logs')).toBe(true);
    // A retried task: two executions with the same task_name and parent.
    const seen = new Map<string, Exec[]>();
    for (const e of execs.filter((x) => x.type === 'system.ContainerExecution')) {
      const k = `${str(e.p, 'task_name')}@${int(e.p, 'parent_dag_id')}`;
      seen.set(k, [...(seen.get(k) ?? []), e]);
    }
    expect([...seen.values()].some((v) => v.length === 2 && v[0]!.state === 4 && v[1]!.state === 3)).toBe(true);
    // dsl.Collected: several INPUT events with the same key on one execution.
    const inputKeys = new Map<string, number>();
    for (const e of evs.filter((x) => x.type === 3)) inputKeys.set(`${e.execution}:${e.key}`, (inputKeys.get(`${e.execution}:${e.key}`) ?? 0) + 1);
    expect(Math.max(...inputKeys.values())).toBeGreaterThanOrEqual(3);
    // exit-handler-N DAG, and the exit task hanging under the DAG that encloses the handler.
    const handler = execs.find((e) => str(e.p, 'task_name') === 'exit-handler-1')!;
    const exitTask = execs.find((e) => str(e.p, 'display_name') === 'Clean up')!;
    expect(int(exitTask.p, 'parent_dag_id')).toBe(int(handler.p, 'parent_dag_id'));
    // Old-style rows: DAGs left RUNNING without total_dag_tasks or producer tasks.
    expect(execs.some((e) => e.type === 'system.DAGExecution' && e.p.parent_dag_id && e.state === 2 && !e.p.total_dag_tasks)).toBe(true);
    expect(execs.some((e) => e.p.total_dag_tasks !== undefined)).toBe(true);
    expect(execs.some((e) => str(e.p, 'parameter_producer_task')?.startsWith('mlmd-struct::'))).toBe(true);
    expect(execs.some((e) => str(e.p, 'artifact_producer_task')?.includes('"artifact_selectors"'))).toBe(true);
    // Every KFP execution sits in two contexts; every event has one key step.
    const assoc = await db.all<Row>('SELECT execution_id AS id, COUNT(*) AS n FROM Association GROUP BY execution_id');
    const kfpIds = new Set(runNamespace.map((r) => Number(r.id)));
    for (const r of assoc) if (kfpIds.has(Number(r.id))) expect(Number(r.n)).toBe(2);
    const steps = await db.all<Row>('SELECT event_id, COUNT(*) AS n, MIN(CASE WHEN is_index_step THEN 1 ELSE 0 END) AS idx FROM EventPath GROUP BY event_id');
    expect(steps.length).toBe(evs.length);
    for (const s of steps) expect([Number(s.n), Number(s.idx)]).toEqual([1, 0]);
    // Millisecond timestamps.
    for (const e of await db.all<Row>('SELECT create_time_since_epoch AS c FROM Execution')) expect(Number(e.c)).toBeGreaterThan(1e12);
  });

  it('writes artifacts of every type with KFP-encoded metadata', async () => {
    const db = a!.mlmd;
    const artProps = await properties(db, 'ArtifactProperty', 'artifact_id');
    const rows = await db.all<Row>('SELECT a.id, t.name AS type, a.uri, a.state FROM Artifact a JOIN Type t ON t.id = a.type_id');
    const types = new Set(rows.map((r) => String(r.type)));
    for (const t of ['system.Artifact', 'system.Dataset', 'system.Model', 'system.Metrics', 'system.ClassificationMetrics',
      'system.SlicedClassificationMetrics', 'system.HTML', 'system.Markdown', 'google.VertexModel']) expect(types).toContain(t);
    const of = (type: string) => rows.filter((r) => r.type === type).map((r) => artProps.get(Number(r.id)) ?? {});
    expect(of('system.Metrics').some((p) => Object.values(p).filter((v) => v.double !== null).length >= 3)).toBe(true);
    const cls = of('system.ClassificationMetrics')[0]!;
    const conf = decodeMlmdStruct(str(cls, 'confidenceMetrics')!);
    expect(Object.keys(conf)).toEqual(['list']);
    expect(Array.isArray(conf.list) && conf.list.length).toBe(3);
    expect(Object.keys(decodeMlmdStruct(str(cls, 'confusionMatrix')!))).toEqual(['struct']);
    expect(Object.keys(decodeMlmdStruct(str(of('system.SlicedClassificationMetrics')[0]!, 'evaluationSlices')!))).toEqual(['list']);
    expect(of('system.Model').some((p) => str(p, 'framework') !== undefined && p.is_champion?.int === 0)).toBe(true);
    expect(of('system.Dataset').some((p) => p.has_header?.int === 1)).toBe(true);
    for (const r of rows) expect(Number(r.state)).toBe(2);
    // store_session_info on current rows, absent on pre-2024 ones.
    const withSession = [...artProps.values()].filter((p) => p.store_session_info);
    expect(withSession.length).toBeGreaterThan(0);
    expect(withSession.length).toBeLessThan(rows.length);
  });

  it('fills run_details, experiments and v1 cache rows consistently with MLMD', async () => {
    const runs = await a!.kfp.all<Row>('SELECT * FROM run_details');
    expect(runs.length).toBe(a!.report.runs.length);
    expect(new Set(runs.map((r) => r.State))).toEqual(new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'RUNNING']));
    expect(new Set(runs.map((r) => r.Namespace))).toEqual(new Set(['team-a', 'team-b', '']));
    const exps = await a!.kfp.all<Row>('SELECT `UUID`, `Namespace` FROM experiments');
    const expNs = new Map(exps.map((e) => [e.UUID, e.Namespace]));
    for (const r of runs) {
      expect(expNs.get(r.ExperimentUUID)).toBe(r.Namespace);
      expect(Number(r.FinishedAtInSec) === 0).toBe(r.State === 'RUNNING');
    }
    const execs = await executions(a!.mlmd);
    const byId = new Map(execs.map((e) => [e.id, e]));
    const tasks = await a!.kfp.all<Row>('SELECT * FROM tasks');
    const cacheRows = tasks.filter((t) => t.Fingerprint !== '');
    expect(cacheRows.length).toBeGreaterThan(0);
    expect(tasks.some((t) => t.Fingerprint === '' && t.MLMDExecutionID === '')).toBe(true);
    for (const t of cacheRows) {
      const e = byId.get(Number(t.MLMDExecutionID))!;
      expect(e.type).toBe('system.ContainerExecution');
      expect(e.state).toBe(3);
      expect(str(e.p, 'cache_fingerprint')).toBe(t.Fingerprint);
      expect(String(t.PipelineName)).toMatch(/^pipeline\//);
    }
  });

  it('writes pipeline specs in which every execution resolves to its task', async () => {
    const db = a!.mlmd;
    const execs = await executions(db);
    const byId = new Map(execs.map((e) => [e.id, e]));
    const dangling = new Set(a!.report.hostile.filter((h) => h.code === 'DANGLING_PARENT').map((h) => Number(h.mlmdId)));
    // The hostile run whose manifest is unreadable on purpose (checked in 'plants every hostile record it reports').
    const unreadable = new Set(a!.report.hostile.filter((h) => h.code === 'SPEC_UNREADABLE').map((h) => Number(h.mlmdId)));
    const runContextIds = new Map((await db.all<Row>("SELECT c.id, c.name FROM Context c JOIN Type t ON t.id = c.type_id WHERE t.name = 'system.PipelineRun'")).map((c) => [String(c.name), Number(c.id)]));
    const runs = (await a!.kfp.all<Row>('SELECT `UUID`, `PipelineSpecManifest` FROM run_details')).filter((r) => !unreadable.has(runContextIds.get(String(r.UUID))!));
    expect(unreadable.size).toBe(1);
    let byDisplayName = 0;
    let resolved = 0;
    for (const run of runs) {
      const docs = parseAllDocuments(String(run.PipelineSpecManifest));
      for (const d of docs) expect(d.errors).toEqual([]);
      const spec = docs[0]!.toJS() as any;
      const ctxExecs = await db.all<Row>(
        `SELECT a.execution_id AS id FROM Association a JOIN Context c ON c.id = a.context_id JOIN Type t ON t.id = c.type_id
          WHERE t.name = 'system.PipelineRun' AND c.name = ? ORDER BY a.execution_id`,
        [String(run.UUID)],
      );
      const comp = new Map<number, any>();
      for (const { id } of ctxExecs) {
        const e = byId.get(Number(id))!;
        if (e.name === `run/${run.UUID}`) {
          comp.set(e.id, spec.root);
          continue;
        }
        if (dangling.has(e.id)) continue;
        const parent = byId.get(int(e.p, 'parent_dag_id')!)!;
        expect(parent, `parent of ${e.id}`).toBeDefined();
        const parentComp = comp.get(parent.id);
        if (int(e.p, 'iteration_index') !== undefined) {
          comp.set(e.id, parentComp);
          continue;
        }
        const tasks = parentComp.dag.tasks as Record<string, any>;
        const tn = str(e.p, 'task_name')!;
        let task = tasks[tn];
        if (!task) {
          const matches = Object.values(tasks).filter((t: any) => t.taskInfo.name === tn);
          expect(matches.length, `task_name ${tn} of execution ${e.id}`).toBe(1);
          task = matches[0];
          if (!e.type.startsWith('system.Importer')) byDisplayName++;
        }
        resolved++;
        const c = spec.components[task.componentRef.name];
        expect(c, task.componentRef.name).toBeDefined();
        comp.set(e.id, c);
        if (e.type === 'system.DAGExecution') {
          expect(c.dag).toBeDefined();
          if (int(e.p, 'iteration_count') !== undefined) expect(task.parameterIterator.itemInput).toBeTruthy();
          if (e.state === 6) expect(task.triggerPolicy.condition).toBeTruthy();
        } else {
          const executor = spec.deploymentSpec.executors[c.executorLabel];
          if (e.type.startsWith('system.Importer')) expect(executor.importer.typeSchema.schemaTitle).toBeTruthy();
          else expect(executor.container.image).toBeTruthy();
          expect(str(e.p, 'display_name') === '' || str(e.p, 'display_name') === task.taskInfo.name).toBe(true);
        }
      }
    }
    expect(resolved).toBeGreaterThan(50);
    expect(byDisplayName).toBeGreaterThan(0);
    const manifests = runs.map((r) => String(r.PipelineSpecManifest)).join('\n');
    for (const needle of ['componentInputParameter', 'taskOutputParameter', 'runtimeValue', 'taskFinalStatus', 'componentInputArtifact',
      'taskOutputArtifact', 'parameterIterator', 'inputParameter', 'raw:', 'triggerPolicy', 'dependentTasks', 'defaultValue',
      'argostub/createpvc', 'argostub/deletepvc', 'importer:', 'platforms:']) expect(manifests).toContain(needle);
  });

  it('plants every hostile record it reports', async () => {
    const { mlmd } = a!;
    const h = a!.report.hostile;
    expect(new Set(h.map((x) => x.code))).toEqual(new Set(['ORPHAN_RUN', 'NON_KFP_CONTEXT', 'NON_KFP_EXECUTION', 'CORRUPT_PROPERTY',
      'DANGLING_PARENT', 'MISSING_ARTIFACT', 'TRUNCATED_STRING', 'URI_TOO_LONG', 'KEY_TOO_LONG', 'SPEC_UNREADABLE', 'FINGERPRINT_NOT_REPRODUCED']));
    const execs = new Map((await executions(mlmd)).map((e) => [e.id, e]));
    const contexts = new Map((await mlmd.all<Row>('SELECT c.id, c.name, t.name AS type FROM Context c JOIN Type t ON t.id = c.type_id')).map((c) => [Number(c.id), c]));
    const runUuids = new Set((await a!.kfp.all<Row>('SELECT `UUID` FROM run_details')).map((r) => String(r.UUID)));
    const kfpRunExecs = new Set((await mlmd.all<Row>(
      `SELECT a.execution_id AS id FROM Association a JOIN Context c ON c.id = a.context_id JOIN Type t ON t.id = c.type_id WHERE t.name = 'system.PipelineRun'`,
    )).map((r) => Number(r.id)));
    const artifactIds = new Set((await mlmd.all<Row>('SELECT id FROM Artifact')).map((r) => Number(r.id)));
    const evs = new Map((await events(mlmd)).map((e) => [e.id, e]));
    const uris = new Map((await mlmd.all<Row>('SELECT id, uri FROM Artifact')).map((r) => [Number(r.id), String(r.uri)]));
    const manifests = new Map((await a!.kfp.all<Row>('SELECT `UUID`, `PipelineSpecManifest` FROM run_details')).map((r) => [String(r.UUID), String(r.PipelineSpecManifest)]));
    for (const x of h) {
      const id = Number(x.mlmdId);
      switch (x.code) {
        case 'ORPHAN_RUN': {
          const c = contexts.get(id)!;
          expect(c.type).toBe('system.PipelineRun');
          expect(runUuids.has(String(c.name))).toBe(false);
          break;
        }
        case 'NON_KFP_CONTEXT':
          expect(String(contexts.get(id)!.type)).not.toMatch(/^system\./);
          break;
        case 'NON_KFP_EXECUTION':
          expect(execs.has(id)).toBe(true);
          expect(kfpRunExecs.has(id)).toBe(false);
          break;
        case 'CORRUPT_PROPERTY':
          expect(() => decodeMlmdStruct(str(execs.get(id)!.p, 'inputs')!)).toThrow();
          break;
        case 'DANGLING_PARENT':
          expect(execs.has(int(execs.get(id)!.p, 'parent_dag_id')!)).toBe(false);
          break;
        case 'MISSING_ARTIFACT':
          expect(artifactIds.has(evs.get(id)!.artifact)).toBe(false);
          break;
        case 'TRUNCATED_STRING':
          expect(str(execs.get(id)!.p, 'display_name')!.length).toBeGreaterThan(128);
          break;
        case 'URI_TOO_LONG':
          expect(uris.get(id)!.length).toBeGreaterThan(2048);
          break;
        case 'KEY_TOO_LONG':
          expect(evs.get(id)!.key!.length).toBeGreaterThan(191);
          break;
        case 'SPEC_UNREADABLE': {
          const c = contexts.get(id)!;
          expect(c.type).toBe('system.PipelineRun');
          expect(parseAllDocuments(manifests.get(String(c.name))!).some((d) => d.errors.length > 0)).toBe(true);
          break;
        }
        case 'FINGERPRINT_NOT_REPRODUCED':
          // A COMPLETE container with a stored fingerprint, tampered with by another of these records.
          expect(execs.get(id)!.state).toBe(3);
          expect(str(execs.get(id)!.p, 'cache_fingerprint')).toMatch(/^[0-9a-f]{64}$/);
          expect(h.some((o) => o !== x && (Number(o.mlmdId) === id || evs.get(Number(o.mlmdId))?.execution === id))).toBe(true);
          break;
        default:
          throw new Error(`no check for hostile code ${x.code}`);
      }
    }
  });

  if (dialect !== 'mysql') {
    it('plants nothing hostile unless asked, and seeds older schema versions', async () => {
      const s = await seeded(temp, 12, 5, false, 8);
      try {
        expect(s.report.hostile).toEqual([]);
        const [env] = await s.mlmd.all<Row>('SELECT schema_version AS v FROM MLMDEnv');
        expect(Number(env!.v)).toBe(8);
        const missing = await s.mlmd.all<Row>('SELECT COUNT(*) AS n FROM Event WHERE artifact_id NOT IN (SELECT id FROM Artifact)');
        expect(Number(missing[0]!.n)).toBe(0);
        const orphans = await s.mlmd.all<Row>(
          `SELECT COUNT(*) AS n FROM Context c JOIN Type t ON t.id = c.type_id WHERE t.name = 'system.PipelineRun'`,
        );
        expect(Number(orphans[0]!.n)).toBe(s.report.runs.length);
        const types = await s.mlmd.all<Row>("SELECT name FROM Type WHERE name NOT LIKE 'system.%' AND name NOT LIKE 'mlmd.%' AND name NOT LIKE 'google.%'");
        expect(types).toEqual([]);
      } finally {
        await release(s);
      }
    });
  }
});
