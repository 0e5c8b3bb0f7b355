/**
 * Cache continuity in the forward mapping (kfp-facts.md §B.4): the stored KFP 2.x fingerprint of a
 * container is recomputed from its records, and where it reproduces tasks.Fingerprint gets the key
 * KFP 3's driver computes for the same task. Expected digests are literals derived by hand (see
 * DERIVED below), not recomputed by the code under test.
 */
import { describe, expect, it } from 'vitest';
import { decodeKfpJsonOrNull } from '../src/proto/kfp-json.ts';
import { cacheKeyFor, DEFAULT_MAPPING_OPTIONS, type MappingOptions } from '../src/transform/fingerprints.ts';
import type { CacheKeyMaterial } from '../src/transform/cache-material.ts';
import { mapRun, outlineRun } from '../src/transform/forward.ts';
import { ids } from '../src/transform/identity.ts';
import type { RunBundle, TaskRow } from '../src/transform/model.ts';
import { KFP2_CACHE_KEY_RULES, KFP3_CACHE_KEY_RULES } from '../src/transform/rules.ts';
import { customCacheKeyFingerprint } from '../src/transform/cache-key.ts';
import { dbl, RunBuilder, str, struct } from './helpers/bundle.ts';

/**
 * How the literals were derived: the JSON below was written by hand from the rules of §B.4 for the
 * bundle `cacheDemo` builds (keys sorted, compact, empty fields left out), then hashed with
 * `printf '%s' '<json>' | sha256sum`. The KFP 3 keys name the imported artifact by the UUID
 * `ids.artifact(102, 'team-a')` gives (00000066-f68e-8818-a5aa-e39b8052e6ca).
 *
 *   KFP 2.15 rule, executor logs on (the run recorded an executor-logs output):
 *   {"containerSpec":{"cmdArgs":["sh","-c","train","--lr","{{$.inputs.parameters['lr']}}"],"image":"python:3.11"},
 *    "inputArtifactNames":{"data":{"artifactNames":["102"]}},"inputParameterValues":{"lr":0.1},
 *    "outputArtifactsSpec":{"executor-logs":{"name":"executor-logs","type":{"schemaTitle":"system.Artifact"}},
 *    "model":{"name":"model","type":{"schemaTitle":"system.Model","schemaVersion":"0.0.1"}}},"outputParametersSpec":{"score":"NUMBER_DOUBLE"}}
 *   KFP 2.0 rule, no executor logs: the same without the executor-logs output and without "name"s.
 *   KFP 3, --publish-logs true: the 2.15 JSON with "__kfp_pipeline_name=cache-demo" appended to cmdArgs and the UUID for "102".
 *   KFP 3, --publish-logs false: that without the executor-logs output.
 */
const DERIVED = {
  kfp215: '034e1656850c7651d8aa8fa9ee51587636e9c5d53eb7bfc561fb1567ca88f9da',
  kfp20: '60f4a22406a63881260013472b3b455061fd90281d4231a1fa2df612af262ccd',
  kfp3: '9476f9e705601cac8fded2345d073b60ad9b421213fe4662a7768f1366663f76',
  kfp3NoLogs: '852d3903f9a989e1e2da319fdee9abfb363ae7d26d36b17373a724f165871386',
};

const IMPORTED = 102;

function demoSpec() {
  return {
    pipelineInfo: { name: 'cache-demo' },
    root: {
      dag: {
        tasks: {
          importer: { taskInfo: { name: 'importer' }, componentRef: { name: 'comp-importer' }, inputs: { parameters: { uri: { runtimeValue: { constant: 'gs://b/data.csv' } } } } },
          train: {
            taskInfo: { name: 'Train' },
            componentRef: { name: 'comp-train' },
            cachingOptions: { enableCache: true } as Record<string, unknown>,
            inputs: {
              parameters: { lr: { runtimeValue: { constant: 0.1 } } },
              artifacts: { data: { taskOutputArtifact: { producerTask: 'importer', outputArtifactKey: 'artifact' } } },
            },
          },
        },
      },
    },
    components: {
      'comp-importer': { executorLabel: 'exec-importer', outputDefinitions: { artifacts: { artifact: { artifactType: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } } } } },
      'comp-train': {
        executorLabel: 'exec-train',
        inputDefinitions: { parameters: { lr: { parameterType: 'NUMBER_DOUBLE' } }, artifacts: { data: { artifactType: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } } } },
        outputDefinitions: { artifacts: { model: { artifactType: { schemaTitle: 'system.Model', schemaVersion: '0.0.1' } } }, parameters: { score: { parameterType: 'NUMBER_DOUBLE' } } },
      },
    },
    deploymentSpec: {
      executors: {
        'exec-importer': { importer: { artifactUri: { runtimeParameter: 'uri' }, typeSchema: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } } },
        'exec-train': { container: { image: 'python:3.11', command: ['sh', '-c', 'train'], args: ['--lr', "{{$.inputs.parameters['lr']}}"] } } as Record<string, unknown>,
      },
    },
  };
}

/** An importer and a container reading its artifact; `logs`: the container published executor logs. */
function cacheDemo(o: { fingerprint: string; logs?: boolean; spec?: ReturnType<typeof demoSpec> | null; tweak?: (b: RunBuilder, train: number) => void }): { bundle: RunBundle; train: number } {
  const b = new RunBuilder('run-cache');
  if (o.spec !== null) b.withSpec(o.spec ?? demoSpec());
  const root = b.root();
  const imp = b.exec('system.ImporterExecution', { task_name: str('importer'), display_name: str(''), parent_dag_id: { kind: 'int', value: root } });
  b.artifact('system.Dataset', 'gs://b/data.csv', {}, IMPORTED);
  b.event(IMPORTED, imp, 'OUTPUT', 'artifact');
  const train = b.exec('system.ContainerExecution', {
    task_name: str('train'),
    display_name: str('Train'),
    parent_dag_id: { kind: 'int', value: root },
    pod_name: str('p'),
    pod_uid: str('u'),
    namespace: str('team-a'),
    image: str(''),
    inputs: struct({ lr: 0.1 }),
    outputs: struct({ score: 0.9 }),
    cache_fingerprint: str(o.fingerprint),
  });
  b.event(IMPORTED, train, 'INPUT', 'data');
  b.event(b.artifact('system.Model', 'minio://b/train/model', { display_name: str('model') }), train, 'OUTPUT', 'model');
  if (o.logs) b.event(b.artifact('system.Artifact', 'minio://b/train/executor-logs', { display_name: str('executor-logs') }), train, 'OUTPUT', 'executor-logs');
  o.tweak?.(b, train);
  return { bundle: b.build(), train };
}

const taskOf = (rows: TaskRow[], execId: number) => rows.find((t) => t.UUID === ids.task(execId))!;
const provenance = (t: TaskRow) => (decodeKfpJsonOrNull('StatusMetadata', t.StatusMetadata)?.customProperties as { mlmd?: Record<string, unknown> } | undefined)?.mlmd;

describe('a reproduced fingerprint becomes the KFP 3 key', () => {
  it('recomputes the stored KFP 2.15 key and writes the KFP 3 key, keeping the MLMD value in provenance', () => {
    const { bundle, train } = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true });
    const m = mapRun(bundle);
    const t = taskOf(m.tasks, train);
    expect(t.Fingerprint).toBe(DERIVED.kfp3);
    expect(provenance(t)?.cache_fingerprint).toEqual({ string: DERIVED.kfp215 });
    expect(m.rejects.filter((r) => r.code.startsWith('FINGERPRINT'))).toEqual([]);
    expect(m.fingerprints).toMatchObject({ stored: 1, reproduced: 1, byRule: { 'kfp-2.15': 1 }, serving: 1, kfp3Keys: 1, servingWithoutOutputs: 0 });
  });

  it('recognises a KFP 2.0–2.14 key (unnamed outputs, no logs) as well', () => {
    const { bundle, train } = cacheDemo({ fingerprint: DERIVED.kfp20 });
    const m = mapRun(bundle);
    expect(taskOf(m.tasks, train).Fingerprint).toBe(DERIVED.kfp3);
    expect(m.fingerprints?.byRule).toEqual({ 'kfp-2.0': 1 });
  });

  it('--publish-logs false: the KFP 3 key has no executor-logs output', () => {
    const { bundle, train } = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true });
    expect(taskOf(mapRun(bundle, { fingerprints: 'kfp3', publishLogs: false }).tasks, train).Fingerprint).toBe(DERIVED.kfp3NoLogs);
  });

  it('--fingerprints mlmd: the MLMD value, copied, nothing recomputed or reported', () => {
    const { bundle, train } = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true });
    const mlmd: MappingOptions = { fingerprints: 'mlmd', publishLogs: true };
    const m = mapRun(bundle, mlmd);
    const t = taskOf(m.tasks, train);
    expect(t.Fingerprint).toBe(DERIVED.kfp215);
    expect(provenance(t)?.cache_fingerprint).toBeUndefined();
    expect(m.fingerprints?.stored).toBe(0);
    // plan and verify outline the run: they still report the self-check
    expect(outlineRun(bundle, mlmd).fingerprints).toMatchObject({ stored: 1, reproduced: 1, kfp3Keys: 0 });
    expect(outlineRun(bundle, mlmd).fingerprintColumns).toEqual({ [t.UUID]: DERIVED.kfp215 });
  });

  it('a custom cache key (cachingOptions.cacheKey) is the same key in KFP 3', () => {
    const spec = demoSpec();
    spec.root.dag.tasks.train.cachingOptions = { enableCache: true, cacheKey: 'train-v1' };
    // Custom keys are scoped by the component reference: printf 'comp-train\0train-v1' | sha256sum.
    const expected = '14c52f3e5367eac6dfcacffce69ded28fa37147695f7d4e1c4fecc0cbbe64c27';
    expect(customCacheKeyFingerprint('comp-train', 'train-v1')).toBe(expected);
    const { bundle, train } = cacheDemo({ fingerprint: expected, spec });
    const m = mapRun(bundle);
    expect(taskOf(m.tasks, train).Fingerprint).toBe(expected);
    expect(m.fingerprints?.byRule).toEqual({ custom: 1 });
  });
});

describe('a fingerprint that does not reproduce keeps the MLMD value, with the reason', () => {
  const cases: { reason: string; build: () => ReturnType<typeof cacheDemo> }[] = [
    { reason: 'NO_SPEC', build: () => cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, spec: null }) },
    {
      reason: 'TASK_NOT_IN_SPEC',
      build: () => {
        const spec = demoSpec() as { root: { dag: { tasks: Record<string, unknown> } } };
        delete spec.root.dag.tasks.train;
        return cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, spec: spec as ReturnType<typeof demoSpec> });
      },
    },
    {
      reason: 'EXECUTOR_NOT_FOUND',
      build: () => {
        const spec = demoSpec();
        spec.deploymentSpec.executors['exec-train'] = { importer: {} };
        return cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, spec });
      },
    },
    {
      reason: 'INPUTS_UNREADABLE',
      build: () => cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, tweak: (b, t) => (b.executions.find((e) => e.id === t)!.customProperties.inputs = { kind: 'corrupt', raw: 'mlmd-struct::%%', reason: 'not base64' }) }),
    },
    {
      reason: 'MISSING_INPUT_EVENT',
      build: () => cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, tweak: (b, t) => b.events.splice(b.events.findIndex((e) => e.executionId === t && e.type === 3), 1) }),
    },
    {
      reason: 'PVC_UNRESOLVED',
      build: () => {
        const spec = demoSpec();
        const withPlatform = `${JSON.stringify(spec)}\n---\n${JSON.stringify({ platforms: { kubernetes: { deploymentSpec: { executors: { 'exec-train': { pvcMount: [{ mountPath: '/d', taskOutputParameter: { producerTask: 'createpvc', outputParameterKey: 'name' } }] } } } } } })}`;
        const r = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true });
        r.bundle.runDetails!.pipelineSpecManifest = withPlatform;
        return r;
      },
    },
    {
      // A string with no UTF-8 form (here in the spec's command): protojson refuses to encode it.
      reason: 'NOT_ENCODABLE',
      build: () => {
        const spec = demoSpec();
        spec.deploymentSpec.executors['exec-train'] = { container: { image: 'python:3.11', command: ['sh', '-c', 'train \ud800'], args: [] } };
        return cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, spec });
      },
    },
    {
      // A NaN parameter value: the run is migrated (its InputParameters hold "NaN", reject NON_FINITE_NUMBER), but no driver could have hashed it.
      reason: 'NOT_ENCODABLE',
      build: () =>
        cacheDemo({
          fingerprint: DERIVED.kfp215,
          logs: true,
          tweak: (b, t) => {
            const inputs = b.executions.find((e) => e.id === t)!.customProperties.inputs as { kind: 'struct'; value: Record<string, unknown> };
            inputs.value = { ...inputs.value, [Object.keys(inputs.value)[0]!]: Number.NaN };
          },
        }),
    },
    { reason: 'KEY_DIFFERS', build: () => cacheDemo({ fingerprint: 'f'.repeat(64), logs: true }) },
  ];

  it.each(cases)('$reason', ({ reason, build }) => {
    const { bundle, train } = build();
    const stored = (bundle.executions.find((e) => e.id === train)!.customProperties.cache_fingerprint as { value: string }).value;
    const m = mapRun(bundle);
    expect(taskOf(m.tasks, train).Fingerprint).toBe(stored);
    const rejects = m.rejects.filter((r) => r.code.startsWith('FINGERPRINT'));
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ code: 'FINGERPRINT_NOT_REPRODUCED', disposition: 'adjusted', entity: 'execution', mlmdId: train });
    expect(rejects[0]!.reason.startsWith(`${reason}: `)).toBe(true);
    expect(m.fingerprints).toMatchObject({ stored: 1, reproduced: 0, notReproduced: { [reason]: 1 }, kfp3Keys: 0 });
    // the same verdict when only outlined (plan, verify)
    expect(outlineRun(bundle).rejects.filter((r) => r.code.startsWith('FINGERPRINT'))).toEqual(rejects);
  });

  it('a reproduced key whose input artifact was skipped has no KFP 3 key (FINGERPRINT_NO_KFP3_KEY)', () => {
    const { bundle, train } = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true });
    const broken = { ...bundle, artifacts: bundle.artifacts.filter((a) => a.id !== IMPORTED) };
    const m = mapRun(broken);
    expect(taskOf(m.tasks, train).Fingerprint).toBe(DERIVED.kfp215);
    expect(m.rejects.find((r) => r.code === 'FINGERPRINT_NO_KFP3_KEY')).toMatchObject({ mlmdId: train });
    expect(m.fingerprints).toMatchObject({ stored: 1, reproduced: 1, kfp3Keys: 0 });
  });

  it('only SUCCEEDED containers are given a fingerprint; the others are self-checked and keep it in provenance', () => {
    const { bundle, train } = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, tweak: (b, t) => (b.executions.find((e) => e.id === t)!.lastKnownState = 4) });
    const m = mapRun(bundle);
    const t = taskOf(m.tasks, train);
    expect(t.Fingerprint).toBe('');
    expect(provenance(t)?.cache_fingerprint).toEqual({ string: DERIVED.kfp215 });
    expect(m.fingerprints).toMatchObject({ stored: 1, reproduced: 1, serving: 0, kfp3Keys: 0 });
    expect(m.rejects.filter((r) => r.code.startsWith('FINGERPRINT'))).toEqual([]);
  });

  it('counts a cache-serving task that lacks a declared output', () => {
    const { bundle } = cacheDemo({ fingerprint: DERIVED.kfp215, logs: true, tweak: (b, t) => delete b.executions.find((e) => e.id === t)!.customProperties.outputs });
    // The key is unchanged (outputs are not in it); a hit on this task would lack `score`.
    expect(mapRun(bundle).fingerprints).toMatchObject({ reproduced: 1, serving: 1, servingWithoutOutputs: 1 });
  });
});

describe('cacheKeyFor: one material, the key of each release', () => {
  const material: CacheKeyMaterial = {
    custom: null,
    parameterValues: { message: 'Some string value', num_steps: 5 },
    inputArtifacts: { dataset_one: [1], collected: [] },
    outputArtifacts: {
      model: { type: { instanceSchema: 'title: kfp.Model\n' }, metadata: { name: 'model' } },
      metrics: { type: { schema_title: 'kfp.Metrics', schema_version: '0.0.1' }, metadata: null },
    },
    outputParameters: { output_parameter_one: 'STRING' },
    image: 'python:3.11',
    command: ['sh', 'ec'],
    args: ['test'],
    pvcNames: ['workspace-pvc', 'data-pvc', 'data-pvc', '\u{1F600}-pvc', '\uE000-pvc'],
    workspacePvc: 'my-run-kfp-workspace',
    pipelineName: 'p',
    k8sOp: false,
  };
  const [kfp20, kfp215] = KFP2_CACHE_KEY_RULES;

  it('KFP 2.0: MLMD ids, unnamed outputs, no PVC names; an empty collected list is an empty list', () => {
    expect(cacheKeyFor(material, kfp20!, { executorLogs: false })).toEqual({
      inputArtifactNames: { dataset_one: ['1'], collected: [] },
      inputParameterValues: { message: 'Some string value', num_steps: 5 },
      outputArtifactsSpec: { model: { type: { instanceSchema: 'title: kfp.Model\n' }, metadata: { name: 'model' } }, metrics: { type: { schemaTitle: 'kfp.Metrics', schemaVersion: '0.0.1' } } },
      outputParametersSpec: { output_parameter_one: 'STRING' },
      containerSpec: { image: 'python:3.11', cmdArgs: ['sh', 'ec', 'test'], pvcNames: [] },
    });
  });

  it('KFP 2.15: named outputs, the executor-logs output, PVC names de-duplicated and sorted by UTF-8 bytes with the workspace PVC', () => {
    const key = cacheKeyFor(material, kfp215!, { executorLogs: true })!;
    expect(key.outputArtifactsSpec['executor-logs']).toEqual({ name: 'executor-logs', type: { schemaTitle: 'system.Artifact' } });
    expect(key.outputArtifactsSpec.model?.name).toBe('model');
    expect(key.containerSpec.pvcNames).toEqual(['data-pvc', 'my-run-kfp-workspace', 'workspace-pvc', '\uE000-pvc', '\u{1F600}-pvc']);
  });

  it('KFP 3: the pipeline name folded into the command, artifacts by what inputNames gives', () => {
    const key = cacheKeyFor(material, KFP3_CACHE_KEY_RULES, { executorLogs: false, inputNames: (idList) => idList.map((i) => `uuid-${i}`) })!;
    expect(key.containerSpec.cmdArgs).toEqual(['sh', 'ec', 'test', '__kfp_pipeline_name=p']);
    expect(key.inputArtifactNames).toEqual({ dataset_one: ['uuid-1'], collected: [] });
    expect(cacheKeyFor(material, KFP3_CACHE_KEY_RULES, { executorLogs: false, inputNames: () => null })).toBeNull();
  });

  it('a Kubernetes platform op: outputs and logs in KFP 2.x keys but no PVCs; none of them in KFP 3', () => {
    const op = { ...material, k8sOp: true, image: 'argostub/createpvc', command: [], args: [] };
    const old = cacheKeyFor(op, kfp215!, { executorLogs: true })!;
    expect(Object.keys(old.outputArtifactsSpec)).toEqual(['model', 'metrics']);
    expect(old.outputParametersSpec).toEqual({ output_parameter_one: 'STRING' });
    expect(old.containerSpec.pvcNames).toEqual([]);
    const kfp3 = cacheKeyFor(op, KFP3_CACHE_KEY_RULES, { executorLogs: true, inputNames: (l) => l.map(String) })!;
    expect([kfp3.outputArtifactsSpec, kfp3.outputParametersSpec, kfp3.containerSpec.pvcNames]).toEqual([{}, {}, []]);
  });
});

describe('the KFP 3 identity of input artifacts', () => {
  it('a split metrics artifact counts as one artifact, named by its first row', () => {
    const { bundle, train } = cacheDemo({
      fingerprint: DERIVED.kfp215,
      logs: true,
      tweak: (b) => {
        b.artifacts.find((a) => a.id === IMPORTED)!.type = 'system.Metrics';
        b.artifacts.find((a) => a.id === IMPORTED)!.customProperties = { b: dbl(0.5), a: dbl(0.25) };
      },
    });
    const spec = demoSpec();
    spec.components['comp-importer'].outputDefinitions.artifacts.artifact.artifactType.schemaTitle = 'system.Metrics';
    bundle.runDetails!.pipelineSpecManifest = JSON.stringify(spec);
    // Its rows, by ascending UUID (the order KFP 3 hydrates links in, not the metric keys'):
    // 00000066-aef1-8f24-906d-654eb981c97f (key "b"), then 00000066-cd52-801e-a4b7-34af8ecdebfa (key "a").
    expect([ids.metricRow(IMPORTED, 'team-a', 'b'), ids.metricRow(IMPORTED, 'team-a', 'a')]).toEqual(['00000066-aef1-8f24-906d-654eb981c97f', '00000066-cd52-801e-a4b7-34af8ecdebfa']);
    // KFP 2.x named the artifact by its MLMD id, so the stored key still reproduces. The KFP 3 key is
    // DERIVED.kfp3's JSON with the first row's UUID in place of the artifact's, hashed the same way.
    const m = mapRun(bundle);
    expect(taskOf(m.tasks, train).Fingerprint).toBe('7a5e144020f73455932fd5f5c3e415f0aa059960e2cf5c3bd21391b3caa61a2d');
  });
});

describe('options', () => {
  it('default: kfp3 keys for a deployment that publishes logs', () => {
    expect(DEFAULT_MAPPING_OPTIONS).toEqual({ fingerprints: 'kfp3', publishLogs: true });
  });
});
