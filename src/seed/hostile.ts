/**
 * Records a real MLMD database accumulates that a migration must refuse or repair, each planted on
 * purpose and reported with the reason code the migration is expected to emit
 * (src/transform/reject-codes.ts). Apart from the orphan and the non-KFP data, each defect sits in
 * an otherwise ordinary run, so a migration that mishandles it shows up as drift in that run only.
 */
import { EVENT_TYPE, EXECUTION_STATE } from '../transform/model.ts';
import type { ExecutionRecord, MlmdStore } from './mlmd-store.ts';
import { DATA_TYPE } from './mlmd-store.ts';
import type { RunBuilder } from './run-builder.ts';

export interface HostileRecord {
  code: string;
  entity: string;
  mlmdId: number | string;
  note: string;
}

/** Builds one ordinary training run; `tamper` runs after the shape and before the run's spec is rendered. */
export type OrdinaryRun = (pipeline: string, opts: { writeRunDetails?: boolean; tamper?: (run: RunBuilder) => void }) => RunBuilder;

/** Ids nothing else uses: far above what any seed allocates, still inside MySQL's 32-bit INT. */
const MISSING_EXECUTION_ID = 1_999_999_999;
const MISSING_ARTIFACT_ID = 2_000_000_000;

function taskExec(run: RunBuilder, key: string): ExecutionRecord {
  const found = run.executions.find((e) => {
    const t = e.custom.task_name;
    const d = e.custom.display_name;
    return (t !== undefined && 'string' in t && t.string === key) || (d !== undefined && 'string' in d && d.string === key);
  });
  if (!found) throw new Error(`hostile seed: run ${run.opts.uuid} has no task ${key}`);
  return found;
}

/**
 * Tampering with what a driver hashed breaks the execution's stored fingerprint too: a SUCCEEDED
 * container then keeps it (migrate --fingerprints kfp3, the default), reported with the reason.
 */
function fingerprintBroken(out: HostileRecord[], e: ExecutionRecord, reason: string): void {
  if (e.state === EXECUTION_STATE.COMPLETE && e.custom.cache_fingerprint) {
    out.push({ code: 'FINGERPRINT_NOT_REPRODUCED', entity: 'execution', mlmdId: e.id, note: `${reason} (with --fingerprints kfp3)` });
  }
}

export function plantHostile(store: MlmdStore, ordinaryRun: OrdinaryRun, baseMs: number): HostileRecord[] {
  const out: HostileRecord[] = [];

  const orphan = ordinaryRun('deleted-pipeline', { writeRunDetails: false });
  out.push({ code: 'ORPHAN_RUN', entity: 'run', mlmdId: orphan.runContextId, note: `run context ${orphan.opts.uuid} has no run_details row` });

  out.push(...plantTfx(store, baseMs), ...plantKfpV1(store, baseMs + 3_600_000));

  ordinaryRun('hostile-corrupt-base64', {
    tamper(run) {
      const e = taskExec(run, 'preprocess');
      e.custom.inputs = { rawString: 'mlmd-struct::%%not*base64%%' };
      out.push({ code: 'CORRUPT_PROPERTY', entity: 'property', mlmdId: e.id, note: 'execution inputs: mlmd-struct:: payload is not base64' });
      fingerprintBroken(out, e, 'INPUTS_UNREADABLE: the inputs it was keyed by are corrupt');
    },
  });
  ordinaryRun('hostile-corrupt-proto', {
    tamper(run) {
      const e = taskExec(run, 'evaluate');
      // Field 1, length-delimited, with a length varint that never ends: no Struct decoder accepts it.
      e.custom.inputs = { rawString: `mlmd-struct::${Buffer.from([0x0a, 0xff, 0xff]).toString('base64')}` };
      out.push({ code: 'CORRUPT_PROPERTY', entity: 'property', mlmdId: e.id, note: 'execution inputs: base64 decodes to a truncated protobuf' });
    },
  });
  ordinaryRun('hostile-dangling-parent', {
    tamper(run) {
      const e = taskExec(run, 'evaluate');
      e.custom.parent_dag_id = { int: MISSING_EXECUTION_ID };
      out.push({ code: 'DANGLING_PARENT', entity: 'execution', mlmdId: e.id, note: `parent_dag_id ${MISSING_EXECUTION_ID} does not exist` });
    },
  });
  ordinaryRun('hostile-missing-artifact', {
    tamper(run) {
      const e = taskExec(run, 'upload-model');
      const eventId = store.addEvent(MISSING_ARTIFACT_ID, e.id, EVENT_TYPE.INPUT, e.createMs, ['baseline']);
      out.push({ code: 'MISSING_ARTIFACT', entity: 'event', mlmdId: eventId, note: `INPUT event names artifact ${MISSING_ARTIFACT_ID}, which does not exist` });
      fingerprintBroken(out, e, 'KEY_DIFFERS: an input the driver never keyed was added');
    },
  });
  ordinaryRun('hostile-long-display-name', {
    tamper(run) {
      const e = taskExec(run, 'upload-model');
      const long = `Upload the freshly trained and evaluated model to the production model registry ${'and notify every subscriber '.repeat(3)}`.trim();
      e.custom.display_name = { string: long };
      const task = run.spec.root.dag?.tasks['upload-model'];
      if (task) task.taskInfo.name = long;
      out.push({ code: 'TRUNCATED_STRING', entity: 'execution', mlmdId: e.id, note: `display_name is ${long.length} characters (tasks.DisplayName holds 128)` });
    },
  });
  ordinaryRun('hostile-long-uri', {
    tamper(run) {
      const e = taskExec(run, 'upload-model');
      const ev = store.pendingEvents(e.id).find((x) => x.type === EVENT_TYPE.OUTPUT);
      const art = ev ? store.pendingArtifact(ev.artifactId) : undefined;
      if (!art) throw new Error('hostile seed: upload-model published no artifact');
      art.uri = `${art.uri}/${'deeply/nested/'.repeat(150)}model.bin`;
      out.push({ code: 'URI_TOO_LONG', entity: 'artifact', mlmdId: art.id, note: `uri is ${art.uri.length} characters (artifacts.URI holds 2048)` });
    },
  });
  ordinaryRun('hostile-long-key', {
    tamper(run) {
      const e = taskExec(run, 'upload-model');
      const ev = store.pendingEvents(e.id).find((x) => x.type === EVENT_TYPE.INPUT && x.keys[0] === 'model');
      if (!ev) throw new Error('hostile seed: upload-model has no model input');
      const longKey = `model_${'with_a_very_long_input_name_'.repeat(8)}end`;
      ev.keys[0] = longKey;
      // Keep the spec in step: the task and its component name the input by the same long key.
      const task = run.spec.root.dag?.tasks['upload-model'];
      const binding = task?.inputs?.artifacts?.model;
      if (task?.inputs?.artifacts && binding) {
        delete task.inputs.artifacts.model;
        task.inputs.artifacts[longKey] = binding;
      }
      const defs = run.spec.components['comp-upload-model']?.inputDefinitions?.artifacts;
      if (defs?.model) {
        defs[longKey] = defs.model;
        delete defs.model;
      }
      out.push({ code: 'KEY_TOO_LONG', entity: 'event', mlmdId: ev.id, note: `event path key is ${longKey.length} characters (artifact_tasks.ArtifactKey holds 191)` });
      fingerprintBroken(out, e, 'KEY_DIFFERS: its input was renamed after the driver keyed it');
    },
  });
  ordinaryRun('hostile-broken-manifest', {
    tamper(run) {
      // Cut off inside a flow sequence, as a truncated copy of the column leaves it: no YAML reader accepts it.
      const full = run.spec.toYaml();
      run.spec.manifestOverride = `${full.slice(0, full.indexOf('\n', full.length >> 1))}\n  broken: [unclosed\n`;
      out.push({ code: 'SPEC_UNREADABLE', entity: 'context', mlmdId: run.runContextId, note: 'run_details.PipelineSpecManifest is cut off mid-document' });
    },
  });
  return out;
}

/** What TFX writes for itself: pipeline / pipeline_run / node contexts, component-named execution types. */
function plantTfx(store: MlmdStore, ms: number): HostileRecord[] {
  const out: HostileRecord[] = [];
  const pipelineName = 'chicago_taxi_simple';
  const runName = '2023-06-01T10:00:00.123456';
  store.typeId('context', 'pipeline', { pipeline_name: DATA_TYPE.STRING });
  store.typeId('context', 'pipeline_run', { pipeline_name: DATA_TYPE.STRING, run_id: DATA_TYPE.STRING });
  store.typeId('context', 'node', { pipeline_name: DATA_TYPE.STRING, node_id: DATA_TYPE.STRING });
  const contexts = [
    store.addContext('pipeline', pipelineName, ms, {}, { pipeline_name: { string: pipelineName } }),
    store.addContext('pipeline_run', runName, ms, {}, { pipeline_name: { string: pipelineName }, run_id: { string: runName } }),
    store.addContext('node', `${pipelineName}.CsvExampleGen`, ms, {}, { pipeline_name: { string: pipelineName }, node_id: { string: 'CsvExampleGen' } }),
    store.addContext('node', `${pipelineName}.Trainer`, ms, {}, { pipeline_name: { string: pipelineName }, node_id: { string: 'Trainer' } }),
  ];
  const ctxTypes = ['pipeline', 'pipeline_run', 'node', 'node'];
  contexts.forEach((id, i) => out.push({ code: 'NON_KFP_CONTEXT', entity: 'context', mlmdId: id, note: `TFX ${ctxTypes[i]} context` }));
  store.typeId('artifact', 'Examples', { span: DATA_TYPE.INT, split_names: DATA_TYPE.STRING, version: DATA_TYPE.INT });
  store.typeId('artifact', 'Model');

  const gen = store.addExecution({
    typeName: 'tfx.components.example_gen.csv_example_gen.component.CsvExampleGen',
    name: null,
    state: EXECUTION_STATE.COMPLETE,
    createMs: ms + 1_000,
    updateMs: ms + 41_000,
    custom: { input_base: { string: 'gs://tfx-data/taxi' }, state: { string: 'complete' } },
  });
  const examples = store.addArtifact({
    typeName: 'Examples',
    uri: 'gs://tfx-root/CsvExampleGen/examples/1',
    createMs: ms + 41_000,
    updateMs: ms + 41_000,
    custom: { state: { string: 'published' }, tfx_version: { string: '1.14.0' } },
    declared: { span: { int: 0 }, split_names: { string: '["train", "eval"]' }, version: { int: 0 } },
  });
  const trainer = store.addExecution({
    typeName: 'Trainer',
    name: null,
    state: EXECUTION_STATE.COMPLETE,
    createMs: ms + 50_000,
    updateMs: ms + 350_000,
    custom: { module_file: { string: 'gs://tfx-code/taxi_utils.py' }, state: { string: 'complete' } },
  });
  const model = store.addArtifact({
    typeName: 'Model',
    uri: 'gs://tfx-root/Trainer/model/2',
    createMs: ms + 350_000,
    updateMs: ms + 350_000,
    custom: { state: { string: 'published' } },
  });
  store.addEvent(examples.id, gen.id, EVENT_TYPE.OUTPUT, ms + 41_000, ['examples']);
  store.addEvent(examples.id, trainer.id, EVENT_TYPE.INPUT, ms + 50_000, ['examples']);
  store.addEvent(model.id, trainer.id, EVENT_TYPE.OUTPUT, ms + 350_000, ['model']);
  const [pipelineCtx, runCtx, genNode, trainerNode] = contexts as [number, number, number, number];
  for (const [exec, node] of [
    [gen.id, genNode],
    [trainer.id, trainerNode],
  ] as const) {
    for (const c of [pipelineCtx, runCtx, node]) store.associate(c, exec);
  }
  for (const a of [examples.id, model.id]) for (const c of [pipelineCtx, runCtx]) store.attribute(c, a);
  store.addParentContext(runCtx, pipelineCtx);
  for (const e of [gen, trainer]) out.push({ code: 'NON_KFP_EXECUTION', entity: 'execution', mlmdId: e.id, note: `TFX execution of type ${e.typeName}` });
  return out;
}

/** What KFP v1's metadata_writer writes (kfp-facts.md §E.3). */
function plantKfpV1(store: MlmdStore, ms: number): HostileRecord[] {
  const out: HostileRecord[] = [];
  const workflow = 'xgboost-training-gk5pt';
  const runId = '3d7c6a57-5b1f-4c1e-9a57-1f0b8c3f2e11';
  store.typeId('context', 'KfpRun', { pipeline_name: DATA_TYPE.STRING, run_id: DATA_TYPE.STRING });
  const ctx = store.addContext('KfpRun', workflow, ms, {}, { pipeline_name: { string: 'xgboost-training' }, run_id: { string: runId } });
  out.push({ code: 'NON_KFP_CONTEXT', entity: 'context', mlmdId: ctx, note: 'KFP v1 KfpRun context (metadata_writer)' });
  const execDeclared = { pipeline_name: DATA_TYPE.STRING, run_id: DATA_TYPE.STRING, component_id: DATA_TYPE.STRING };
  const steps = [
    { type: 'components.2f9c1a0e', pod: `${workflow}-1130421842`, component: 'dataproc-create-cluster', input: ['input:region', 'us-central1'] },
    { type: 'components.7b44d2c3', pod: `${workflow}-2260813511`, component: 'xgboost-trainer', input: ['input:rounds', '200'] },
  ] as const;
  let prev: number | null = null;
  steps.forEach((s, i) => {
    store.typeId('execution', s.type, execDeclared);
    const exec = store.addExecution({
      typeName: s.type,
      name: null,
      state: EXECUTION_STATE.COMPLETE,
      createMs: ms + 10_000 * (i + 1),
      updateMs: ms + 10_000 * (i + 1) + 5_000,
      declared: { pipeline_name: { string: 'xgboost-training' }, run_id: { string: runId }, component_id: { string: s.component } },
      custom: { kfp_pod_name: { string: s.pod }, [s.input[0]]: { string: s.input[1] } },
    });
    store.associate(ctx, exec.id);
    out.push({ code: 'NON_KFP_EXECUTION', entity: 'execution', mlmdId: exec.id, note: `KFP v1 execution of type ${s.type}` });
    if (prev !== null) store.addEvent(prev, exec.id, EVENT_TYPE.INPUT, exec.createMs, ['cluster']);
    const art = store.addArtifact({
      typeName: 'NoType',
      uri: `minio://mlpipeline/artifacts/${workflow}/${s.pod}/mlpipeline-ui-metadata.tgz`,
      createMs: exec.updateMs,
      updateMs: exec.updateMs,
      custom: {
        name: { string: 'mlpipeline-ui-metadata' },
        pipeline_name: { string: 'xgboost-training' },
        run_id: { string: runId },
        argo_artifact: { string: JSON.stringify({ name: 'mlpipeline-ui-metadata', s3: { key: `artifacts/${workflow}/${s.pod}/mlpipeline-ui-metadata.tgz` } }) },
      },
    });
    store.addEvent(art.id, exec.id, EVENT_TYPE.OUTPUT, exec.updateMs, ['mlpipeline-ui-metadata']);
    store.attribute(ctx, art.id);
    prev = art.id;
  });
  return out;
}
