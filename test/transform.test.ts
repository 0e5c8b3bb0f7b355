import { describe, expect, it } from 'vitest';
import { mapRun as mapRunOnly, outlineRun } from '../src/transform/forward.ts';
import { ids as uuid } from '../src/transform/identity.ts';
import type { RunBundle, RunMigration, TaskRow } from '../src/transform/model.ts';
import { RunBuilder, dbl, int, str, struct } from './helpers/bundle.ts';
import { sampleRun } from './helpers/sample-run.ts';

/** mapRun, and every bundle of these tests also checks that outlineRun (verify's and plan's counting) agrees with it. */
function mapRun(bundle: RunBundle): RunMigration {
  const m = mapRunOnly(bundle);
  const o = outlineRun(bundle);
  expect([o.tasks, o.links, o.artifactUuids, o.rejects]).toEqual([m.tasks.length, m.links.length, m.artifacts.map((a) => a.UUID), m.rejects]);
  // plan counts shared artifacts by (namespace, MLMD id): the rows it attributes to them are the rows written.
  expect(o.namespace).toBe(m.namespace);
  expect(o.artifactRows.reduce((n, a) => n + a.rows, 0)).toBe(m.artifacts.length);
  expect(new Set(o.artifactRows.map((a) => a.mlmdId)).size).toBe(o.artifactRows.length);
  return m;
}

const sample = sampleRun();
const out = mapRun(sample.builder.build());
const task = (execId: number): TaskRow => {
  const t = out.tasks.find((r) => r.UUID === uuid.task(execId));
  if (!t) throw new Error(`no task for execution ${execId}`);
  return t;
};
const I = sample.ids;
const json = (s: string | null) => (s === null ? null : JSON.parse(s));
const codes = (m: RunMigration, code: string) => m.rejects.filter((r) => r.code === code);

describe('task types (kfp-facts.md §F.1 Type, §C.9)', () => {
  it.each([
    ['root DAG', () => I.root, 1, 'ROOT', 'My run'],
    ['container', () => I.preprocess, 2, 'preprocess', 'Preprocess'],
    ['importer', () => I.importer, 7, 'importer', 'importer'],
    ['loop (iteration_count)', () => I.loop, 5, 'for-loop-2', 'Loop'],
    ['condition-branches-N → DAG', () => I.cb, 8, 'condition-branches-1', 'condition-branches-1'],
    ['condition-N with triggerPolicy.condition → CONDITION_BRANCH', () => I.c2, 3, 'condition-2', 'Condition Branch'],
    ['exit-handler-N → DAG', () => I.eh, 8, 'exit-handler-1', 'exit-handler-1'],
    ['nested pipeline → DAG', () => I.inner, 8, 'inner-pipeline', 'inner-pipeline'],
    ['old-style task_name (display name) resolved to the key', () => I.evaluate, 2, 'evaluate', 'Evaluate'],
  ])('%s', (_label, id, type, name, displayName) => {
    const t = task(id());
    expect(t.Type).toBe(type);
    expect(t.Name).toBe(name);
    expect(t.DisplayName).toBe(displayName);
  });

  it('condition-N without a condition in the spec is a CONDITION', () => {
    const b = new RunBuilder('r-cond').withSpec({
      pipelineInfo: { name: 'p' },
      root: { dag: { tasks: { 'condition-4': { taskInfo: { name: 'condition-4' }, componentRef: { name: 'c' } } } } },
      components: { c: { dag: { tasks: {} } } },
    });
    const root = b.root();
    const c = b.exec('system.DAGExecution', { parent_dag_id: int(root), task_name: str('condition-4'), display_name: str('condition-4') });
    const m = mapRun(b.build());
    const t = m.tasks.find((r) => r.UUID === uuid.task(c))!;
    expect([t.Type, t.DisplayName]).toEqual([4, 'Condition']);
  });

  it.each([
    ['for-loop-3', 5],
    ['condition-branches-2', 8],
    ['condition-5', 3],
    ['exit-handler-2', 8],
    ['my-sub-pipeline', 8],
  ])('without a spec, DAG %s is typed by its prefix as %i', (key, type) => {
    const b = new RunBuilder('r-nospec');
    const root = b.root();
    const d = b.exec('system.DAGExecution', { parent_dag_id: int(root), task_name: str(key), display_name: str(key) });
    const m = mapRun(b.build());
    expect(m.tasks.find((r) => r.UUID === uuid.task(d))!.Type).toBe(type);
  });

  it('a loop that never fanned out (no iteration_count) is still a LOOP through its spec iterator', () => {
    const b = new RunBuilder('r-loop0').withSpec({
      pipelineInfo: { name: 'p' },
      root: { dag: { tasks: { 'for-loop-1': { taskInfo: { name: 'for-loop-1' }, componentRef: { name: 'c' }, parameterIterator: { itemInput: 'it', items: { raw: '[]' } } } } } },
      components: { c: { dag: { tasks: {} } } },
    });
    const root = b.root();
    const d = b.exec('system.DAGExecution', { parent_dag_id: int(root), task_name: str('for-loop-1') }, { state: 6 });
    const t = mapRun(b.build()).tasks.find((r) => r.UUID === uuid.task(d))!;
    expect(t.Type).toBe(5);
    expect(t.TypeAttrs).toBe('{}');
    expect(t.State).toBe(3);
  });
});

describe('task_name written as the display name (KFP before 2.14): keys resolved among siblings (§F.0-3)', () => {
  /** A root DAG whose tasks are `tasks` (key → display name, constant inputs, component); containers unless the component is `comp-dag`. */
  const specWith = (tasks: Record<string, { display: string; constants?: Record<string, unknown>; component?: string }>) => ({
    pipelineInfo: { name: 'p' },
    root: {
      dag: {
        tasks: Object.fromEntries(
          Object.entries(tasks).map(([key, t]) => [
            key,
            {
              taskInfo: { name: t.display },
              componentRef: { name: t.component ?? 'comp-work' },
              ...(t.constants ? { inputs: { parameters: Object.fromEntries(Object.entries(t.constants).map(([k, v]) => [k, { runtimeValue: { constant: v } }])) } } : {}),
            },
          ]),
        ),
      },
    },
    components: { 'comp-work': { executorLabel: 'exec-work' }, 'comp-dag': { dag: { tasks: {} } } },
    deploymentSpec: { executors: { 'exec-work': { container: { image: 'python:3.11' } } } },
  });
  const rowOf = (m: RunMigration, id: number) => m.tasks.find((r) => r.UUID === uuid.task(id))!;

  it.each([
    ['constant inputs tell apart tasks a Python loop gave one display name', false],
    ['… whatever order their executions were written in', true],
  ])('%s', (_label, reversed) => {
    const b = new RunBuilder('r-shards').withSpec(
      specWith({ shard: { display: 'Process shard', constants: { index: 0 } }, 'shard-2': { display: 'Process shard', constants: { index: 1 } }, 'shard-3': { display: 'Process shard', constants: { index: 2 } } }),
    );
    const root = b.root();
    const order = reversed ? [2, 1, 0] : [0, 1, 2];
    const ids = order.map((i) => [i, b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Process shard'), display_name: str('Process shard'), inputs: struct({ index: i }) })] as const);
    const m = mapRun(b.build());
    for (const [i, id] of ids) {
      const t = rowOf(m, id);
      expect([t.Name, t.DisplayName, t.ScopePath]).toEqual([['shard', 'shard-2', 'shard-3'][i], 'Process shard', `root.${['shard', 'shard-2', 'shard-3'][i]}`]);
      expect(t.LogicalKey).toMatch(/^[0-9a-f]{64}$/);
      expect(json(t.InputParameters)).toEqual([{ parameterKey: 'index', producer: { taskName: 'ROOT' }, type: 'RUNTIME_VALUE_INPUT', value: i }]);
    }
    expect(m.rejects).toEqual([]);
  });

  it('a DAG and a container sharing a display name are told apart by their execution type', () => {
    const b = new RunBuilder('r-kinds').withSpec(specWith({ prep: { display: 'Prepare' }, 'prep-pipeline': { display: 'Prepare', component: 'comp-dag' } }));
    const root = b.root();
    const dag = b.exec('system.DAGExecution', { parent_dag_id: int(root), task_name: str('Prepare'), display_name: str('Prepare') });
    const task = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Prepare'), display_name: str('Prepare') });
    const m = mapRun(b.build());
    expect([rowOf(m, dag).Name, rowOf(m, dag).Type, rowOf(m, task).Name, rowOf(m, task).Type]).toEqual(['prep-pipeline', 8, 'prep', 2]);
    expect(m.rejects).toEqual([]);
  });

  it("a display name that is another task's key resolves to the task whose recorded inputs fit", () => {
    const b = new RunBuilder('r-clash').withSpec(specWith({ train: { display: 'train-2', constants: { lr: 0.1 } }, 'train-2': { display: 'Train', constants: { lr: 0.5 } } }));
    const root = b.root();
    const old = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('train-2'), display_name: str('train-2'), inputs: struct({ lr: 0.1 }) });
    const m = mapRun(b.build());
    expect(rowOf(m, old).Name).toBe('train');
    expect(json(rowOf(m, old).StatusMetadata).customProperties.mlmd.task_name).toEqual({ string: 'train-2' });
  });

  it('siblings nothing recorded tells apart are paired with the tasks in id order, each with a key of its own (KEY_AMBIGUOUS)', () => {
    const b = new RunBuilder('r-twins').withSpec(specWith({ echo: { display: 'Echo' }, 'echo-2': { display: 'Echo' } }));
    const root = b.root();
    const first = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Echo'), display_name: str('Echo') });
    const second = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Echo'), display_name: str('Echo') });
    const m = mapRun(b.build());
    expect([rowOf(m, first).Name, rowOf(m, second).Name]).toEqual(['echo', 'echo-2']);
    expect([rowOf(m, first).LogicalKey, rowOf(m, second).LogicalKey].every((k) => k !== null)).toBe(true);
    expect(m.rejects.map((r) => [r.code, r.mlmdId, r.disposition])).toEqual([
      ['KEY_AMBIGUOUS', first, 'adjusted'],
      ['KEY_AMBIGUOUS', second, 'adjusted'],
    ]);
  });

  it('more executions than fitting tasks (a retry among them): no pairing is safe, the raw task_name stays (KEY_UNRESOLVED)', () => {
    const b = new RunBuilder('r-retry').withSpec(specWith({ echo: { display: 'Echo' }, 'echo-2': { display: 'Echo' } }));
    const root = b.root();
    const ids = [0, 1, 2].map(() => b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Echo'), display_name: str('Echo') }));
    const m = mapRun(b.build());
    expect(ids.map((id) => rowOf(m, id).Name)).toEqual(['Echo', 'Echo', 'Echo']);
    expect(codes(m, 'KEY_UNRESOLVED').map((r) => r.mlmdId)).toEqual(ids);
  });

  it('reads the older typed constantValue form of a runtime value too', () => {
    const b = new RunBuilder('r-typed').withSpec({
      pipelineInfo: { name: 'p' },
      root: {
        dag: {
          tasks: {
            a: { taskInfo: { name: 'Step' }, componentRef: { name: 'c' }, inputs: { parameters: { n: { runtimeValue: { constantValue: { intValue: '3' } } } } } },
            b: { taskInfo: { name: 'Step' }, componentRef: { name: 'c' }, inputs: { parameters: { n: { runtimeValue: { constantValue: { stringValue: 'x' } } } } } },
          },
        },
      },
      components: { c: { executorLabel: 'e' } },
    });
    const root = b.root();
    const x = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Step'), inputs: struct({ n: 'x' }) });
    const three = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Step'), inputs: struct({ n: 3 }) });
    const m = mapRun(b.build());
    expect([rowOf(m, three).Name, rowOf(m, x).Name]).toEqual(['a', 'b']);
  });
});

describe('loop iterations collapse into the LOOP task (design.md §2)', () => {
  it('emits no task for an iteration DAG and re-parents its children to the LOOP', () => {
    expect(out.tasks.some((t) => t.UUID === uuid.task(I.iter0) || t.UUID === uuid.task(I.iter1))).toBe(false);
    expect(task(I.train0).ParentTaskUUID).toBe(uuid.task(I.loop));
    expect(task(I.train1).ParentTaskUUID).toBe(uuid.task(I.loop));
  });
  it('tags body tasks with their iteration and the LOOP with its count', () => {
    expect(task(I.train0).TypeAttrs).toBe('{"iterationIndex":"0"}');
    expect(task(I.train1).TypeAttrs).toBe('{"iterationIndex":"1"}');
    expect(task(I.loop).TypeAttrs).toBe('{"iterationCount":"2"}');
  });
  it('keeps each iteration in mlmd_id_map with its state and times', () => {
    const its = out.idMap.filter((r) => r.kind === 'iteration');
    expect(its.map((r) => [r.mlmdId, r.kfpUuid])).toEqual([
      [I.iter0, uuid.task(I.loop)],
      [I.iter1, uuid.task(I.loop)],
    ]);
    expect(json(its[1]!.extra)).toMatchObject({ iterationIndex: 1, state: 2, createMs: 1_700_000_010_500, updateMs: 1_700_000_050_250 });
  });
  it("turns each iteration's inputs into ITERATOR_INPUT parameters on the LOOP", () => {
    const params = json(task(I.loop).InputParameters);
    expect(params).toEqual([
      { parameterKey: 'pipelinechannel--items', producer: { taskName: 'ROOT' }, type: 'COMPONENT_INPUT', value: [1, 2] },
      { parameterKey: 'pipelinechannel--items-loop-item', producer: { iteration: '0', taskName: 'for-loop-2' }, type: 'ITERATOR_INPUT', value: 1 },
      { parameterKey: 'pipelinechannel--items-loop-item', producer: { iteration: '1', taskName: 'for-loop-2' }, type: 'ITERATOR_INPUT', value: 2 },
    ]);
  });
});

describe('states (§F.1 State)', () => {
  it.each([
    ['COMPLETE → SUCCEEDED', () => I.preprocess, 2],
    ['CACHED → CACHED', () => I.train1, 5],
    ['CANCELED (not triggered) → SKIPPED', () => I.c3, 3],
    ['FAILED → FAILED', () => I.work, 4],
    ['root from run_details (SUCCEEDED), though MLMD says RUNNING', () => I.root, 2],
    ['container RUNNING in a finished run → FAILED', () => I.evaluate, 4],
    ['DAG RUNNING in a finished run → recomputed from children (all SUCCEEDED)', () => I.inner, 2],
  ])('%s', (_l, id, state) => expect(task(id()).State).toBe(state));

  it('explains a synthesized failure in StatusMetadata and reports it as adjusted', () => {
    expect(json(task(I.evaluate).StatusMetadata)).toEqual({
      message: 'migrated: execution still RUNNING when run ended SUCCEEDED',
      // the old-style task_name (a display name) differs from the resolved key, so it is kept
      customProperties: { mlmd: { task_name: { string: 'Evaluate' } } },
    });
    const r = codes(out, 'RUNNING_IN_FINISHED_RUN').map((x) => [x.mlmdId, x.disposition]);
    expect(r).toEqual(expect.arrayContaining([[I.evaluate, 'adjusted'], [I.inner, 'adjusted']]));
  });

  it.each([
    ['CANCELED', 4],
    ['CANCELING', 4],
    ['FAILED', 4],
    ['SKIPPED', 3],
    ['RUNNING', 1],
    ['PENDING', 1],
    ['PAUSED', 1],
    ['RUNTIME_STATE_UNSPECIFIED', 0],
  ])('root of a %s run has state %i', (runState, state) => {
    const b = new RunBuilder('r-s', { state: runState });
    b.root();
    expect(mapRun(b.build()).tasks[0]!.State).toBe(state);
  });

  it('leaves RUNNING tasks alone while the run itself is still running', () => {
    const b = new RunBuilder('r-live', { state: 'RUNNING', finishedAtInSec: 0 });
    const root = b.root();
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('a') }, { state: 2 });
    const m = mapRun(b.build());
    const t = m.tasks.find((r) => r.UUID === uuid.task(c))!;
    expect([t.State, t.FinishedInSec]).toEqual([1, 0]);
    expect(codes(m, 'RUNNING_IN_FINISHED_RUN')).toHaveLength(0);
  });

  it('a DAG left RUNNING over a failed child becomes FAILED', () => {
    const b = new RunBuilder('r-f', { state: 'FAILED' });
    const root = b.root();
    const d = b.exec('system.DAGExecution', { parent_dag_id: int(root), task_name: str('sub') }, { state: 2 });
    b.exec('system.ContainerExecution', { parent_dag_id: int(d), task_name: str('x') }, { state: 4 });
    b.exec('system.ContainerExecution', { parent_dag_id: int(d), task_name: str('y') }, { state: 3 });
    expect(mapRun(b.build()).tasks.find((r) => r.UUID === uuid.task(d))!.State).toBe(4);
  });
});

describe('columns', () => {
  it('fingerprints only for COMPLETE containers', () => {
    expect(task(I.preprocess).Fingerprint).toBe('fp-pre');
    expect(task(I.train0).Fingerprint).toBe('fp-t0');
    expect(task(I.train1).Fingerprint).toBe(''); // CACHED
    expect(task(I.work).Fingerprint).toBe(''); // FAILED
  });

  it('ScopePath follows task keys; iterations add no segment', () => {
    expect(task(I.root).ScopePath).toBe('root');
    expect(task(I.preprocess).ScopePath).toBe('root.preprocess');
    expect(task(I.train0).ScopePath).toBe('root.for-loop-2.train');
    expect(task(I.c3).ScopePath).toBe('root.condition-branches-1.condition-3');
    expect(task(I.createpvc).ScopePath).toBe('root.inner-pipeline.createpvc');
  });

  it('TypeAttrs: ROOT {}, importer downloadToWorkspace, plain tasks null', () => {
    expect(task(I.root).TypeAttrs).toBe('{}');
    expect(task(I.importer).TypeAttrs).toBe('{"downloadToWorkspace":false}');
    expect(task(I.preprocess).TypeAttrs).toBe('null');
  });

  it('LogicalKey matches the KFP 3 task store byte for byte (§C.5; vectors in identity.test.ts)', () => {
    // The root's key: the second LogicalKey vector of identity.test.ts (run-1, no parent, root, ROOT, type 1).
    expect(task(I.root).LogicalKey).toBe('010644fb00070febffb6060a8744e40c79933ae78c83ab1f8b07fbd72d213dec');
  });

  it('a retried task: the newest execution keeps the LogicalKey, the older gets NULL', () => {
    expect(task(I.cleanup).LogicalKey).toMatch(/^[0-9a-f]{64}$/);
    expect(task(I.retryOld).LogicalKey).toBeNull();
    expect(codes(out, 'DUPLICATE_TASK').map((r) => r.mlmdId)).toEqual([I.retryOld]);
    const keys = out.tasks.map((t) => t.LogicalKey).filter((k) => k !== null);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('pods: executor pod for containers, driver pod for k8s ops, none for DAGs/importers/cache hits', () => {
    expect(task(I.preprocess).pods).toBe('[{"name":"p-1","type":"EXECUTOR","uid":"u-1"}]');
    expect(task(I.createpvc).pods).toBe('[{"name":"drv-1","type":"DRIVER","uid":"du-1"}]');
    expect(task(I.train1).pods).toBe('[]');
    expect(task(I.loop).pods).toBe('[]');
    expect(task(I.importer).pods).toBe('[]');
  });

  it('times: seconds, root from run_details; StateHistory RUNNING then the final state', () => {
    const t = task(I.preprocess);
    expect([t.CreatedAtInSec, t.StartedInSec, t.FinishedInSec]).toEqual([1_700_000_010, 1_700_000_010, 1_700_000_050]);
    expect(t.StateHistory).toBe('[{"state":"RUNNING","updateTime":"2023-11-14T22:13:30.500Z"},{"state":"SUCCEEDED","updateTime":"2023-11-14T22:14:10.250Z"}]');
    const r = task(I.root);
    expect([r.CreatedAtInSec, r.FinishedInSec]).toEqual([1_700_000_000, 1_700_000_900]);
  });

  it('keeps properties without a column (cached_execution_id, image, total_dag_tasks) in StatusMetadata', () => {
    expect(json(task(I.train1).StatusMetadata)).toEqual({ customProperties: { mlmd: { cached_execution_id: { string: '55' }, cache_fingerprint: { string: 'fp-t1' } } } });
    // DisplayName is fixed to "Loop", so the display_name KFP 2.x recorded is kept too.
    expect(json(task(I.loop).StatusMetadata)).toEqual({ customProperties: { mlmd: { display_name: { string: 'for-loop-2' }, total_dag_tasks: { int: 1 } } } });
    expect(json(task(I.preprocess).StatusMetadata)).toEqual({ customProperties: { mlmd: { image: { string: '' } } } });
  });
});

describe('parameters and their IOTypes', () => {
  it.each([
    ['root: RUNTIME_VALUE_INPUT from ROOT', () => I.root, 'lr', { parameterKey: 'lr', producer: { taskName: 'ROOT' }, type: 'RUNTIME_VALUE_INPUT', value: 0.1 }],
    ['componentInputParameter → COMPONENT_INPUT from the parent', () => I.preprocess, 'lr', { parameterKey: 'lr', producer: { taskName: 'ROOT' }, type: 'COMPONENT_INPUT', value: 0.1 }],
    ['loop item → ITERATOR_INPUT with the iteration', () => I.train0, 'item', { parameterKey: 'item', producer: { iteration: '0', taskName: 'for-loop-2' }, type: 'ITERATOR_INPUT', value: 1 }],
    ['component default → COMPONENT_DEFAULT_INPUT', () => I.train1, 'epochs', { parameterKey: 'epochs', producer: { iteration: '1', taskName: 'for-loop-2' }, type: 'COMPONENT_DEFAULT_INPUT', value: 3 }],
    ['runtimeValue → RUNTIME_VALUE_INPUT', () => I.evaluate, 'threshold', { parameterKey: 'threshold', producer: { taskName: 'ROOT' }, type: 'RUNTIME_VALUE_INPUT', value: 0.5 }],
    ['taskOutputParameter → TASK_OUTPUT_INPUT from the producer', () => I.evaluate, 'rows', { parameterKey: 'rows', producer: { taskName: 'preprocess' }, type: 'TASK_OUTPUT_INPUT', value: 10 }],
    ['taskFinalStatus → TASK_FINAL_STATUS_OUTPUT', () => I.cleanup, 'status', { parameterKey: 'status', producer: { taskName: 'exit-handler-1' }, type: 'TASK_FINAL_STATUS_OUTPUT', value: { state: 'FAILED' } }],
  ])('%s', (_l, id, key, expected) => {
    const params = json(task(id()).InputParameters) as { parameterKey: string }[];
    expect(params.find((p) => p.parameterKey === key)).toEqual(expected);
  });

  it('outputs: OUTPUT, or ITERATOR_OUTPUT with the iteration inside a loop', () => {
    expect(json(task(I.preprocess).OutputParameters)).toEqual([{ parameterKey: 'rows', producer: { taskName: 'preprocess' }, type: 'OUTPUT', value: 10 }]);
    expect(json(task(I.train1).OutputParameters)).toEqual([{ parameterKey: 'acc', producer: { iteration: '1', taskName: 'train' }, type: 'ITERATOR_OUTPUT', value: 0.9 }]);
    expect(task(I.loop).OutputParameters).toBe('null');
  });

  it('without a spec every input is COMPONENT_INPUT from the parent; never type 0', () => {
    const b = new RunBuilder('r-ns');
    const root = b.root();
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('a'), inputs: struct({ x: 'y' }) });
    const t = mapRun(b.build()).tasks.find((r) => r.UUID === uuid.task(c))!;
    expect(json(t.InputParameters)).toEqual([{ parameterKey: 'x', producer: { taskName: 'ROOT' }, type: 'COMPONENT_INPUT', value: 'y' }]);
  });
});

describe('artifacts (§F.2)', () => {
  const rowsOf = (artifactId: number) => out.artifacts.filter((a) => out.idMap.some((m) => m.kind === 'artifact' && m.mlmdId === artifactId && m.kfpUuid === a.UUID));

  it('types, names, URIs and hashes', () => {
    const [data] = rowsOf(sample.artifacts.data);
    expect(data).toMatchObject({ Type: 3, Name: 'data', Namespace: 'team-a', URI: 'minio://b/v2/my-pipeline/run-1/preprocess/x/data', Description: '', IdentityKey: null, NumberValue: null });
    // `printf '%s' 'minio://b/v2/my-pipeline/run-1/preprocess/x/data' | sha256sum` (more vectors in identity.test.ts).
    expect(data!.URIHash).toBe('da831aa83c2ec6711921e3e66dc09527376f9cf9f82d1f2e0d8e861020d526a1');
    expect(data!.Metadata).toBe('{}'); // display_name and store_session_info are not metadata
    expect([data!.CreatedAtInSec, data!.LastUpdateInSec]).toEqual([1_700_000_020, 1_700_000_030]);
  });

  it('importer output without display_name is named after the URI basename; 0/1 ints become booleans', () => {
    const [model] = rowsOf(sample.artifacts.model);
    expect(model).toMatchObject({ Type: 2, Name: 'resnet' });
    expect(json(model!.Metadata)).toEqual({ framework: 'tf', is_best: true, is_old: false, layers: 7 });
  });

  it('system.Metrics splits into one Type 6 row per key with NumberValue and no URI', () => {
    const rows = rowsOf(sample.artifacts.metrics);
    expect(rows.map((r) => [r.Type, r.Name, r.NumberValue, r.URI, r.URIHash, r.Metadata])).toEqual([
      [6, 'accuracy', 0.9, null, '', '{"accuracy":0.9}'],
      [6, 'loss', 0.125, null, '', '{"loss":0.125}'],
    ]);
  });

  it('classification metrics: no URI, list/struct wrappers removed', () => {
    const [cls] = rowsOf(sample.artifacts.cls);
    expect(cls).toMatchObject({ Type: 7, URI: null, URIHash: '' });
    expect(json(cls!.Metadata)).toEqual({
      confidenceMetrics: [{ confidenceThreshold: 0.5, recall: 1 }],
      confusionMatrix: { annotationSpecs: [{ displayName: 'a' }], rows: [{ row: [1, 0] }] },
    });
  });

  it('non-system schema titles are Type 1 with _kfp_schema_title', () => {
    const [vm] = rowsOf(sample.artifacts.vertex);
    expect(vm).toMatchObject({ Type: 1, URI: 'https://vertex/m/1' });
    expect(json(vm!.Metadata)).toEqual({ _kfp_schema_title: 'google.VertexModel' });
  });

  it('one copy per namespace: the same artifact in two namespaces gets two UUIDs', () => {
    const mk = (ns: string) => {
      const b = new RunBuilder(`r-${ns}`, { experimentNamespace: ns });
      const root = b.root();
      const imp = b.exec('system.ImporterExecution', { parent_dag_id: int(root), task_name: str('imp') });
      b.event(b.artifact('system.Dataset', 'gs://shared/x', {}, 500), imp, 'OUTPUT', 'artifact');
      return mapRun(b.build()).artifacts.map((a) => [a.UUID, a.Namespace]);
    };
    expect(mk('team-a')).toEqual([[uuid.artifact(500, 'team-a'), 'team-a']]);
    expect(mk('team-b')).toEqual([[uuid.artifact(500, 'team-b'), 'team-b']]);
  });

  it('non-numeric metrics go to a sidecar row, an empty metrics artifact keeps one row', () => {
    const b = new RunBuilder('r-m');
    const root = b.root();
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('t') });
    const odd = b.artifact('system.Metrics', 'minio://m', { display_name: str('metrics'), f1: { kind: 'double', value: 0.5 }, note: str('hi') });
    const empty = b.artifact('system.Metrics', 'minio://e', { display_name: str('metrics') });
    b.event(odd, c, 'OUTPUT', 'metrics');
    b.event(empty, c, 'OUTPUT', 'm2');
    const m = mapRun(b.build());
    expect(m.artifacts.map((a) => [a.Type, a.Name, a.Metadata])).toEqual([
      [6, 'f1', '{"f1":0.5}'],
      [1, 'metrics', '{"_kfp_schema_title":"system.Metrics","note":"hi"}'],
      [1, 'metrics', '{"_kfp_schema_title":"system.Metrics"}'],
    ]);
    expect(m.rejects.map((r) => [r.code, r.mlmdId, r.disposition])).toEqual([
      ['NON_NUMERIC_METRIC', odd, 'degraded'],
      ['EMPTY_METRICS', empty, 'degraded'],
    ]);
    expect(m.links).toHaveLength(3);
  });
});

describe('NaN and the infinities (reject NON_FINITE_NUMBER)', () => {
  it('a non-finite double or struct number is written as its protojson text, never fails the run; outlineRun reports the same', () => {
    const b = new RunBuilder('r-nf');
    const root = b.root();
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('t'), inputs: struct({ xs: [1, Number.NEGATIVE_INFINITY] }), best: dbl(Number.NaN) });
    const m1 = b.artifact('system.Metrics', 'minio://m', { display_name: str('metrics'), nan: dbl(Number.NaN), note: str('x') });
    b.event(m1, c, 'OUTPUT', 'metrics');
    const m = mapRun(b.build());
    const t = m.tasks.find((r) => r.UUID === uuid.task(c))!;
    expect(json(t.InputParameters)[0].value).toEqual([1, '-Infinity']);
    expect(json(t.StatusMetadata).customProperties.mlmd.best).toEqual({ double: 'NaN' });
    // The repaired entry joins the non-numeric ones on the sidecar row; NON_NUMERIC_METRIC names only the genuine non-number.
    expect(m.artifacts.map((a) => [a.Type, a.Metadata, a.NumberValue])).toEqual([[1, '{"_kfp_schema_title":"system.Metrics","nan":"NaN","note":"x"}', null]]);
    expect(m.rejects.map((r) => [r.code, r.mlmdId, r.reason])).toEqual([
      ['NON_FINITE_NUMBER', c, 'property "inputs" holds NaN or an infinity at .xs[1]; written as the string "NaN" / "Infinity" / "-Infinity"'],
      ['NON_FINITE_NUMBER', c, 'property "best" is the double NaN; written as the string "NaN"'],
      ['NON_FINITE_NUMBER', m1, 'property "nan" is the double NaN; written as the string "NaN"'],
      ['NON_NUMERIC_METRIC', m1, 'non-numeric metrics entries (note) kept on a Type 1 sidecar row'],
    ]);
    expect(json(m.idMap.find((r) => r.kind === 'artifact')!.extra)).toEqual({ nonFiniteDoubles: ['nan'] });
  });
});

describe('links (§F.3)', () => {
  const linksOf = (execId: number) => out.links.filter((l) => l.TaskID === uuid.task(execId));

  it('OUTPUT links carry the producer and the task iteration', () => {
    expect(linksOf(I.preprocess).map((l) => [l.Type, l.ArtifactKey, l.Iteration, l.Producer])).toEqual([[9, 'data', -1, '{"taskName":"preprocess"}']]);
    const t0 = linksOf(I.train0).filter((l) => l.Type === 9);
    expect(t0.map((l) => [l.ArtifactKey, l.Iteration, l.Producer])).toEqual([
      ['metrics', 0, '{"iteration":"0","taskName":"train"}'],
      ['metrics', 0, '{"iteration":"0","taskName":"train"}'],
      ['cls', 0, '{"iteration":"0","taskName":"train"}'],
    ]);
  });

  it('INPUT links take their IOType from the spec wiring', () => {
    expect(linksOf(I.evaluate).map((l) => [l.Type, l.ArtifactKey, l.Producer])).toEqual([[2, 'model', '{"taskName":"importer"}']]);
    expect(linksOf(I.train0).filter((l) => l.Type !== 9).map((l) => [l.Type, l.ArtifactKey, l.Iteration, l.Producer])).toEqual([
      [3, 'data', 0, '{"iteration":"0","taskName":"for-loop-2"}'],
    ]);
  });

  it("a collapsed iteration's events land on the LOOP, tagged with the iteration", () => {
    expect(linksOf(I.loop).map((l) => [l.Type, l.Iteration, l.Producer])).toEqual([
      [2, -1, '{"taskName":"preprocess"}'],
      [6, 0, '{"iteration":"0","taskName":"for-loop-2"}'],
      [6, 1, '{"iteration":"1","taskName":"for-loop-2"}'],
    ]);
  });

  it('no link has type 0, every link belongs to this run, and UniqueLink holds', () => {
    expect(out.links.every((l) => l.Type !== 0 && l.RunUUID === 'run-1')).toBe(true);
    const keys = out.links.map((l) => `${l.ArtifactID}|${l.TaskID}|${l.Type}|${l.Iteration}|${l.ArtifactKey}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('without spec wiring, an input produced by a sibling is TASK_OUTPUT_INPUT, else COMPONENT_INPUT', () => {
    const b = new RunBuilder('r-sib');
    const root = b.root();
    const a = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('a') });
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('c') });
    const x = b.artifact('system.Dataset', 'gs://x');
    const y = b.artifact('system.Dataset', 'gs://y');
    b.event(x, a, 'OUTPUT', 'out');
    b.event(x, c, 'INPUT', 'in');
    b.event(y, c, 'INPUT', 'other');
    const m = mapRun(b.build());
    expect(m.links.filter((l) => l.TaskID === uuid.task(c)).map((l) => [l.Type, l.Producer])).toEqual([
      [2, '{"taskName":"a"}'],
      [3, '{"taskName":"ROOT"}'],
    ]);
  });
});

describe('bad input is reported, never fatal', () => {
  it('orphan run: nothing migrated, one ORPHAN_RUN reject', () => {
    const b = new RunBuilder('gone');
    b.root();
    const bundle = { ...b.build(), runDetails: null };
    const m = mapRun(bundle);
    expect([m.tasks.length, m.artifacts.length, m.links.length]).toEqual([0, 0, 0]);
    expect(m.rejects.map((r) => [r.code, r.entity, r.mlmdId, r.disposition])).toEqual([['ORPHAN_RUN', 'context', 7, 'skipped']]);
  });

  it('dangling parent, corrupt property, missing artifact, long strings', () => {
    const b = new RunBuilder('r-bad');
    const root = b.root();
    const lost = b.exec('system.ContainerExecution', { parent_dag_id: int(99999), task_name: str('lost'), display_name: str('x'.repeat(200)), inputs: { kind: 'corrupt', raw: 'mlmd-struct::!!', reason: 'invalid base64' } });
    const ok = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('ok') });
    const big = b.artifact('system.Dataset', `gs://${'u'.repeat(2100)}`);
    b.event(big, ok, 'OUTPUT', 'big');
    b.event(424242, ok, 'INPUT', 'ghost');
    const longKey = b.artifact('system.Dataset', 'gs://k');
    b.event(longKey, ok, 'OUTPUT', 'k'.repeat(200));
    const m = mapRun(b.build());
    const t = m.tasks.find((r) => r.UUID === uuid.task(lost))!;
    expect(t.ParentTaskUUID).toBe(uuid.task(root));
    expect([...t.DisplayName!].length).toBe(128);
    expect(json(t.StatusMetadata).customProperties.mlmd.display_name).toEqual({ string: 'x'.repeat(200) });
    expect(m.rejects.map((r) => [r.code, r.mlmdId, r.disposition]).sort()).toEqual(
      [
        ['CORRUPT_PROPERTY', lost, 'degraded'],
        ['DANGLING_PARENT', lost, 'degraded'],
        ['TRUNCATED_STRING', lost, 'degraded'],
        ['URI_TOO_LONG', big, 'skipped'],
        ['MISSING_ARTIFACT', 2, 'skipped'],
        ['KEY_TOO_LONG', 3, 'skipped'],
        // the artifact is named after its output key, which is too long for artifacts.Name too
        ['TRUNCATED_STRING', longKey, 'degraded'],
      ].sort(),
    );
    expect(m.links).toHaveLength(0);
  });

  it('a run without a root execution gets a synthesized ROOT', () => {
    const b = new RunBuilder('r-noroot');
    const c = b.exec('system.ContainerExecution', { task_name: str('a'), parent_dag_id: int(5) });
    const m = mapRun(b.build());
    expect(m.tasks[0]).toMatchObject({ UUID: uuid.syntheticRoot('r-noroot'), Type: 1, Name: 'ROOT', ParentTaskUUID: null, State: 2 });
    expect(m.tasks.find((r) => r.UUID === uuid.task(c))!.ParentTaskUUID).toBe(uuid.syntheticRoot('r-noroot'));
    expect(m.rejects.map((r) => r.code).sort()).toEqual(['DANGLING_PARENT', 'NO_ROOT']);
  });

  it('properties whose column the task type lacks are kept in provenance', () => {
    const b = new RunBuilder('r-prov');
    const root = b.root();
    const d = b.exec('system.DAGExecution', { parent_dag_id: int(root), task_name: str('sub'), iteration_index: int(3), outputs: struct({ o: 1 }), pod_name: str('p') });
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('c'), iteration_count: int(4) });
    const m = mapRun(b.build());
    const meta = (id: number) => json(m.tasks.find((r) => r.UUID === uuid.task(id))!.StatusMetadata).customProperties.mlmd;
    expect(meta(d)).toEqual({ iteration_index: { int: 3 }, outputs: { struct: { o: 1 } }, pod_name: { string: 'p' } });
    expect(meta(c)).toEqual({ iteration_count: { int: 4 } });
  });

  it('an unreadable pipeline manifest: the run is mapped as one without a spec, and says so (SPEC_UNREADABLE)', () => {
    const build = (manifest: string | null) => {
      const b = new RunBuilder('r-spec', { pipelineSpecManifest: manifest });
      const root = b.root();
      const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('Make data'), inputs: struct({ day: 'mon' }) });
      return { m: mapRun(b.build()), c };
    };
    const broken = build('pipelineInfo:\n  name: p\nroot:\n  dag: {tasks: [unclosed\n');
    const none = build(null);
    expect(broken.m.rejects.map((r) => [r.code, r.entity, r.mlmdId, r.runUuid, r.disposition])).toEqual([['SPEC_UNREADABLE', 'context', 7, 'r-spec', 'adjusted']]);
    expect(broken.m.rejects[0]!.reason).toMatch(/^the pipeline spec of run "r-spec" is not readable as YAML or JSON \(.+\); the run is mapped without a spec$/);
    // The same rows as a run that never had a manifest, which is no reject.
    expect(none.m.rejects).toEqual([]);
    expect(broken.m.tasks).toEqual(none.m.tasks);
    expect(json(broken.m.tasks.find((r) => r.UUID === uuid.task(broken.c))!.InputParameters)).toEqual([
      { parameterKey: 'day', producer: { taskName: 'ROOT' }, type: 'COMPONENT_INPUT', value: 'mon' },
    ]);
    // A manifest that parses but holds no PipelineSpec is reported the same way.
    expect(build('pipelineInfo: {name: p}\n').m.rejects.map((r) => [r.code, r.reason])).toEqual([
      ['SPEC_UNREADABLE', 'the pipeline spec of run "r-spec" holds no PipelineSpec (no document has a root component); the run is mapped without a spec'],
    ]);
  });

  it('an association to an execution that does not exist is reported', () => {
    const b = new RunBuilder('r-assoc');
    b.root();
    const m = mapRun({ ...b.build(), danglingExecutionIds: [777] });
    expect(m.rejects.map((r) => [r.code, r.entity, r.mlmdId, r.disposition])).toEqual([['MISSING_EXECUTION', 'execution', 777, 'skipped']]);
  });

  it('executions of a foreign type inside a run are skipped and reported', () => {
    const b = new RunBuilder('r-tfx');
    b.root();
    const x = b.exec('Trainer', {});
    const m = mapRun(b.build());
    expect(m.tasks).toHaveLength(1);
    expect(m.rejects.map((r) => [r.code, r.mlmdId])).toEqual([['UNKNOWN_EXECUTION_TYPE', x]]);
  });
});

describe('determinism', () => {
  it('mapping the same bundle twice gives identical rows; parents precede children', () => {
    const again = mapRun(sampleRun().builder.build());
    expect(again).toEqual(out);
    const seen = new Set<string>();
    for (const t of out.tasks) {
      if (t.ParentTaskUUID !== null) expect(seen.has(t.ParentTaskUUID)).toBe(true);
      seen.add(t.UUID);
    }
  });
});
