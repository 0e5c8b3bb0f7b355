import { describe, expect, it } from 'vitest';
import { encodeKfpJson, encodeKfpJsonList } from '../src/proto/kfp-json.ts';
import { compareRun } from '../src/transform/compare.ts';
import { mapRun } from '../src/transform/forward.ts';
import { classifyDifference, type DifferenceContext, LOSSY_CODES } from '../src/transform/lossy-codes.ts';
import type { ArtifactRow, ArtifactTaskRow, MlmdExecution, MlmdValue, RunBundle, RunMigration, TaskRow } from '../src/transform/model.ts';
import { type KfpRunRows, type MlmdView, pipelineContextUuid, reverseRun, runPipelineRoot, syntheticIterationKey, typeKey } from '../src/transform/reverse.ts';
import { typeRows, withTypeIds } from './helpers/type-ids.ts';
import { RunBuilder, dbl, int, str, struct } from './helpers/bundle.ts';
import { sampleRun } from './helpers/sample-run.ts';

// ------------------------------------------------------------------ scaffolding

function rowsOf(b: RunBundle, m: RunMigration): KfpRunRows {
  return { run: b.runDetails!, tasks: m.tasks, links: m.links, artifacts: m.artifacts, idMap: [...m.idMap, ...typeRows(b)] };
}

/** An allocator that records its calls; ids start well above every MLMD id of the fixtures. */
function recordingAllocator(start = 10_000) {
  const calls: [string, string][] = [];
  let next = start;
  const allocate = (kind: 'execution' | 'artifact' | 'context', uuid: string) => {
    calls.push([kind, uuid]);
    return next++;
  };
  return { allocate, calls };
}

/** A realistic KFP 2.x run context: the root driver's four properties (kfp-facts.md §A.1). */
function realisticRunContext(b: RunBundle): RunBundle {
  const run = b.runDetails!;
  return {
    ...b,
    runContext: {
      ...b.runContext,
      createMs: run.createdAtInSec * 1000,
      updateMs: run.createdAtInSec * 1000,
      customProperties: {
        namespace: str(run.namespace),
        resource_name: str('run-resource'),
        pipeline_root: str(`${run.pipelineRoot}/${run.pipelineName}/${run.uuid}`),
        store_session_info: str('{"Provider":"minio","Params":{"fromEnv":"false"}}'),
      },
    },
  };
}

const sample = sampleRun();
const I = sample.ids;
const A = sample.artifacts;
const source = realisticRunContext(withTypeIds(sample.builder.build()));
const migration = mapRun(source);
const alloc = recordingAllocator();
const view = reverseRun(rowsOf(source, migration), alloc.allocate);

const exec = (id: number): MlmdExecution => {
  const e = view.executions.find((x) => x.id === id);
  if (!e) throw new Error(`no execution ${id} in the view`);
  return e;
};
const src = (id: number) => source.executions.find((x) => x.id === id)!;
const artifact = (id: number) => {
  const a = view.artifacts.find((x) => x.id === id);
  if (!a) throw new Error(`no artifact ${id} in the view`);
  return a;
};
const prop = (props: Record<string, MlmdValue>, k: string) => props[k];

// ------------------------------------------------------------------ the sample run, field by field

describe('reverse(forward(sample run)): identities', () => {
  it('every MLMD id comes back from mlmd_id_map; nothing is allocated for a migrated run', () => {
    expect(alloc.calls).toEqual([]);
    expect(view.executions.map((e) => e.id)).toEqual(source.executions.map((e) => e.id));
    expect(view.artifacts.map((a) => a.id)).toEqual(source.artifacts.map((a) => a.id));
    expect(view.contexts.map((c) => c.id).sort()).toEqual([source.pipelineContext!.id, source.runContext.id].sort());
  });

  it('types: ids and names from the type rows', () => {
    for (const s of source.executions) expect([exec(s.id).typeId, exec(s.id).type]).toEqual([s.typeId, s.type]);
    for (const s of source.artifacts) expect([artifact(s.id).typeId, artifact(s.id).type]).toEqual([s.typeId, s.type]);
    const listed = new Map(view.types.map((t) => [t.id, [t.name, t.typeKind]]));
    for (const s of source.executions) expect(listed.get(s.typeId)).toEqual([s.type, 0]);
    for (const s of source.artifacts) expect(listed.get(s.typeId)).toEqual([s.type, 1]);
    expect(listed.get(source.runContext.typeId)).toEqual(['system.PipelineRun', 2]);
  });

  it('the root is named run/<uuid> and is the only execution with task_name ""', () => {
    expect(exec(I.root).name).toBe('run/run-1');
    expect(view.executions.filter((e) => prop(e.customProperties, 'task_name')?.kind === 'string' && (prop(e.customProperties, 'task_name') as { value: string }).value === '').map((e) => e.id)).toEqual([I.root]);
    expect(view.executions.filter((e) => e.name !== null).map((e) => e.id)).toEqual([I.root]);
  });
});

describe('reverse(forward(sample run)): executions', () => {
  it.each([
    ['container COMPLETE', () => I.preprocess, 3],
    ['CACHED', () => I.train1, 5],
    ['SKIPPED → CANCELED (not triggered)', () => I.c3, 6],
    ['FAILED', () => I.work, 4],
    ['container RUNNING in a finished run shows the migrated FAILED', () => I.evaluate, 4],
    ['root: the run state (SUCCEEDED → COMPLETE)', () => I.root, 3],
    ['iteration 0: its own state from the id map', () => I.iter0, 3],
    ['iteration 1: its own state from the id map (RUNNING)', () => I.iter1, 2],
  ])('last_known_state: %s', (_l, id, state) => expect(exec(id()).lastKnownState).toBe(state));

  it('times in milliseconds: exact from StateHistory and the iteration extra', () => {
    for (const id of [I.preprocess, I.train0, I.train1, I.c3, I.work, I.iter0, I.iter1]) {
      expect([exec(id).createMs, exec(id).updateMs]).toEqual([src(id).createMs, src(id).updateMs]);
    }
    expect(exec(I.root).createMs).toBe(src(I.root).createMs);
    expect(exec(I.root).updateMs).toBe(source.runDetails!.finishedAtInSec * 1000);
  });

  it('parent_dag_id: loop bodies point at their re-created iteration, iterations at the LOOP', () => {
    const parent = (id: number) => prop(exec(id).customProperties, 'parent_dag_id');
    expect(parent(I.train0)).toEqual(int(I.iter0));
    expect(parent(I.train1)).toEqual(int(I.iter1));
    expect(parent(I.iter0)).toEqual(int(I.loop));
    expect(parent(I.iter1)).toEqual(int(I.loop));
    expect(parent(I.c2)).toEqual(int(I.cb));
    expect(parent(I.createpvc)).toEqual(int(I.inner));
    expect(parent(I.preprocess)).toEqual(int(I.root));
    expect(parent(I.root)).toBeUndefined();
  });

  it('iteration executions: DAG type, loop task_name, iteration_index, their own inputs', () => {
    const it0 = exec(I.iter0);
    expect(it0.type).toBe('system.DAGExecution');
    expect(it0.customProperties).toEqual(src(I.iter0).customProperties);
    expect(exec(I.iter1).customProperties).toEqual(src(I.iter1).customProperties);
  });

  it('the LOOP keeps its own inputs and iteration_count, not its iterations’ items', () => {
    expect(exec(I.loop).customProperties).toEqual(src(I.loop).customProperties);
  });

  it('containers: inputs/outputs structs, pods, fingerprint and provenance restored', () => {
    expect(exec(I.preprocess).customProperties).toEqual(src(I.preprocess).customProperties);
    const t1 = exec(I.train1).customProperties;
    expect(t1.cache_fingerprint).toEqual(str('fp-t1')); // CACHED: not a column, from provenance
    expect(t1.cached_execution_id).toEqual(str('55'));
    expect(t1.outputs).toEqual(struct({ acc: 0.9 }));
    expect(t1.inputs).toEqual(struct({ item: 2, epochs: 3 }));
    expect(exec(I.work).customProperties.cache_fingerprint).toEqual(str('fp-w'));
    expect(exec(I.createpvc).customProperties).toMatchObject({ pod_name: str('drv-1'), pod_uid: str('du-1'), outputs: struct({ name: 'pvc-1' }) });
  });

  it('display_name and task_name come back as KFP 2.x wrote them, not as the KFP 3 columns say', () => {
    expect(exec(I.loop).customProperties.display_name).toEqual(str('for-loop-2')); // column: "Loop"
    expect(exec(I.c2).customProperties.display_name).toEqual(str('condition-2')); // column: "Condition Branch"
    expect(exec(I.root).customProperties.display_name).toEqual(str('')); // column: the run's display name
    expect(exec(I.importer).customProperties.display_name).toEqual(str(''));
    expect(exec(I.evaluate).customProperties.task_name).toEqual(str('Evaluate')); // old-style display name
    expect(exec(I.importer).type).toBe('system.ImporterExecution');
  });

  it('every DAG and importer comes back with exactly its source properties', () => {
    for (const id of [I.root, I.cb, I.c2, I.c3, I.eh, I.inner, I.importer]) {
      const { inputs: _ignored, ...rest } = src(id).customProperties;
      const { inputs: _alsoIgnored, ...back } = exec(id).customProperties;
      expect(back).toEqual(rest);
    }
    expect(exec(I.root).customProperties.inputs).toEqual(struct({ lr: 0.1, items: [1, 2] }));
  });

  it('the retried duplicate comes back as its own execution', () => {
    expect(exec(I.retryOld).customProperties.task_name).toEqual(str('cleanup'));
    expect(exec(I.retryOld).lastKnownState).toBe(4);
  });
});

describe('reverse(forward(sample run)): artifacts', () => {
  it('split metric rows regroup into ONE system.Metrics artifact with double properties', () => {
    const m = artifact(A.metrics);
    expect(m.type).toBe('system.Metrics');
    expect(m.customProperties).toEqual({ accuracy: dbl(0.9), loss: dbl(0.125), display_name: str('metrics') });
    expect(view.artifacts.filter((a) => a.type === 'system.Metrics')).toHaveLength(1);
  });

  it('struct wrappers are restored: arrays → {"list":…}, objects → {"struct":…}', () => {
    expect(artifact(A.cls).customProperties).toEqual(source.artifacts.find((a) => a.id === A.cls)!.customProperties);
  });

  it('booleans become int 1/0 again; other numbers are doubles', () => {
    const m = artifact(A.model).customProperties;
    expect([m.is_best, m.is_old, m.framework, m.layers]).toEqual([int(1), int(0), str('tf'), dbl(7)]);
  });

  it('_kfp_schema_title becomes the type name and leaves the properties', () => {
    const v = artifact(A.vertex);
    expect(v.type).toBe('google.VertexModel');
    expect(v.customProperties).toEqual({ display_name: str('vm') });
    expect(v.uri).toBe('https://vertex/m/1');
  });

  it('uri, state LIVE, times from seconds × 1000, display_name from Name', () => {
    const d = artifact(A.data);
    expect([d.uri, d.state, d.createMs, d.updateMs, d.name]).toEqual(['minio://b/v2/my-pipeline/run-1/preprocess/x/data', 2, 1_700_000_020_000, 1_700_000_030_000, null]);
    expect(d.customProperties).toEqual({ display_name: str('data') });
    expect(artifact(A.model).customProperties.display_name).toEqual(str('resnet')); // importer output: URI basename
    expect(artifact(A.metrics).uri).toBeNull();
  });
});

describe('reverse(forward(sample run)): events', () => {
  const events = (execId: number) => view.events.filter((e) => e.executionId === execId).map((e) => [e.artifactId, e.type, e.path]);

  it('every source event comes back, with its type and path', () => {
    const key = (e: { artifactId: number; executionId: number; type: number; path: unknown }) => JSON.stringify([e.artifactId, e.executionId, e.type, e.path]);
    expect(view.events.map(key).sort()).toEqual(source.events.map(key).sort());
  });

  it('the LOOP’s iteration-tagged links go back to the iteration executions', () => {
    expect(events(I.iter0)).toEqual([[A.data, 3, [{ key: 'pipelinechannel--preprocess-data' }]]]);
    expect(events(I.iter1)).toEqual([[A.data, 3, [{ key: 'pipelinechannel--preprocess-data' }]]]);
    expect(events(I.loop)).toEqual([[A.data, 3, [{ key: 'pipelinechannel--preprocess-data' }]]]);
  });

  it('the four metric-row links of train0/train1 fold into one OUTPUT event each', () => {
    expect(events(I.train0)).toEqual([
      [A.data, 3, [{ key: 'data' }]],
      [A.metrics, 4, [{ key: 'metrics' }]],
      [A.cls, 4, [{ key: 'cls' }]],
    ]);
    expect(events(I.train1).filter(([a]) => a === A.metrics)).toEqual([[A.metrics, 4, [{ key: 'metrics' }]]]);
  });

  it('times: INPUT at the task create time, OUTPUT at the artifact create time', () => {
    const input = view.events.find((e) => e.executionId === I.train0 && e.type === 3)!;
    const output = view.events.find((e) => e.executionId === I.train0 && e.artifactId === A.metrics)!;
    expect(input.ms).toBe(src(I.train0).createMs);
    expect(output.ms).toBe(1_700_000_020_000);
  });
});

describe('reverse(forward(sample run)): contexts', () => {
  const run = view.contexts.find((c) => c.type === 'system.PipelineRun')!;
  const pipeline = view.contexts.find((c) => c.type === 'system.Pipeline')!;

  it('system.PipelineRun named by the run UUID, with the properties the migration kept', () => {
    expect([run.id, run.name]).toEqual([source.runContext.id, 'run-1']);
    expect(run.customProperties).toEqual(source.runContext.customProperties);
  });

  it('a run context with nothing kept gets namespace, pipeline_root and resource_name rebuilt from run_details', () => {
    const kfpRows = rowsOf(source, migration);
    const rows = { ...kfpRows, idMap: kfpRows.idMap.map((r) => (r.kind === 'run_context' ? { ...r, extra: null } : r)) };
    const rebuilt = reverseRun(rows, () => 99).contexts.find((c) => c.type === 'system.PipelineRun')!;
    expect(rebuilt.customProperties).toEqual({
      namespace: str('team-a'),
      resource_name: str('run-resource'),
      pipeline_root: str('minio://mlpipeline/v2/artifacts/my-pipeline/run-1'),
    });
  });

  it('system.Pipeline from the id map, with the ParentContext edge', () => {
    expect([pipeline.id, pipeline.name, pipeline.customProperties]).toEqual([source.pipelineContext!.id, 'my-pipeline', {}]);
    expect(view.parentContexts).toEqual([{ childId: run.id, parentId: pipeline.id }]);
  });

  it('every execution is associated with, and every artifact attributed to, both contexts', () => {
    expect(view.associations).toHaveLength(view.executions.length * 2);
    for (const e of view.executions) {
      expect(view.associations.filter((a) => a.executionId === e.id).map((a) => a.contextId).sort()).toEqual([pipeline.id, run.id].sort());
    }
    expect(view.attributions).toHaveLength(view.artifacts.length * 2);
  });
});

describe('compareRun on the sample: no drift, every loss documented', () => {
  const diffs = compareRun(source, view, { rejects: migration.rejects });

  it('has no DRIFT', () => {
    expect(diffs.filter((d) => d.code === 'DRIFT')).toEqual([]);
  });

  it('names the expected losses', () => {
    const codes = new Set(diffs.map((d) => d.code));
    for (const c of ['ROOT_STATE_FROM_RUN', 'RUNNING_IN_FINISHED_RUN', 'METRICS_URI_DROPPED', 'STORE_SESSION_INFO_DROPPED', 'INT_AS_DOUBLE', 'EVENT_TIME_APPROXIMATED', 'ARTIFACT_DISPLAY_NAME_FROM_NAME']) {
      expect(codes).toContain(c);
    }
    for (const d of diffs) expect(Object.keys(LOSSY_CODES)).toContain(d.code);
  });

  it('a changed value in the view is drift, not a documented loss', () => {
    const tampered: MlmdView = {
      ...view,
      executions: view.executions.map((e) => (e.id === I.train0 ? { ...e, customProperties: { ...e.customProperties, parent_dag_id: int(I.iter1) } } : e)),
      artifacts: view.artifacts.map((a) => (a.id === A.data ? { ...a, createMs: a.createMs + 5000 } : a)),
      events: view.events.filter((e) => !(e.executionId === I.iter0)),
    };
    const drift = compareRun(source, tampered, { rejects: migration.rejects }).filter((d) => d.code === 'DRIFT');
    expect(drift.map((d) => [d.entity, d.mlmdId, d.field])).toEqual([
      ['execution', I.train0, 'customProperties.parent_dag_id'],
      ['artifact', A.data, 'createMs'],
      ['event', I.iter0, 'present'],
    ]);
  });
});

// ------------------------------------------------------------------ focused cases

describe('KFP-3-native rows (no mlmd_id_map entry)', () => {
  const RUN = 'native-run';
  const task = (t: Partial<TaskRow> & Pick<TaskRow, 'UUID' | 'Name' | 'Type' | 'State'>): TaskRow => ({
    Namespace: 'ns',
    RunUUID: RUN,
    pods: '[]',
    CreatedAtInSec: 1_800_000_000,
    StartedInSec: 0,
    FinishedInSec: 1_800_000_100,
    Fingerprint: '',
    DisplayName: t.Name,
    ParentTaskUUID: null,
    StatusMetadata: null,
    StateHistory: null,
    InputParameters: null,
    OutputParameters: null,
    TypeAttrs: 'null',
    ScopePath: null,
    LogicalKey: null,
    ...t,
  });
  const tasks = [
    task({ UUID: 't-root', Name: 'ROOT', Type: 1, State: 2, TypeAttrs: '{}' }),
    task({
      UUID: 't-loop',
      Name: 'for-loop-1',
      DisplayName: 'Loop',
      Type: 5,
      State: 4,
      ParentTaskUUID: 't-root',
      TypeAttrs: '{"iterationCount":"2"}',
      InputParameters: encodeKfpJsonList('IOParameter', [
        { parameterKey: 'item', value: 'a', type: 'ITERATOR_INPUT', producer: { taskName: 'for-loop-1', iteration: 0 } },
        { parameterKey: 'item', value: 'b', type: 'ITERATOR_INPUT', producer: { taskName: 'for-loop-1', iteration: 1 } },
      ]),
    }),
    task({ UUID: 't-b0', Name: 'body', Type: 2, State: 2, ParentTaskUUID: 't-loop', TypeAttrs: '{"iterationIndex":"0"}', FinishedInSec: 1_800_000_050 }),
    task({
      UUID: 't-b1',
      Name: 'body',
      Type: 2,
      State: 4,
      ParentTaskUUID: 't-loop',
      TypeAttrs: '{"iterationIndex":"1"}',
      pods: encodeKfpJsonList('TaskPod', [
        { name: 'drv', uid: 'd1', type: 'DRIVER' },
        { name: 'exe', uid: 'e1', type: 'EXECUTOR' },
      ]),
      StatusMetadata: encodeKfpJson('StatusMetadata', { message: 'boom' }),
    }),
  ];
  const art = (UUID: string, type: number, name: string, metadata: object, num: number | null = null): ArtifactRow => ({
    UUID,
    Namespace: 'ns',
    Type: type,
    URI: type === 6 ? null : `s3://b/${name}`,
    URIHash: '',
    Name: name,
    Description: '',
    CreatedAtInSec: 1_800_000_010,
    LastUpdateInSec: 1_800_000_010,
    Metadata: JSON.stringify(metadata),
    NumberValue: num,
    IdentityKey: null,
  });
  const link = (UUID: string, ArtifactID: string, TaskID: string, Type: number, producer: object, key: string, Iteration = -1): ArtifactTaskRow => ({
    UUID,
    ArtifactID,
    TaskID,
    Type,
    Iteration,
    RunUUID: RUN,
    Producer: encodeKfpJson('IOProducer', producer as Record<string, unknown>),
    ArtifactKey: key,
  });
  const artifacts = [art('a-m1', 6, 'acc', { acc: 0.5 }, 0.5), art('a-m2', 6, 'f1', { f1: 0.25 }, 0.25), art('a-model', 2, 'model', { flag: true, tags: ['x'], cfg: { a: 1 } })];
  const links = [
    link('l1', 'a-m1', 't-b0', 9, { taskName: 'body', iteration: 0 }, 'metrics', 0),
    link('l2', 'a-m2', 't-b0', 9, { taskName: 'body', iteration: 0 }, 'metrics', 0),
    link('l3', 'a-model', 't-b1', 9, { taskName: 'body', iteration: 1 }, 'model', 1),
    // the same output propagated onto the LOOP by the KFP 3 launcher: MLMD never had it
    link('l4', 'a-model', 't-loop', 8, { taskName: 'body', iteration: 1 }, 'model', 1),
    link('l5', 'a-model', 't-root', 2, { taskName: 'for-loop-1' }, 'model'),
  ];
  const run = { ...sample.builder.run, uuid: RUN, pipelineName: 'native-pipe', pipelineSpecManifest: null, pipelineRoot: 's3://root/?region=x' };
  const rows: KfpRunRows = { run, tasks, links, artifacts, idMap: [] };
  const a1 = recordingAllocator(5000);
  const v = reverseRun(rows, a1.allocate, { storeSessionInfo: '{"Provider":"s3"}' });
  const byTask = (uuid: string) => {
    const i = a1.calls.findIndex(([k, u]) => k === 'execution' && u === uuid);
    return v.executions.find((e) => e.id === 5000 + i)!;
  };

  it('allocates each id once, with stable keys, contexts first', () => {
    const keys = a1.calls.map(([k, u]) => `${k}:${u}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.slice(0, 2)).toEqual([`context:${pipelineContextUuid('native-pipe')}`, 'context:native-run']);
    expect(keys).toContain(`execution:${syntheticIterationKey('t-loop', 0)}`);
    expect(keys).toContain(`execution:${syntheticIterationKey('t-loop', 1)}`);
    expect(keys).toContain(`context:${typeKey('system.PipelineRun')}`);
    expect(keys).toContain(`artifact:${typeKey('system.Metrics')}`);
    expect(keys).toContain('artifact:a-m1'); // the metric group is known by its first row
    expect(keys).not.toContain('artifact:a-m2');
    const again = recordingAllocator(5000);
    reverseRun(rows, again.allocate, { storeSessionInfo: '{"Provider":"s3"}' });
    expect(again.calls).toEqual(a1.calls);
  });

  it('synthesizes one iteration execution per index, state aggregated from its tasks', () => {
    const its = v.executions.filter((e) => e.customProperties.iteration_index !== undefined);
    expect(its.map((e) => [e.customProperties.iteration_index, e.customProperties.task_name, e.customProperties.parent_dag_id, e.customProperties.inputs, e.lastKnownState])).toEqual([
      [int(0), str('for-loop-1'), int(byTask('t-loop').id), struct({ item: 'a' }), 3],
      [int(1), str('for-loop-1'), int(byTask('t-loop').id), struct({ item: 'b' }), 4],
    ]);
    expect(byTask('t-b0').customProperties.parent_dag_id).toEqual(int(its[0]!.id));
    expect(byTask('t-b1').customProperties.parent_dag_id).toEqual(int(its[1]!.id));
    expect(byTask('t-loop').customProperties.iteration_count).toEqual(int(2));
    expect(byTask('t-loop').customProperties.inputs).toBeUndefined();
  });

  it('the EXECUTOR pod is the one shown; task namespace goes with it', () => {
    expect(byTask('t-b1').customProperties).toMatchObject({ pod_name: str('exe'), pod_uid: str('e1'), namespace: str('ns') });
    expect(byTask('t-b0').customProperties).toMatchObject({ pod_name: str(''), pod_uid: str(''), namespace: str('') });
  });

  it('native metric rows of one output group into one artifact; propagated links are hidden', () => {
    const metrics = v.artifacts.filter((a) => a.type === 'system.Metrics');
    expect(metrics).toHaveLength(1);
    expect(metrics[0]!.customProperties).toEqual({ acc: dbl(0.5), f1: dbl(0.25), display_name: str('metrics'), store_session_info: str('{"Provider":"s3"}') });
    const model = v.artifacts.find((a) => a.type === 'system.Model')!;
    expect(model.customProperties).toMatchObject({ flag: int(1), tags: struct({ list: ['x'] }), cfg: struct({ struct: { a: 1 } }) });
    const modelEvents = v.events.filter((e) => e.artifactId === model.id).map((e) => [e.executionId, e.type]);
    expect(modelEvents).toEqual([
      [byTask('t-root').id, 3],
      [byTask('t-b1').id, 4],
    ]);
  });

  it('the run context gets pipeline_root by KFP’s formula (query kept) and the configured session info', () => {
    const ctx = v.contexts.find((c) => c.type === 'system.PipelineRun')!;
    expect(ctx.customProperties.pipeline_root).toEqual(str('s3://root/native-pipe/native-run?region=x'));
    expect(ctx.customProperties.store_session_info).toEqual(str('{"Provider":"s3"}'));
    expect(runPipelineRoot('gs://b//', 'p', 'r')).toBe('gs://b/p/r');
  });
});

describe('forward corner cases come back', () => {
  it('a metrics artifact with non-numeric entries: sidecar merged back, uri kept', () => {
    const b = new RunBuilder('r-side');
    const root = b.root();
    const c = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('t'), display_name: str('t') });
    const m = b.artifact('system.Metrics', 'minio://m', { display_name: str('my-metrics'), acc: dbl(0.75), note: str('ok'), flag: int(1) });
    b.event(m, c, 'OUTPUT', 'out');
    const bundle = withTypeIds(b.build());
    const mig = mapRun(bundle);
    const v = reverseRun(rowsOf(bundle, mig), recordingAllocator().allocate);
    const a = v.artifacts.find((x) => x.id === m)!;
    expect(a.type).toBe('system.Metrics');
    expect(a.uri).toBe('minio://m');
    expect(a.customProperties).toEqual({ display_name: str('my-metrics'), acc: dbl(0.75), note: str('ok'), flag: int(1) });
    expect(v.events.filter((e) => e.artifactId === m)).toHaveLength(1);
  });

  it('an artifact with rows in two namespaces shows the run’s own', () => {
    const b = new RunBuilder('r-ns');
    const root = b.root();
    const imp = b.exec('system.ImporterExecution', { parent_dag_id: int(root), task_name: str('imp'), display_name: str('') });
    const a = b.artifact('system.Dataset', 'gs://x/d', {});
    b.event(a, imp, 'OUTPUT', 'artifact');
    const bundle = withTypeIds(b.build());
    const mig = mapRun(bundle);
    const own = mig.artifacts[0]!;
    const other: ArtifactRow = { ...own, UUID: 'copy-in-other-ns', Namespace: 'zzz', Name: 'other' };
    const rows = rowsOf(bundle, mig);
    rows.artifacts.push(other);
    rows.links.push({ ...mig.links[0]!, UUID: 'lx', ArtifactID: other.UUID });
    rows.idMap.push({ kind: 'artifact', mlmdId: a, kfpUuid: other.UUID, runUuid: null, extra: null });
    const v = reverseRun(rows, recordingAllocator().allocate);
    expect(v.artifacts.map((x) => [x.id, x.customProperties.display_name])).toEqual([[a, str('d')]]);
  });
});

describe('NaN and the infinities (reject NON_FINITE_NUMBER)', () => {
  const b = new RunBuilder('r-nonfinite');
  const root = b.root();
  const c = b.exec('system.ContainerExecution', {
    parent_dag_id: int(root),
    task_name: str('t'),
    display_name: str('t'),
    inputs: struct({ lr: Number.NaN, ok: 1 }),
    outputs: struct({ loss: Number.POSITIVE_INFINITY }),
    score: dbl(Number.NaN),
  });
  const model = b.artifact('system.Model', 'minio://model', { display_name: str('model'), gain: dbl(Number.POSITIVE_INFINITY), label: str('NaN') });
  const metrics = b.artifact('system.Metrics', 'minio://m', { display_name: str('metrics'), acc: dbl(0.5), low: dbl(Number.NEGATIVE_INFINITY) });
  b.event(model, c, 'OUTPUT', 'model');
  b.event(metrics, c, 'OUTPUT', 'metrics');
  const bundle = withTypeIds(b.build());
  bundle.runContext.customProperties.threshold = dbl(Number.NEGATIVE_INFINITY);
  const mig = mapRun(bundle);
  const v = reverseRun(rowsOf(bundle, mig), recordingAllocator().allocate);

  it('every KFP 3 row is written (no run failure) and each repaired property is a degraded reject by id', () => {
    expect(mig.rejects.map((r) => [r.code, r.entity, r.mlmdId, r.disposition])).toEqual([
      ['NON_FINITE_NUMBER', 'context', bundle.runContext.id, 'degraded'],
      ['NON_FINITE_NUMBER', 'execution', c, 'degraded'],
      ['NON_FINITE_NUMBER', 'execution', c, 'degraded'],
      ['NON_FINITE_NUMBER', 'execution', c, 'degraded'],
      ['NON_FINITE_NUMBER', 'artifact', model, 'degraded'],
      ['NON_FINITE_NUMBER', 'artifact', metrics, 'degraded'],
    ]);
    expect(mig.rejects.map((r) => r.reason)).toEqual([
      'property "threshold" is the double -Infinity; written as the string "-Infinity"',
      'property "inputs" holds NaN or an infinity at .lr; written as the string "NaN" / "Infinity" / "-Infinity"',
      'property "outputs" holds NaN or an infinity at .loss; written as the string "NaN" / "Infinity" / "-Infinity"',
      'property "score" is the double NaN; written as the string "NaN"',
      'property "gain" is the double Infinity; written as the string "Infinity"',
      'property "low" is the double -Infinity; written as the string "-Infinity"',
    ]);
    const task = mig.tasks.find((t) => t.Name === 't')!;
    expect(JSON.parse(task.InputParameters!).map((p: { parameterKey: string; value: unknown }) => [p.parameterKey, p.value])).toEqual([
      ['lr', 'NaN'],
      ['ok', 1],
    ]);
    expect(JSON.parse(task.OutputParameters!)[0].value).toBe('Infinity');
    expect(JSON.parse(task.StatusMetadata!).customProperties.mlmd.score).toEqual({ double: 'NaN' });
    expect(mig.artifacts.map((a) => [a.Type, a.Name, a.Metadata, a.NumberValue])).toEqual([
      [2, 'model', '{"gain":"Infinity","label":"NaN"}', null],
      [6, 'acc', '{"acc":0.5}', 0.5],
      [1, 'metrics', '{"_kfp_schema_title":"system.Metrics","low":"-Infinity"}', null],
    ]);
  });

  it('a repaired double comes back as the double; a genuine string "NaN" stays a string', () => {
    expect(v.artifacts.find((a) => a.id === model)!.customProperties).toMatchObject({ gain: dbl(Number.POSITIVE_INFINITY), label: str('NaN') });
    expect(v.artifacts.find((a) => a.id === metrics)!.customProperties).toMatchObject({ acc: dbl(0.5), low: dbl(Number.NEGATIVE_INFINITY) });
    expect(v.executions.find((e) => e.id === c)!.customProperties.score).toEqual(dbl(Number.NaN));
    expect(v.contexts.find((x) => x.type === 'system.PipelineRun')!.customProperties.threshold).toEqual(dbl(Number.NEGATIVE_INFINITY));
  });

  it('compareRun: no drift, the struct numbers are a documented loss', () => {
    const diffs = compareRun(bundle, v, { rejects: mig.rejects });
    expect(diffs.filter((d) => d.code === 'DRIFT')).toEqual([]);
    expect(diffs.filter((d) => d.code === 'NON_FINITE_AS_TEXT').map((d) => d.field).sort()).toEqual(['customProperties.inputs', 'customProperties.outputs']);
  });
});

describe('classifyDifference recognises the shape of a loss, not just its field', () => {
  const ctx = (over: Partial<DifferenceContext> = {}): DifferenceContext => ({
    entity: 'artifact',
    run: sample.builder.run,
    rootExecutionId: 1,
    runExecutionIds: new Set([1, 2]),
    rejected: new Set(),
    ...over,
  });
  it.each([
    ['createMs', 1_700_000_020_999, 1_700_000_020_000, 'TIMESTAMP_SECONDS'],
    ['createMs', 1_700_000_020_999, 1_700_000_019_000, null],
    ['customProperties.n', int(7), dbl(7), 'INT_AS_DOUBLE'],
    ['customProperties.n', int(7), dbl(8), null],
    ['customProperties.b', { kind: 'bool', value: true }, int(1), 'BOOL_AS_INT'],
    ['customProperties.s', struct({ a: 1 }), struct({ struct: { a: 1 } }), 'STRUCT_WRAPPER_NORMALISED'],
    ['customProperties.s', struct({ a: 1 }), struct({ struct: { a: 2 } }), null],
    ['customProperties.x', dbl(0.1 + 0.2), dbl(0.3), 'DOUBLE_PRECISION'],
    ['customProperties.x', dbl(0.3001), dbl(0.3), null],
  ])('%s: %j → %j is %s', (field, expected, found, code) => {
    expect(classifyDifference(field, expected, found, ctx())).toBe(code);
  });

  it('a parent moved to the root is DANGLING_PARENT only if the source parent was not in the run', () => {
    const e = ctx({ entity: 'execution' });
    expect(classifyDifference('customProperties.parent_dag_id', int(99), int(1), e)).toBe('DANGLING_PARENT');
    expect(classifyDifference('customProperties.parent_dag_id', int(2), int(1), e)).toBeNull();
  });

  it('a missing record is REJECTED only when the forward mapping skipped it', () => {
    const a = { id: 5, typeId: 1, type: 'x', uri: null, state: 2, name: null, createMs: 0, updateMs: 0, externalId: null, properties: {}, customProperties: {} };
    expect(classifyDifference('present', true, false, ctx({ source: a, rejected: new Set(['artifact:5']) }))).toBe('REJECTED');
    expect(classifyDifference('present', true, false, ctx({ source: a }))).toBeNull();
  });
});
