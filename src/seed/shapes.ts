/**
 * The run shapes the seed rotates through. Each builds one run through a RunBuilder and says how the
 * run ended. Twelve consecutive runs cover every shape once (see the list in index.ts).
 */
import { EXECUTION_STATE, type JsonObject } from '../transform/model.ts';
import type { Era } from './era.ts';
import { A, type ArtifactRef, type ContainerOptions, P, type RunBuilder } from './run-builder.ts';

export type RunState = 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'RUNNING';

export interface Shape {
  name: string;
  pipeline: string;
  era: Era;
  /** Index into the namespace rotation: 0/1 multi-user profiles, 2 single-user (""). */
  namespaceSlot: 0 | 1 | 2;
  params: JsonObject;
  build(run: RunBuilder): RunState;
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** Containers only: preprocess → train → evaluate → upload, with an artifact of every system type. */
function trainingPipeline(run: RunBuilder): RunState {
  const prng = run.world.prng;
  const root = run.root;
  run.logs = true;
  const pre = root.container('preprocess', {
    display: 'Preprocess data',
    params: { dataset_url: P.input('dataset_url', run.opts.params.dataset_url ?? '') },
    outputs: {
      train_data: { type: 'system.Dataset', metadata: { rows: 1200, has_header: true } },
      test_data: { type: 'system.Dataset', metadata: { rows: 300, has_header: false } },
    },
    outputParams: { Output: 'ok' },
  });
  const train = root.container('train-model', {
    display: 'Train model',
    params: { lr: P.input('lr', run.opts.params.lr ?? 0.01), epochs: P.input('epochs', run.opts.params.epochs ?? 10) },
    artifacts: { train_data: A.from(pre.out.train_data!) },
    outputs: { model: { type: 'system.Model', metadata: { framework: 'sklearn', is_champion: false } } },
    dependsOn: ['preprocess'],
  });
  const accuracy = prng.decimal(0.8, 0.99);
  const recallAt = (t: number) => round(1 - t * prng.decimal(0.2, 0.6));
  root.container('evaluate', {
    cache: false,
    artifacts: { model: A.from(train.out.model!), test_data: A.from(pre.out.test_data!) },
    outputs: {
      metrics: { type: 'system.Metrics', metadata: { accuracy, precision: prng.decimal(0.7, 0.99), recall: prng.decimal(0.7, 0.99), f1: prng.decimal(0.7, 0.99) } },
      classification: {
        type: 'system.ClassificationMetrics',
        metadata: {
          confusionMatrix: {
            annotationSpecs: [{ displayName: 'cat' }, { displayName: 'dog' }],
            rows: [{ row: [prng.int(30, 60), prng.int(0, 9)] }, { row: [prng.int(0, 9), prng.int(30, 60)] }],
          },
          confidenceMetrics: [0.25, 0.5, 0.75].map((t) => ({ confidenceThreshold: t, recall: recallAt(t), falsePositiveRate: round(t / 4) })),
        },
      },
      sliced: {
        type: 'system.SlicedClassificationMetrics',
        metadata: { evaluationSlices: [{ slice: 'overall', sliceValue: 'all' }, { slice: 'region', sliceValue: 'eu' }] },
      },
      report: { type: 'system.HTML' },
      summary: { type: 'system.Markdown' },
    },
    outputParams: { accuracy },
    dependsOn: ['preprocess', 'train-model'],
  });
  root.container('upload-model', {
    params: { project: P.constant('ml-prod'), accuracy: P.task('evaluate', 'accuracy', accuracy) },
    artifacts: { model: A.from(train.out.model!) },
    outputs: { vertex_model: { type: 'google.VertexModel', metadata: { resourceName: `projects/ml-prod/locations/us-central1/models/${prng.int(1000, 9999)}` } } },
    dependsOn: ['evaluate', 'train-model'],
    // Where the backend supports it (master), the upload is cached by a key of its own.
    cacheKey: 'vertex-upload-v1',
  });
  return 'SUCCEEDED';
}

/** A nested pipeline DAG with DAG output parameters and artifacts. */
function nestedPipeline(run: RunBuilder): RunState {
  const root = run.root;
  const rows = run.world.prng.int(400, 900);
  const fetch = root.container('fetch-data', { outputs: { dataset: { type: 'system.Dataset' } }, outputParams: { n_rows: rows } });
  const inner = root.dag('train-pipeline', {
    params: { n_rows: P.task('fetch-data', 'n_rows', rows), lr: P.input('lr', run.opts.params.lr ?? 0.1) },
    artifacts: { dataset: A.from(fetch.out.dataset!) },
    dependsOn: ['fetch-data'],
    outputParams: { score: ['train', 'score'] },
    outputArtifacts: { model: ['train', 'model'] },
  });
  const norm = inner.container('normalize', {
    display: 'Normalize features',
    params: { n_rows: P.input('n_rows', rows) },
    artifacts: { dataset: A.input('dataset', fetch.out.dataset!) },
    outputs: { normalized: { type: 'system.Dataset' } },
  });
  const score = run.world.prng.decimal(0.6, 0.95);
  const train = inner.container('train', {
    params: { lr: P.input('lr', run.opts.params.lr ?? 0.1) },
    artifacts: { data: A.from(norm.out.normalized!) },
    outputs: { model: { type: 'system.Model', metadata: { framework: 'pytorch' } } },
    outputParams: { score },
    dependsOn: ['normalize'],
  });
  root.container('deploy', {
    params: { score: P.task('train-pipeline', 'score', score) },
    artifacts: { model: { kind: 'task', producer: 'train-pipeline', key: 'model', artifacts: [train.out.model!] } },
    dependsOn: ['train-pipeline'],
  });
  return 'SUCCEEDED';
}

/** dsl.If (one branch taken, one not) and dsl.If/Else inside condition-branches. */
function conditions(run: RunBuilder): RunState {
  const root = run.root;
  const coin = 'heads';
  root.container('flip-coin', { cache: false, outputParams: { Output: coin } });
  const channel = 'pipelinechannel--flip-coin-Output';
  const heads = root.dag('condition-1', {
    params: { [channel]: P.task('flip-coin', 'Output', coin) },
    condition: `inputs.parameter_values['${channel}'] == 'heads'`,
    dependsOn: ['flip-coin'],
  });
  heads.container('print-heads', { params: { msg: P.input(channel, coin) } });
  const tails = root.dag('condition-2', {
    params: { [channel]: P.task('flip-coin', 'Output', coin) },
    condition: `inputs.parameter_values['${channel}'] == 'tails'`,
    dependsOn: ['flip-coin'],
    triggered: false,
  });
  tails.container('print-tails', { params: { msg: P.input(channel, coin) } });

  const num = run.world.prng.int(6, 9);
  root.container('random-num', { cache: false, outputParams: { Output: num } });
  const numChannel = 'pipelinechannel--random-num-Output';
  const branches = root.dag('condition-branches-3', { params: { [numChannel]: P.task('random-num', 'Output', num) }, dependsOn: ['random-num'] });
  const big = branches.dag('condition-4', {
    params: { [numChannel]: P.input(numChannel, num) },
    condition: `int(inputs.parameter_values['${numChannel}']) > 5`,
  });
  big.container('big-number', { params: { n: P.input(numChannel, num) } });
  const small = branches.dag('condition-5', {
    params: { [numChannel]: P.input(numChannel, num) },
    condition: `!(int(inputs.parameter_values['${numChannel}']) > 5)`,
    triggered: false,
  });
  small.container('small-number', { params: { n: P.input(numChannel, num) } });
  return 'SUCCEEDED';
}

/** ParallelFor with three iterations and a dsl.Collected consumer. */
function parallelFor(run: RunBuilder): RunState {
  const root = run.root;
  const item = 'pipelinechannel--loop-item-param-1';
  const rates = [0.1, 0.01, 0.001];
  const models: ArtifactRef[] = [];
  const loop = root.loop('for-loop-2', {
    itemInput: item,
    items: { raw: rates },
    outputArtifacts: { 'pipelinechannel--train-model': ['train', 'model'] },
  });
  loop.forEach((it, lr) => {
    const t = it.container('train', {
      params: { lr: P.input(item, lr) },
      outputs: { model: { type: 'system.Model', metadata: { framework: 'xgboost' } } },
      outputParams: { Output: 'done' },
    });
    if (t.out.model && t.out.model.id > 0) models.push(t.out.model);
  });
  root.container('select-best', {
    artifacts: { models: A.collected('for-loop-2', 'pipelinechannel--train-model', models) },
    outputs: { best: { type: 'system.Model' } },
    dependsOn: ['for-loop-2'],
  });
  return 'SUCCEEDED';
}

/** A loop over an empty list, a loop whose condition was false, and a loop nested in a loop. */
function loopEdgeCases(run: RunBuilder): RunState {
  const root = run.root;
  root.container('make-list', { display: 'Make list', cache: false, outputParams: { Output: [] } });
  const listChannel = 'pipelinechannel--make-list-Output';
  const empty = root.loop('for-loop-1', {
    itemInput: 'pipelinechannel--make-list-Output-loop-item',
    items: { input: listChannel, value: [] },
    params: { [listChannel]: P.task('make-list', 'Output', []) },
    dependsOn: ['make-list'],
  });
  empty.forEach((it, x) => {
    it.container('consume', { params: { x: P.input('pipelinechannel--make-list-Output-loop-item', x) } });
  });
  const skipped = root.loop('for-loop-2', {
    itemInput: 'pipelinechannel--loop-item-param-2',
    items: { raw: ['x', 'y'] },
    params: { 'pipelinechannel--run_extra': P.input('run_extra', false) },
    condition: "inputs.parameter_values['pipelinechannel--run_extra'] == true",
    triggered: false,
  });
  skipped.forEach((it, x) => {
    it.container('extra-step', { params: { x: P.input('pipelinechannel--loop-item-param-2', x) } });
  });
  const outer = root.loop('for-loop-3', { itemInput: 'pipelinechannel--loop-item-param-3', items: { raw: ['a', 'b'] } });
  outer.forEach((rowScope, row) => {
    const inner = rowScope.loop('for-loop-4', {
      itemInput: 'pipelinechannel--loop-item-param-4',
      items: { raw: [1, 2] },
      params: { 'pipelinechannel--loop-item-param-3': P.input('pipelinechannel--loop-item-param-3', row) },
    });
    inner.forEach((cellScope, col) => {
      cellScope.container('cell', {
        display: 'Grid cell',
        params: { row: P.input('pipelinechannel--loop-item-param-3', row), col: P.input('pipelinechannel--loop-item-param-4', col) },
        outputs: { result: { type: 'system.Artifact' } },
      });
    });
  });
  return 'SUCCEEDED';
}

/** exit-handler-N whose body fails (only executor-logs published), one task left RUNNING, and the exit task. */
function exitHandler(run: RunBuilder): RunState {
  run.logs = true;
  const root = run.root;
  const source = String(run.opts.params.source ?? 's3://raw/2025');
  const handler = root.dag('exit-handler-1', { params: { 'pipelinechannel--source': P.input('source', source) } });
  const extract = handler.container('extract', {
    params: { source: P.input('pipelinechannel--source', source) },
    outputs: { raw: { type: 'system.Dataset' } },
  });
  handler.container('transform', {
    artifacts: { raw: A.from(extract.out.raw!) },
    outputs: { clean: { type: 'system.Dataset' } },
    dependsOn: ['extract'],
    state: 'FAILED',
  });
  handler.container('validate', { artifacts: { raw: A.from(extract.out.raw!) }, dependsOn: ['extract'], state: 'RUNNING', cache: false });
  handler.specOnly().container('load', {
    artifacts: { clean: { kind: 'task', producer: 'transform', key: 'clean', artifacts: [] } },
    dependsOn: ['transform'],
  });
  const status = {
    error: { code: 9, message: 'The pipeline task transform failed' },
    pipelineJobResourceName: `${run.workflowName}`,
    pipelineTaskName: 'exit-handler-1',
    state: 'FAILED',
  };
  root.container('cleanup', {
    display: 'Clean up',
    cache: false,
    params: { status: P.status('exit-handler-1', status) },
    dependsOn: ['exit-handler-1'],
    strategy: 'ALL_UPSTREAM_TASKS_COMPLETED',
  });
  return 'FAILED';
}

/** Importers, one with download_to_workspace; the reimport=false one is reused by later runs. */
function importers(run: RunBuilder): RunState {
  const root = run.root;
  const data = root.importer('importer', {
    display: 'Import dataset',
    uri: 'gs://public-datasets/iris/iris.csv',
    type: 'system.Dataset',
    reimport: false,
    metadata: { source: 'uci' },
  });
  const base = root.importer('importer-2', {
    display: 'Import base model',
    uri: `s3://team-models/base/${run.world.prng.hex(8)}/model.pt`,
    type: 'system.Model',
    reimport: true,
    workspace: true,
  });
  root.container('fine-tune', {
    artifacts: { data: A.from(data.out.artifact!), base: A.from(base.out.artifact!) },
    outputs: { model: { type: 'system.Model', metadata: { framework: 'pytorch' } } },
    dependsOn: ['importer', 'importer-2'],
  });
  return 'SUCCEEDED';
}

/** Kubernetes PVC ops: createpvc, a task using the volume, and a deletepvc that did not trigger. */
function pvcOps(run: RunBuilder): RunState {
  const root = run.root;
  const pvcName = `${run.workflowName}-shared-pvc`;
  root.container('createpvc', {
    k8s: 'createpvc',
    params: {
      access_modes: P.constant(['ReadWriteOnce']),
      pvc_name_suffix: P.constant('-shared-pvc'),
      size: P.constant('5Gi'),
      storage_class_name: P.constant('standard'),
    },
    outputParams: { name: pvcName },
  });
  const mount = { mountPath: '/data', producer: 'createpvc', key: 'name', pvcName };
  root.container('write-file', { dependsOn: ['createpvc'], outputs: { manifest: { type: 'system.Artifact' } }, pvcMounts: [mount] });
  root.container('read-file', { dependsOn: ['write-file'], pvcMounts: [mount] });
  root.container('deletepvc', {
    k8s: 'deletepvc',
    cache: false,
    params: { pvc_name: P.task('createpvc', 'name', pvcName) },
    dependsOn: ['read-file'],
    condition: "inputs.parameter_values['pvc_name'] == 'never'",
  });
  return 'SUCCEEDED';
}

/** A task retried after a failure (two executions, same key and parent), then the run was canceled. */
function retriedThenCanceled(run: RunBuilder): RunState {
  run.logs = true;
  const root = run.root;
  const dl = root.container('download', { outputs: { data: { type: 'system.Dataset' } } });
  const opts: ContainerOptions = {
    display: 'Flaky train',
    retries: 2,
    artifacts: { data: A.from(dl.out.data!) },
    outputs: { model: { type: 'system.Model' } },
    dependsOn: ['download'],
    cache: false,
  };
  root.container('flaky-train', { ...opts, state: 'FAILED' });
  root.container('flaky-train', { ...opts, state: 'COMPLETE' });
  root.container('publish', { dependsOn: ['flaky-train'], state: 'RUNNING', cache: false });
  return 'CANCELED';
}

/** A run still executing: one loop iteration done, one running. */
function stillRunning(run: RunBuilder): RunState {
  const root = run.root;
  root.container('prepare', { outputs: { shards: { type: 'system.Dataset' } } });
  const loop = root.loop('for-loop-1', { itemInput: 'pipelinechannel--loop-item-param-1', items: { raw: [0, 1] }, dependsOn: ['prepare'] });
  loop.forEach((it, shard, i) => {
    const t = it.container('train-shard', { params: { shard: P.input('pipelinechannel--loop-item-param-1', shard) }, state: i === 0 ? 'COMPLETE' : 'RUNNING' });
    if (i > 0 && t.exec) it.setState(EXECUTION_STATE.RUNNING);
  });
  loop.setState(EXECUTION_STATE.RUNNING);
  return 'RUNNING';
}

/**
 * Groups and tasks the user named: dsl.ExitHandler(name=…), dsl.If(name=…), dsl.ParallelFor(name=…),
 * a nested pipeline with set_display_name, and three tasks a Python loop gave one display name (told
 * apart by their constant inputs). Before KFP 2.14 (2.16 for loops), task_name held these names, not
 * the task keys.
 */
function namedGroups(run: RunBuilder): RunState {
  const root = run.root;
  const make = root.container('make-data', { display: 'Make data', outputs: { data: { type: 'system.Dataset' } }, outputParams: { Output: 'heads' } });
  const etl = root.dag('exit-handler-1', { display: 'Run ETL', artifacts: { data: A.from(make.out.data!) }, dependsOn: ['make-data'] });
  for (const [i, key] of ['shard', 'shard-2', 'shard-3'].entries()) {
    etl.container(key, { display: 'Process shard', component: 'comp-shard', params: { index: P.constant(i) }, artifacts: { data: A.input('data', make.out.data!) } });
  }
  const channel = 'pipelinechannel--make-data-Output';
  const heads = root.dag('condition-2', {
    display: 'If heads',
    params: { [channel]: P.task('make-data', 'Output', 'heads') },
    condition: `inputs.parameter_values['${channel}'] == 'heads'`,
    dependsOn: ['make-data'],
  });
  heads.container('celebrate', { display: 'Celebrate', params: { msg: P.input(channel, 'heads') } });
  const item = 'pipelinechannel--loop-item-param-3';
  const sweep = root.loop('for-loop-3', { display: 'Sweep seeds', itemInput: item, items: { raw: [7, 11] } });
  sweep.forEach((it, seed) => {
    it.container('fit', { display: 'Fit', params: { seed: P.input(item, seed) } });
  });
  const sub = root.dag('evaluation-pipeline', { display: 'Evaluation sub-pipeline', artifacts: { data: A.from(make.out.data!) }, dependsOn: ['make-data'] });
  sub.container('score', { display: 'Score model', artifacts: { data: A.input('data', make.out.data!) }, outputs: { metrics: { type: 'system.Metrics', metadata: { auc: 0.91 } } } });
  root.container('notify', {
    display: 'Notify',
    cache: false,
    params: { status: P.status('exit-handler-1', { state: 'SUCCEEDED', pipelineTaskName: 'exit-handler-1' }) },
    dependsOn: ['exit-handler-1'],
    strategy: 'ALL_UPSTREAM_TASKS_COMPLETED',
  });
  return 'SUCCEEDED';
}

const TRAINING_PARAMS = { dataset_url: 'gs://ml-data/iris.csv', lr: 0.01, epochs: 10 };
const IMPORT_PARAMS = {};

/** In rotation order. The cache and importer-reuse slots rely on the runs before them. */
export const SHAPES: readonly Shape[] = [
  { name: 'containers', pipeline: 'training-pipeline', era: 'kfp-2.17', namespaceSlot: 0, params: TRAINING_PARAMS, build: trainingPipeline },
  { name: 'nested-pipeline', pipeline: 'nested-training', era: 'kfp-2.5', namespaceSlot: 1, params: { lr: 0.1 }, build: nestedPipeline },
  { name: 'conditions', pipeline: 'coin-flip', era: 'kfp-2.17', namespaceSlot: 0, params: {}, build: conditions },
  { name: 'parallel-for', pipeline: 'hyperparam-sweep', era: 'kfp-2.17', namespaceSlot: 2, params: {}, build: parallelFor },
  { name: 'loop-edge-cases', pipeline: 'loop-edge-cases', era: 'kfp-2.0', namespaceSlot: 1, params: { run_extra: false }, build: loopEdgeCases },
  { name: 'exit-handler', pipeline: 'etl-with-cleanup', era: 'kfp-2.17', namespaceSlot: 0, params: { source: 's3://raw/2025' }, build: exitHandler },
  { name: 'importers', pipeline: 'import-and-train', era: 'kfp-2.17', namespaceSlot: 0, params: IMPORT_PARAMS, build: importers },
  { name: 'pvc-ops', pipeline: 'pvc-pipeline', era: 'kfp-2.5', namespaceSlot: 1, params: {}, build: pvcOps },
  { name: 'cache-hits', pipeline: 'training-pipeline', era: 'kfp-2.17', namespaceSlot: 0, params: TRAINING_PARAMS, build: trainingPipeline },
  { name: 'importer-reuse', pipeline: 'import-and-train', era: 'kfp-2.17', namespaceSlot: 1, params: IMPORT_PARAMS, build: importers },
  { name: 'retry-canceled', pipeline: 'flaky-pipeline', era: 'kfp-2.5', namespaceSlot: 2, params: {}, build: retriedThenCanceled },
  { name: 'still-running', pipeline: 'long-training', era: 'kfp-2.17', namespaceSlot: 1, params: {}, build: stillRunning },
];

/**
 * Shapes written only in later seed cycles (after the first twelve runs), each by every era in
 * turn: they matter for the KFP releases whose task_name was the display name.
 */
export const RELEASE_SHAPES: readonly Shape[] = [
  { name: 'named-groups', pipeline: 'named-groups', era: 'kfp-2.0', namespaceSlot: 0, params: {}, build: namedGroups },
];

/** Old-style training run (pre-2024 writer) so `task_name` display names appear in containers too. */
export const LEGACY_TRAINING: Shape = {
  name: 'containers-legacy',
  pipeline: 'training-pipeline-legacy',
  era: 'kfp-2.0',
  namespaceSlot: 2,
  params: TRAINING_PARAMS,
  build: trainingPipeline,
};
