/**
 * One KFP 2.x run in memory that exercises every mapping rule: root, containers, a collapsed
 * ParallelFor loop, condition branches, an exit handler, an importer, a nested pipeline with a k8s
 * PVC op, cache hits, a retried task and every artifact kind.
 */
import { RunBuilder, dbl, int, str, struct } from './bundle.ts';

export const SAMPLE_SPEC = {
  pipelineInfo: { name: 'my-pipeline' },
  root: {
    inputDefinitions: { parameters: { lr: { parameterType: 'NUMBER_DOUBLE' }, items: { parameterType: 'LIST' } } },
    dag: {
      tasks: {
        preprocess: { taskInfo: { name: 'Preprocess' }, componentRef: { name: 'comp-preprocess' }, inputs: { parameters: { lr: { componentInputParameter: 'lr' } } } },
        'for-loop-2': {
          taskInfo: { name: 'for-loop-2' },
          componentRef: { name: 'comp-for-loop-2' },
          parameterIterator: { itemInput: 'pipelinechannel--items-loop-item', items: { inputParameter: 'pipelinechannel--items' } },
          inputs: {
            parameters: { 'pipelinechannel--items': { componentInputParameter: 'items' } },
            artifacts: { 'pipelinechannel--preprocess-data': { taskOutputArtifact: { producerTask: 'preprocess', outputArtifactKey: 'data' } } },
          },
        },
        'condition-branches-1': { taskInfo: { name: 'condition-branches-1' }, componentRef: { name: 'comp-condition-branches-1' } },
        'exit-handler-1': { taskInfo: { name: 'exit-handler-1' }, componentRef: { name: 'comp-exit-handler-1' } },
        cleanup: {
          taskInfo: { name: 'cleanup' },
          componentRef: { name: 'comp-cleanup' },
          triggerPolicy: { strategy: 'ALL_UPSTREAM_TASKS_COMPLETED' },
          inputs: { parameters: { status: { taskFinalStatus: { producerTask: 'exit-handler-1' } } } },
        },
        importer: { taskInfo: { name: 'importer' }, componentRef: { name: 'comp-importer' } },
        evaluate: {
          taskInfo: { name: 'Evaluate' },
          componentRef: { name: 'comp-evaluate' },
          inputs: {
            parameters: { threshold: { runtimeValue: { constant: 0.5 } }, rows: { taskOutputParameter: { producerTask: 'preprocess', outputParameterKey: 'rows' } } },
            artifacts: { model: { taskOutputArtifact: { producerTask: 'importer', outputArtifactKey: 'artifact' } } },
          },
        },
        'inner-pipeline': { taskInfo: { name: 'inner-pipeline' }, componentRef: { name: 'comp-inner-pipeline' } },
      },
    },
  },
  components: {
    'comp-preprocess': { executorLabel: 'exec-preprocess' },
    'comp-for-loop-2': {
      dag: {
        tasks: {
          train: {
            taskInfo: { name: 'Train' },
            componentRef: { name: 'comp-train' },
            inputs: {
              parameters: { item: { componentInputParameter: 'pipelinechannel--items-loop-item' } },
              artifacts: { data: { componentInputArtifact: 'pipelinechannel--preprocess-data' } },
            },
          },
        },
      },
    },
    'comp-train': { executorLabel: 'exec-train', inputDefinitions: { parameters: { epochs: { parameterType: 'NUMBER_INTEGER', defaultValue: 3 } } } },
    'comp-condition-branches-1': {
      dag: {
        tasks: {
          'condition-2': { taskInfo: { name: 'condition-2' }, componentRef: { name: 'comp-condition-2' }, triggerPolicy: { condition: "inputs.parameter_values['x'] == 1" } },
          'condition-3': { taskInfo: { name: 'condition-3' }, componentRef: { name: 'comp-condition-3' }, triggerPolicy: { condition: "!(inputs.parameter_values['x'] == 1)" } },
        },
      },
    },
    'comp-condition-2': { dag: { tasks: {} } },
    'comp-condition-3': { dag: { tasks: {} } },
    'comp-exit-handler-1': { dag: { tasks: { work: { taskInfo: { name: 'work' }, componentRef: { name: 'comp-work' } } } } },
    'comp-work': { executorLabel: 'exec-work' },
    'comp-cleanup': { executorLabel: 'exec-cleanup' },
    'comp-importer': { executorLabel: 'exec-importer' },
    'comp-evaluate': { executorLabel: 'exec-evaluate' },
    'comp-inner-pipeline': { dag: { tasks: { createpvc: { taskInfo: { name: 'createpvc' }, componentRef: { name: 'comp-createpvc' } } } } },
    'comp-createpvc': { executorLabel: 'exec-createpvc' },
  },
  deploymentSpec: {
    executors: {
      'exec-preprocess': { container: { image: 'python:3.11' } },
      'exec-train': { container: { image: 'python:3.11' } },
      'exec-createpvc': { container: { image: 'argostub/createpvc' } },
      'exec-importer': { importer: { artifactUri: { constant: 'gs://b/model' } } },
    },
  },
};

export function sampleRun() {
  const b = new RunBuilder('run-1').withSpec(SAMPLE_SPEC);
  const C = 'system.ContainerExecution';
  const D = 'system.DAGExecution';
  const root = b.root({ lr: 0.1, items: [1, 2] });
  const parent = (id: number) => ({ parent_dag_id: int(id) });
  const ids = {
    root,
    preprocess: b.exec(C, {
      ...parent(root), task_name: str('preprocess'), display_name: str('Preprocess'), inputs: struct({ lr: 0.1 }), outputs: struct({ rows: 10 }),
      pod_name: str('p-1'), pod_uid: str('u-1'), namespace: str('team-a'), image: str(''), cache_fingerprint: str('fp-pre'),
    }),
    loop: 0, iter0: 0, iter1: 0, train0: 0, train1: 0, cb: 0, c2: 0, c3: 0, eh: 0, work: 0, cleanup: 0, importer: 0, evaluate: 0, inner: 0, createpvc: 0, retryOld: 0,
  };
  ids.loop = b.exec(D, { ...parent(root), task_name: str('for-loop-2'), display_name: str('for-loop-2'), iteration_count: int(2), inputs: struct({ 'pipelinechannel--items': [1, 2] }), total_dag_tasks: int(1) });
  ids.iter0 = b.exec(D, { parent_dag_id: int(ids.loop), task_name: str('for-loop-2'), display_name: str('for-loop-2'), iteration_index: int(0), inputs: struct({ 'pipelinechannel--items-loop-item': 1 }) });
  ids.iter1 = b.exec(D, { parent_dag_id: int(ids.loop), task_name: str('for-loop-2'), display_name: str('for-loop-2'), iteration_index: int(1), inputs: struct({ 'pipelinechannel--items-loop-item': 2 }) }, { state: 2 });
  ids.train0 = b.exec(C, { parent_dag_id: int(ids.iter0), task_name: str('train'), display_name: str('Train'), inputs: struct({ item: 1, epochs: 3 }), outputs: struct({ acc: 0.9 }), pod_name: str('p-t0'), pod_uid: str('u-t0'), cache_fingerprint: str('fp-t0') });
  ids.train1 = b.exec(C, { parent_dag_id: int(ids.iter1), task_name: str('train'), display_name: str('Train'), inputs: struct({ item: 2, epochs: 3 }), outputs: struct({ acc: 0.9 }), pod_name: str(''), pod_uid: str(''), cache_fingerprint: str('fp-t1'), cached_execution_id: str('55') }, { state: 5 });
  ids.cb = b.exec(D, { ...parent(root), task_name: str('condition-branches-1'), display_name: str('condition-branches-1') });
  ids.c2 = b.exec(D, { parent_dag_id: int(ids.cb), task_name: str('condition-2'), display_name: str('condition-2') });
  ids.c3 = b.exec(D, { parent_dag_id: int(ids.cb), task_name: str('condition-3'), display_name: str('condition-3') }, { state: 6 });
  ids.eh = b.exec(D, { ...parent(root), task_name: str('exit-handler-1'), display_name: str('exit-handler-1') }, { state: 4 });
  ids.work = b.exec(C, { parent_dag_id: int(ids.eh), task_name: str('work'), display_name: str('work'), cache_fingerprint: str('fp-w'), pod_name: str('p-w'), pod_uid: str('u-w') }, { state: 4 });
  ids.cleanup = b.exec(C, { ...parent(root), task_name: str('cleanup'), display_name: str('cleanup'), inputs: struct({ status: { state: 'FAILED' } }) });
  ids.importer = b.exec('system.ImporterExecution', { ...parent(root), task_name: str('importer'), display_name: str('') });
  ids.evaluate = b.exec(C, { ...parent(root), task_name: str('Evaluate'), display_name: str('Evaluate'), inputs: struct({ threshold: 0.5, rows: 10 }) }, { state: 2 });
  ids.inner = b.exec(D, { ...parent(root), task_name: str('inner-pipeline'), display_name: str('inner-pipeline') }, { state: 2 });
  ids.createpvc = b.exec(C, { parent_dag_id: int(ids.inner), task_name: str('createpvc'), display_name: str('createpvc'), pod_name: str('drv-1'), pod_uid: str('du-1'), outputs: struct({ name: 'pvc-1' }) });
  // A retried cleanup: an older execution with the same run, parent and key.
  ids.retryOld = b.exec(C, { ...parent(root), task_name: str('cleanup'), display_name: str('cleanup') }, { state: 4, id: 90 });

  const data = b.artifact('system.Dataset', 'minio://b/v2/my-pipeline/run-1/preprocess/x/data', { display_name: str('data'), store_session_info: str('{"Provider":"minio"}') });
  const model = b.artifact('system.Model', 'gs://b/models/resnet?x=1', { framework: str('tf'), is_best: int(1), is_old: int(0), layers: int(7) });
  const metrics = b.artifact('system.Metrics', 'minio://b/metrics', { display_name: str('metrics'), accuracy: dbl(0.9), loss: dbl(0.125) });
  const cls = b.artifact('system.ClassificationMetrics', 'minio://b/cls', {
    display_name: str('cls'),
    confusionMatrix: struct({ struct: { annotationSpecs: [{ displayName: 'a' }], rows: [{ row: [1, 0] }] } }),
    confidenceMetrics: struct({ list: [{ confidenceThreshold: 0.5, recall: 1 }] }),
  });
  const vertex = b.artifact('google.VertexModel', 'https://vertex/m/1', { display_name: str('vm') });
  const ev = {
    dataOut: b.event(data, ids.preprocess, 'OUTPUT', 'data'),
    dataLoopIn: b.event(data, ids.loop, 'INPUT', 'pipelinechannel--preprocess-data'),
    dataIter0In: b.event(data, ids.iter0, 'INPUT', 'pipelinechannel--preprocess-data'),
    dataIter1In: b.event(data, ids.iter1, 'INPUT', 'pipelinechannel--preprocess-data'),
    dataTrain0In: b.event(data, ids.train0, 'INPUT', 'data'),
    dataTrain1In: b.event(data, ids.train1, 'INPUT', 'data'),
    modelOut: b.event(model, ids.importer, 'OUTPUT', 'artifact'),
    modelIn: b.event(model, ids.evaluate, 'INPUT', 'model'),
    metricsOut0: b.event(metrics, ids.train0, 'OUTPUT', 'metrics'),
    metricsOut1: b.event(metrics, ids.train1, 'OUTPUT', 'metrics'),
    clsOut: b.event(cls, ids.train0, 'OUTPUT', 'cls'),
    vertexOut: b.event(vertex, ids.train1, 'OUTPUT', 'vm'),
  };
  return { builder: b, ids, artifacts: { data, model, metrics, cls, vertex }, events: ev };
}
