/**
 * Writes one KFP 2.x run: the MLMD records its drivers and launchers would have written, and the
 * pipeline spec those records were compiled from, built together so they cannot disagree.
 *
 * A `DagScope` stands for one DAG execution and the component whose `dag.tasks` its children
 * come from. Scopes of DAGs that never ran (condition false) still declare their tasks in the
 * spec but create no executions.
 */
import type { Param } from '../db/connection.ts';
import { type CacheKey, cacheKeyFingerprint, customCacheKeyFingerprint } from '../transform/cache-key.ts';
import { EVENT_TYPE, EXECUTION_STATE, type JsonObject, type JsonValue } from '../transform/model.ts';
import { ERAS, type Era, type EraProfile } from './era.ts';
import type { ExecutionRecord, MlmdStore, PropMap } from './mlmd-store.ts';
import {
  type ArtifactBindingSpec,
  type ComponentSpec,
  type DagOutputs,
  type ParameterBindingSpec,
  PipelineSpecBuilder,
  type TaskSpec,
  artifactType,
  parameterTypeOf,
} from './pipeline-spec.ts';
import type { Prng } from './prng.ts';

export const DEFAULT_PIPELINE_ROOT = 'minio://mlpipeline/v2/artifacts';

/** The default minio session of current master (`config/env.go`), as Go's encoding/json renders it. */
const MINIO_SESSION =
  '{"Provider":"minio","Params":{"accessKeyKey":"accesskey","disableSSL":"true","endpoint":"seaweedfs.kubeflow:9000","fromEnv":"false","maxRetries":"5","region":"minio","secretKeyKey":"secretkey","secretName":"mlpipeline-minio-artifact"}}';

// ---------------------------------------------------------------- what crosses runs

export interface ArtifactRef {
  id: number;
  typeName: string;
  /** Task key that produced it, and its output key. */
  producer: string;
  key: string;
  /** A workspace importer produced it: a task reading it mounts the run's workspace PVC. */
  workspace?: boolean;
}

export interface CacheEntry {
  executionId: number;
  /** The source's `outputs` property; null when it had none (then the hit has none either). */
  outputs: JsonObject | null;
  outputArtifacts: ArtifactRef[];
}

/** State shared by all runs of one seed. */
export interface SeedWorld {
  store: MlmdStore;
  prng: Prng;
  /** Cache rows by namespace|pipeline|fingerprint: what the v1 `tasks` table lets a later driver find. */
  cache: Map<string, CacheEntry>;
  /** Imported artifacts by pipeline context|uri|type, for importers with reimport=false. */
  imports: Map<string, ArtifactRef>;
  pipelineContexts: Map<string, number>;
  kfp: { runDetails: Param[][]; v1Tasks: Param[][] };
}

// ---------------------------------------------------------------- inputs

export type ParamInput =
  | { kind: 'component'; name: string; value: JsonValue }
  | { kind: 'task'; producer: string; key: string; value: JsonValue }
  | { kind: 'constant'; value: JsonValue }
  | { kind: 'status'; producer: string; value: JsonValue };

export const P = {
  input: (name: string, value: JsonValue): ParamInput => ({ kind: 'component', name, value }),
  task: (producer: string, key: string, value: JsonValue): ParamInput => ({ kind: 'task', producer, key, value }),
  constant: (value: JsonValue): ParamInput => ({ kind: 'constant', value }),
  status: (producer: string, value: JsonObject): ParamInput => ({ kind: 'status', producer, value }),
};

export type ArtifactInput =
  | { kind: 'component'; name: string; artifacts: ArtifactRef[]; list?: boolean }
  | { kind: 'task'; producer: string; key: string; artifacts: ArtifactRef[]; list?: boolean };

export const A = {
  /** The output `ref` of a sibling task. */
  from: (ref: ArtifactRef): ArtifactInput => ({ kind: 'task', producer: ref.producer, key: ref.key, artifacts: [ref] }),
  /** An artifact the enclosing DAG received as input `name`. */
  input: (name: string, ...refs: ArtifactRef[]): ArtifactInput => ({ kind: 'component', name, artifacts: refs }),
  /** `dsl.Collected`: every iteration's output of a loop, one INPUT event each under the same key. */
  collected: (loopKey: string, outputKey: string, refs: ArtifactRef[]): ArtifactInput => ({
    kind: 'task',
    producer: loopKey,
    key: outputKey,
    artifacts: refs,
    list: true,
  }),
};

export interface OutputArtifact {
  type: string;
  metadata?: JsonObject;
  /** Overrides the provisioned URI (hostile seeds). */
  uri?: string;
}

type FinalState = 'COMPLETE' | 'FAILED' | 'RUNNING' | 'CANCELED';

export interface ContainerOptions {
  display?: string;
  component?: string;
  image?: string;
  params?: Record<string, ParamInput>;
  artifacts?: Record<string, ArtifactInput>;
  outputs?: Record<string, OutputArtifact>;
  outputParams?: Record<string, JsonValue>;
  /** What the task ended as; COMPLETE may become CACHED when an earlier run left a matching cache row. */
  state?: FinalState;
  cache?: boolean;
  dependsOn?: string[];
  condition?: string;
  strategy?: 'ALL_UPSTREAM_TASKS_COMPLETED';
  k8s?: 'createpvc' | 'deletepvc';
  retries?: number;
  /** PVCs the kubernetes platform config mounts, named by an upstream task's output parameter (a createpvc's `name`). */
  pvcMounts?: { mountPath: string; producer: string; key: string; pvcName: string }[];
  /** `cachingOptions.cacheKey` (eras with custom cache keys only). */
  cacheKey?: string;
}

export interface DagOptions {
  display?: string;
  component?: string;
  params?: Record<string, ParamInput>;
  artifacts?: Record<string, ArtifactInput>;
  dependsOn?: string[];
  condition?: string;
  /** false: the condition evaluated false; the DAG is published CANCELED and its tasks never run. */
  triggered?: boolean;
  /** DAG outputs, resolved from children: name → [child task key, child output key]. */
  outputParams?: Record<string, [string, string]>;
  outputArtifacts?: Record<string, [string, string]>;
}

export interface LoopOptions extends DagOptions {
  itemInput: string;
  items: { raw: JsonValue[] } | { input: string; value: JsonValue[] };
}

export interface TaskResult {
  key: string;
  exec: ExecutionRecord | null;
  out: Record<string, ArtifactRef>;
  outputParams: JsonObject;
}

// ---------------------------------------------------------------- the run

export interface RunOptions {
  uuid: string;
  pipelineName: string;
  displayName: string;
  namespace: string;
  era: Era;
  startMs: number;
  params: Record<string, JsonValue>;
}

export class RunBuilder {
  readonly era: EraProfile;
  readonly spec: PipelineSpecBuilder;
  readonly workflowName: string;
  readonly runContextId: number;
  readonly pipelineContextId: number;
  readonly root: DagScope;
  /** Executor logs are published for this run (log publishing is a deployment option). */
  logs = false;
  now: number;
  /** Every non-root DAG that has an execution, in creation order. */
  private readonly dags: DagScope[] = [];
  /** Each container the launcher ran to an end, with its parent DAG's children at that moment. */
  private readonly launcherEnds: { dag: DagScope; children: ExecutionRecord[]; atMs: number }[] = [];
  readonly executions: ExecutionRecord[] = [];

  constructor(
    readonly world: SeedWorld,
    readonly opts: RunOptions,
  ) {
    this.era = ERAS[opts.era];
    this.now = opts.startMs;
    const prng = world.prng;
    this.spec = new PipelineSpecBuilder(opts.pipelineName, DEFAULT_PIPELINE_ROOT, this.era.sdkVersion);
    this.workflowName = `${opts.pipelineName.slice(0, 50)}-${prng.hex(5).replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)]!)}`;
    const store = world.store;

    let pipelineCtx = world.pipelineContexts.get(opts.pipelineName);
    if (pipelineCtx === undefined) {
      pipelineCtx = store.addContext('system.Pipeline', opts.pipelineName, this.now);
      world.pipelineContexts.set(opts.pipelineName, pipelineCtx);
    }
    this.pipelineContextId = pipelineCtx;
    const runCtxProps: PropMap = {
      namespace: { string: this.podNamespace },
      resource_name: { string: 'run-resource' },
      pipeline_root: { string: this.pipelineRunRoot },
    };
    if (this.era.runContextSessionInfo) runCtxProps.store_session_info = { string: MINIO_SESSION };
    this.runContextId = store.addContext('system.PipelineRun', opts.uuid, this.now, runCtxProps);
    store.addParentContext(this.runContextId, pipelineCtx);

    const rootInputs: JsonObject = { ...opts.params };
    this.spec.root.inputDefinitions = {
      parameters: Object.fromEntries(
        Object.entries(opts.params).map(([k, v]) => [k, { parameterType: parameterTypeOf(v), defaultValue: v }]),
      ),
    };
    const rootExec = this.addExecution('system.DAGExecution', `run/${opts.uuid}`, EXECUTION_STATE.RUNNING, {
      display_name: { string: '' },
      task_name: { string: '' },
      inputs: { struct: rootInputs },
    });
    this.root = new DagScope(this, rootExec, this.spec.root, 'root', false);
  }

  /** Pods of a single-user deployment run in `kubeflow`; the run itself has namespace "". */
  get podNamespace(): string {
    return this.opts.namespace === '' ? 'kubeflow' : this.opts.namespace;
  }

  get pipelineRunRoot(): string {
    return `${DEFAULT_PIPELINE_ROOT}/${this.opts.pipelineName}/${this.opts.uuid}`;
  }

  /** Milliseconds for one step of work, advancing the run's clock. */
  tick(minMs: number, maxMs: number): number {
    this.now += this.world.prng.int(minMs, maxMs);
    return this.now;
  }

  addExecution(typeName: string, name: string | null, state: number, custom: PropMap): ExecutionRecord {
    const ms = this.tick(150, 900);
    const rec = this.world.store.addExecution({ typeName, name, state, createMs: ms, updateMs: ms, custom });
    this.world.store.associate(this.pipelineContextId, rec.id);
    this.world.store.associate(this.runContextId, rec.id);
    this.executions.push(rec);
    return rec;
  }

  registerDag(scope: DagScope): void {
    this.dags.push(scope);
  }

  attribute(artifactId: number): void {
    this.world.store.attribute(this.pipelineContextId, artifactId);
    this.world.store.attribute(this.runContextId, artifactId);
  }

  /**
   * An output artifact of task `taskKey`. Its provisioned URI is `<run root>/<uriTask>/[<salt>/]<key>`:
   * `uriTask` is the task_info.name before KFP 2.14 and the task key since, the salt came with 2.4.
   */
  newArtifact(
    taskKey: string,
    key: string,
    out: OutputArtifact,
    ms: number,
    opts: { displayName: boolean; session: string; uriSuffix?: string; uriTask?: string },
  ): ArtifactRef {
    const custom: PropMap = {};
    if (opts.displayName) custom.display_name = { string: key };
    if (this.era.artifactSessionInfo) custom.store_session_info = { string: opts.session };
    for (const [k, v] of Object.entries(out.metadata ?? {})) custom[k] = metadataValue(v);
    let uri = out.uri;
    if (uri === undefined) {
      // Drawn in every era, so that one seed gives the same ids whichever era a run is written as.
      const salt = this.world.prng.uuid();
      const dir = `${this.pipelineRunRoot}/${opts.uriTask ?? taskKey}`;
      uri = `${dir}/${this.era.outputUriSalt ? `${salt}/` : ''}${key}${opts.uriSuffix ?? ''}`;
    }
    const rec = this.world.store.addArtifact({ typeName: out.type, uri, createMs: ms, updateMs: ms, custom });
    this.attribute(rec.id);
    return { id: rec.id, typeName: out.type, producer: taskKey, key };
  }

  defaultSession(): string {
    return MINIO_SESSION;
  }

  /** The launcher finished a container under `dag`: eras with a DAG updater re-evaluate that DAG then. */
  launcherEnded(dag: DagScope, children: ExecutionRecord[], atMs: number): void {
    this.launcherEnds.push({ dag, children: [...children], atMs });
  }

  /**
   * Fills in `total_dag_tasks` (known once the shape has declared every task) and settles DAG
   * states the way the era's launcher did (era.ts `DagStateRule`). States a shape forced win.
   */
  finish(): void {
    for (const dag of this.dags) dag.fillTotalDagTasks();
    const rule = this.era.dagStateRule;
    if (rule === 'expected-count') {
      for (const dag of [...this.dags].reverse()) dag.settle();
      return;
    }
    if (rule === 'created-children' || rule === 'total-dag-tasks') {
      // Replayed in the order the containers ended: each update saw the children of that moment.
      for (const end of this.launcherEnds) end.dag.updateAfterLauncher(end.children, end.atMs, rule);
    }
    for (const dag of this.dags) dag.applyForcedState();
  }
}

/** Artifact metadata as the launcher converts it: bool → int 0/1, list → {"list"}, object → {"struct"}. */
function metadataValue(v: JsonValue): PropMap[string] {
  if (typeof v === 'boolean') return { int: v ? 1 : 0 };
  if (typeof v === 'number') return { double: v };
  if (typeof v === 'string') return { string: v };
  if (Array.isArray(v)) return { struct: { list: v } };
  if (v === null) throw new Error('KFP never stores a null metadata value');
  return { struct: { struct: v } };
}

function paramBinding(p: ParamInput): ParameterBindingSpec {
  switch (p.kind) {
    case 'component':
      return { componentInputParameter: p.name };
    case 'task':
      return { taskOutputParameter: { producerTask: p.producer, outputParameterKey: p.key } };
    case 'constant':
      return { runtimeValue: { constant: p.value } };
    case 'status':
      return { taskFinalStatus: { producerTask: p.producer } };
  }
}

function artifactBinding(a: ArtifactInput): ArtifactBindingSpec {
  return a.kind === 'component'
    ? { componentInputArtifact: a.name }
    : { taskOutputArtifact: { producerTask: a.producer, outputArtifactKey: a.key } };
}

/** The execution property the MLflow plugin (KFP 2.17) records its run under. */
const MLFLOW_RUN_ID = 'plugins.mlflow.run_id';

const TERMINAL_FOR_COUNT = new Set<number>([EXECUTION_STATE.COMPLETE, EXECUTION_STATE.CACHED, EXECUTION_STATE.CANCELED]);

export class DagScope {
  protected readonly children: ExecutionRecord[] = [];
  /** Expected child count for the state updater: iteration_count for loops, else the task count. */
  expected: number | null = null;
  forcedState: number | null = null;

  constructor(
    readonly run: RunBuilder,
    readonly exec: ExecutionRecord | null,
    readonly component: ComponentSpec,
    readonly key: string,
    /** Non-root DAGs are registered with the run, which settles their state when it finishes. */
    registered: boolean,
  ) {
    if (exec && registered) run.registerDag(this);
  }

  get executes(): boolean {
    return this.exec !== null && this.exec.state !== EXECUTION_STATE.CANCELED;
  }

  private get tasks(): Record<string, TaskSpec> {
    this.component.dag ??= { tasks: {} };
    return this.component.dag.tasks;
  }

  /** `keyWritten`: whether this release's driver wrote the task key as task_name, else task_info.name. */
  private childProps(key: string, display: string, keyWritten = this.run.era.taskNameIsKey): PropMap {
    const props: PropMap = {
      display_name: { string: display },
      task_name: { string: keyWritten ? key : display },
    };
    if (this.exec) props.parent_dag_id = { int: this.exec.id };
    return props;
  }

  private adopt(rec: ExecutionRecord): void {
    this.children.push(rec);
  }

  /** Declares `key` in this DAG's component (once: loop bodies are visited once per iteration). */
  private declareTask(key: string, task: TaskSpec): void {
    if (!this.tasks[key]) this.tasks[key] = task;
  }

  private taskSpec(
    display: string,
    componentName: string,
    o: { params?: Record<string, ParamInput>; artifacts?: Record<string, ArtifactInput>; dependsOn?: string[]; condition?: string },
  ): TaskSpec {
    const t: TaskSpec = { taskInfo: { name: display }, componentRef: { name: componentName } };
    const params = Object.entries(o.params ?? {});
    const arts = Object.entries(o.artifacts ?? {});
    if (params.length || arts.length) {
      t.inputs = {};
      if (params.length) t.inputs.parameters = Object.fromEntries(params.map(([k, p]) => [k, paramBinding(p)]));
      if (arts.length) t.inputs.artifacts = Object.fromEntries(arts.map(([k, a]) => [k, artifactBinding(a)]));
    }
    if (o.dependsOn?.length) t.dependentTasks = [...o.dependsOn].sort();
    if (o.condition) t.triggerPolicy = { condition: o.condition };
    return t;
  }

  private defineInputs(comp: ComponentSpec, params: Record<string, ParamInput>, artifacts: Record<string, ArtifactInput>): void {
    const p = Object.entries(params);
    const a = Object.entries(artifacts);
    if (!p.length && !a.length) return;
    comp.inputDefinitions ??= {};
    if (p.length) {
      comp.inputDefinitions.parameters ??= {};
      for (const [k, v] of p) {
        comp.inputDefinitions.parameters[k] ??= { parameterType: v.kind === 'status' ? 'TASK_FINAL_STATUS' : parameterTypeOf(v.value) };
      }
    }
    if (a.length) {
      comp.inputDefinitions.artifacts ??= {};
      for (const [k, v] of a) {
        const type = v.artifacts[0]?.typeName ?? 'system.Artifact';
        comp.inputDefinitions.artifacts[k] ??= v.list ? { artifactType: artifactType(type), isArtifactList: true } : { artifactType: artifactType(type) };
      }
    }
  }

  private inputValues(params: Record<string, ParamInput>): JsonObject {
    return Object.fromEntries(Object.entries(params).map(([k, p]) => [k, p.value]));
  }

  private recordInputs(exec: ExecutionRecord, artifacts: Record<string, ArtifactInput>): void {
    const store = this.run.world.store;
    for (const [key, input] of Object.entries(artifacts)) {
      for (const ref of input.artifacts) {
        store.addEvent(ref.id, exec.id, EVENT_TYPE.INPUT, exec.createMs, [key]);
        this.run.attribute(ref.id);
      }
    }
  }

  // ------------------------------------------------------------ containers

  container(key: string, o: ContainerOptions = {}): TaskResult {
    const run = this.run;
    const world = run.world;
    const display = o.display ?? key;
    const compName = o.component ?? `comp-${key}`;
    const params = o.params ?? {};
    const artifacts = o.artifacts ?? {};
    const outputs = o.outputs ?? {};
    const outputParams = o.outputParams ?? {};
    const image = o.k8s ? `argostub/${o.k8s}` : (o.image ?? 'python:3.11');
    const cacheEnabled = o.cache ?? true;

    const task = this.taskSpec(display, compName, { ...o, params, artifacts });
    const customKey = o.cacheKey !== undefined && run.era.customCacheKeys ? o.cacheKey : null;
    task.cachingOptions = customKey === null ? { enableCache: cacheEnabled } : { enableCache: cacheEnabled, cacheKey: customKey };
    if (o.strategy) task.triggerPolicy = { ...task.triggerPolicy, strategy: o.strategy };
    if (o.retries) task.retryPolicy = { maxRetryCount: o.retries };
    this.declareTask(key, task);
    const comp = run.spec.component(compName);
    const label = `exec-${compName.replace(/^comp-/, '')}`;
    comp.executorLabel = label;
    this.defineInputs(comp, params, artifacts);
    if (Object.keys(outputs).length || Object.keys(outputParams).length) {
      comp.outputDefinitions ??= {};
      if (Object.keys(outputs).length) {
        comp.outputDefinitions.artifacts = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { artifactType: artifactType(v.type) }]));
      }
      if (Object.keys(outputParams).length) {
        comp.outputDefinitions.parameters = Object.fromEntries(
          Object.entries(outputParams).map(([k, v]) => [k, { parameterType: parameterTypeOf(v) }]),
        );
      }
    }
    const command = o.k8s ? [] : ['sh', '-c', 'python3 -m kfp.dsl.executor_main "$@"', '--'];
    // One executor per component: tasks sharing a component run the same function.
    const args = o.k8s ? [] : ['--executor_input', '{{$}}', '--function_to_execute', label.replace(/^exec-/, '').replace(/-/g, '_')];
    run.spec.executor(label, { container: o.k8s ? { image } : { image, command, args } });
    if (o.pvcMounts?.length) {
      run.spec.platformExecutors[label] = {
        pvcMount: o.pvcMounts.map((m) => ({ mountPath: m.mountPath, taskOutputParameter: { outputParameterKey: m.key, producerTask: m.producer } })),
      };
    }

    const dummy: TaskResult = {
      key,
      exec: null,
      out: Object.fromEntries(Object.keys(outputs).map((k) => [k, { id: 0, typeName: outputs[k]!.type, producer: key, key: k }])),
      outputParams,
    };
    if (!this.executes) return dummy;

    const requested = o.state ?? 'COMPLETE';
    const inputs = this.inputValues(params);
    // A createpvc driver adds the name it made up to the parameters it keys and records.
    if (o.k8s === 'createpvc' && typeof outputParams.name === 'string') inputs[outputParams.name] = outputParams.name;
    const props = this.childProps(key, display);
    const logs = run.era.executorLogs && run.logs && !o.k8s;
    const fp = !cacheEnabled || requested === 'CANCELED'
      ? null
      : customKey !== null
        ? customCacheKeyFingerprint(compName, customKey)
        : cacheKeyFingerprint(this.kfp2CacheKey({ inputs, artifacts, outputs, outputParams, image, cmdArgs: [...command, ...args], pvcs: o.pvcMounts ?? [], logs, k8s: Boolean(o.k8s) }));
    const cacheKey = fp ? `${run.opts.namespace}|${run.opts.pipelineName}|${fp}` : null;
    const hit = requested === 'COMPLETE' && cacheKey ? world.cache.get(cacheKey) : undefined;

    const podName = `${run.workflowName}-system-container-${o.k8s ? 'driver' : 'impl'}-${world.prng.int(1_000_000_000, 4_294_967_295)}`;
    const launched = !hit && requested !== 'CANCELED';
    props.pod_name = { string: launched ? podName : '' };
    props.pod_uid = { string: launched ? world.prng.uuid() : '' };
    props.namespace = { string: launched ? run.podNamespace : '' };
    props.image = { string: '' };
    if (fp) props.cache_fingerprint = { string: fp };
    if (hit) props.cached_execution_id = { string: String(hit.executionId) };
    props.inputs = { struct: inputs };
    if (run.era.mlflowPlugin) props[MLFLOW_RUN_ID] = { string: world.prng.hex(32) };

    const state = hit
      ? EXECUTION_STATE.CACHED
      : {
          COMPLETE: EXECUTION_STATE.COMPLETE,
          FAILED: EXECUTION_STATE.FAILED,
          RUNNING: EXECUTION_STATE.RUNNING,
          CANCELED: EXECUTION_STATE.CANCELED,
        }[requested];
    const exec = run.addExecution('system.ContainerExecution', null, state, props);
    this.adopt(exec);
    this.recordInputs(exec, artifacts);

    const result: TaskResult = { key, exec, out: {}, outputParams: {} };
    const store = world.store;
    if (hit) {
      // A cache hit republishes the source's outputs: same parameter values, OUTPUT events to the same artifacts.
      exec.updateMs = exec.createMs + world.prng.int(80, 400);
      if (hit.outputs) props.outputs = { struct: hit.outputs };
      for (const ref of hit.outputArtifacts) {
        store.addEvent(ref.id, exec.id, EVENT_TYPE.OUTPUT, exec.updateMs, [ref.key]);
        run.attribute(ref.id);
        result.out[ref.key] = { ...ref, producer: key };
      }
      result.outputParams = hit.outputs ?? {};
      run.now = exec.updateMs;
      return result;
    }
    if (state === EXECUTION_STATE.CANCELED || state === EXECUTION_STATE.RUNNING) return { ...dummy, exec, out: {}, outputParams: {} };

    exec.updateMs = exec.createMs + world.prng.int(4_000, 95_000);
    run.now = exec.updateMs;
    // K8s ops have no launcher: the driver publishes them, and neither logs nor DAG updates follow.
    if (!o.k8s) run.launcherEnded(this, this.children, exec.updateMs);
    const publishedLogs = logs && (state === EXECUTION_STATE.COMPLETE || run.era.failedExecutorLogs);
    const uriTask = run.era.taskNameIsKey ? key : display;
    const published: ArtifactRef[] = [];
    if (state === EXECUTION_STATE.COMPLETE) {
      if (Object.keys(outputParams).length || o.k8s === 'createpvc') props.outputs = { struct: outputParams };
      for (const [k, out] of Object.entries(outputs)) {
        const ref = run.newArtifact(key, k, out, exec.updateMs, { displayName: true, session: run.defaultSession(), uriTask });
        store.addEvent(ref.id, exec.id, EVENT_TYPE.OUTPUT, exec.updateMs, [k]);
        published.push(ref);
        result.out[k] = ref;
      }
      result.outputParams = outputParams;
    }
    if (publishedLogs) {
      const ref = run.newArtifact(key, 'executor-logs', { type: 'system.Artifact' }, exec.updateMs, {
        displayName: true,
        session: run.defaultSession(),
        uriSuffix: run.era.logsRetrySuffix ? `-${this.attempts(key)}` : '',
        uriTask,
      });
      store.addEvent(ref.id, exec.id, EVENT_TYPE.OUTPUT, exec.updateMs, ['executor-logs']);
      result.out['executor-logs'] = ref;
    }
    if (state === EXECUTION_STATE.COMPLETE && fp && cacheKey) {
      const outputsProp = props.outputs;
      world.cache.set(cacheKey, {
        executionId: exec.id,
        outputs: outputsProp && 'struct' in outputsProp ? outputsProp.struct : null,
        outputArtifacts: published,
      });
      world.kfp.v1Tasks.push([
        world.prng.uuid(),
        run.opts.namespace,
        `pipeline/${run.opts.pipelineName}`,
        run.opts.uuid,
        '',
        String(exec.id),
        Math.floor(exec.createMs / 1000),
        0,
        Math.floor(exec.updateMs / 1000),
        fp,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      ]);
    }
    return result;
  }

  /**
   * The CacheKey this era's driver hashed for a container, built from what this builder decided:
   * the parameter values and artifact ids it chose, the outputs and executor it declared, the PVCs
   * it mounted. (The migration rebuilds the same key from the MLMD rows and the manifest instead.)
   */
  private kfp2CacheKey(k: {
    inputs: JsonObject;
    artifacts: Record<string, ArtifactInput>;
    outputs: Record<string, OutputArtifact>;
    outputParams: Record<string, JsonValue>;
    image: string;
    cmdArgs: string[];
    pvcs: { pvcName: string }[];
    logs: boolean;
    k8s: boolean;
  }): CacheKey {
    const era = this.run.era;
    const named = era.cacheKeyNamesOutputsAndPvcs;
    const outputArtifactsSpec: CacheKey['outputArtifactsSpec'] = {};
    for (const [name, out] of Object.entries(k.outputs)) outputArtifactsSpec[name] = { ...(named ? { name } : {}), type: { ...artifactType(out.type) } };
    if (k.logs) outputArtifactsSpec['executor-logs'] = { ...(named ? { name: 'executor-logs' } : {}), type: { schemaTitle: 'system.Artifact' } };
    const pvcNames = new Set<string>();
    if (named && !k.k8s) {
      for (const m of k.pvcs) pvcNames.add(m.pvcName);
      if (Object.values(k.artifacts).some((a) => a.artifacts[0]?.workspace)) pvcNames.add(`${this.run.workflowName}-kfp-workspace`);
    }
    return {
      inputArtifactNames: Object.fromEntries(Object.entries(k.artifacts).map(([name, a]) => [name, a.artifacts.map((r) => String(r.id))])),
      inputParameterValues: k.inputs,
      outputArtifactsSpec,
      outputParametersSpec: Object.fromEntries(Object.entries(k.outputParams).map(([name, v]) => [name, parameterTypeOf(v)])),
      // Go sorts PVC names by their bytes; the names made here are ASCII.
      containerSpec: { image: k.image, cmdArgs: k.cmdArgs, pvcNames: [...pvcNames].sort() },
    };
  }

  /** How many earlier executions this DAG holds for `key` (a retried task's attempt number). */
  private attempts(key: string): number {
    return this.children.filter((c) => {
      const t = c.custom.task_name;
      const d = c.custom.display_name;
      return (t && 'string' in t && t.string === key) || (d && 'string' in d && d.string === key);
    }).length - 1;
  }

  // ------------------------------------------------------------ importers

  importer(
    key: string,
    o: { display?: string; uri: string; type: string; metadata?: JsonObject; reimport?: boolean; workspace?: boolean; provider?: string },
  ): TaskResult {
    const run = this.run;
    const display = o.display ?? key;
    const compName = `comp-${key}`;
    const uriParam: ParamInput = P.constant(o.uri);
    this.declareTask(key, this.taskSpec(display, compName, { params: { uri: uriParam } }));
    const comp = run.spec.component(compName);
    comp.executorLabel = `exec-${key}`;
    comp.inputDefinitions = { parameters: { uri: { parameterType: 'STRING' } } };
    comp.outputDefinitions = { artifacts: { artifact: { artifactType: artifactType(o.type) } } };
    const workspace = Boolean(o.workspace) && run.era.workspaceImporter;
    run.spec.executor(`exec-${key}`, {
      importer: {
        artifactUri: { runtimeParameter: 'uri' },
        typeSchema: artifactType(o.type),
        ...(o.reimport === undefined ? {} : { reimport: o.reimport }),
        ...(o.metadata ? { metadata: o.metadata } : {}),
        ...(workspace ? { downloadToWorkspace: true } : {}),
      },
    });
    if (!this.executes) return { key, exec: null, out: { artifact: { id: 0, typeName: o.type, producer: key, key: 'artifact' } }, outputParams: {} };

    // The importer launcher writes only these three: no inputs, no pod fields, task_name = task_info.name.
    // Before KFP 2.14 display_name was set from the same task_info.name; since, it is left "".
    const props: PropMap = { display_name: { string: run.era.importerDisplayName ? display : '' }, task_name: { string: display } };
    if (this.exec) props.parent_dag_id = { int: this.exec.id };
    const exec = run.addExecution(workspace ? 'system.ImporterWorkspaceExecution' : 'system.ImporterExecution', null, EXECUTION_STATE.COMPLETE, props);
    this.adopt(exec);
    exec.updateMs = exec.createMs + run.world.prng.int(1_000, 6_000);
    run.now = exec.updateMs;
    const reuseKey = `${run.pipelineContextId}|${o.uri}|${o.type}`;
    let ref = o.reimport === false ? run.world.imports.get(reuseKey) : undefined;
    if (ref) {
      run.attribute(ref.id);
    } else {
      const provider = o.provider ?? (o.uri.startsWith('gs://') ? 'gs' : o.uri.startsWith('s3://') ? 's3' : 'minio');
      ref = run.newArtifact(key, 'artifact', { type: o.type, uri: o.uri, ...(o.metadata ? { metadata: o.metadata } : {}) }, exec.updateMs, {
        displayName: false,
        session: `{"Provider":"${provider}","Params":{"fromEnv":"true"}}`,
      });
      run.world.imports.set(reuseKey, ref);
    }
    run.world.store.addEvent(ref.id, exec.id, EVENT_TYPE.OUTPUT, exec.updateMs, ['artifact']);
    return { key, exec, out: { artifact: { ...ref, producer: key, key: 'artifact', ...(workspace ? { workspace: true } : {}) } }, outputParams: {} };
  }

  // ------------------------------------------------------------ DAGs

  private dagExecution(
    key: string,
    display: string,
    o: DagOptions,
    comp: ComponentSpec,
    extra: PropMap,
    componentTaskCount: () => number,
    keyWritten = this.run.era.taskNameIsKey,
  ): ExecutionRecord | null {
    if (!this.executes) return null;
    const era = this.run.era;
    const props = this.childProps(key, display, keyWritten);
    props.inputs = { struct: this.inputValues(o.params ?? {}) };
    Object.assign(props, extra);
    if (era.mlflowPlugin) props[MLFLOW_RUN_ID] = { string: this.run.world.prng.hex(32) };
    if (era.producerTasks && o.outputParams && Object.keys(o.outputParams).length) {
      props.parameter_producer_task = {
        struct: Object.fromEntries(
          Object.entries(o.outputParams).map(([name, [t, k]]) => [name, JSON.stringify({ valueFromParameter: { producerSubtask: t, outputParameterKey: k } })]),
        ),
      };
    }
    if (era.producerTasks && o.outputArtifacts && Object.keys(o.outputArtifacts).length) {
      props.artifact_producer_task = {
        string: JSON.stringify(
          Object.fromEntries(
            Object.entries(o.outputArtifacts).map(([name, [t, k]]) => [name, { artifact_selectors: [{ producer_subtask: t, output_artifact_key: k }] }]),
          ),
        ),
      };
    }
    const triggered = o.triggered ?? true;
    const exec = this.run.addExecution('system.DAGExecution', null, triggered ? EXECUTION_STATE.RUNNING : EXECUTION_STATE.CANCELED, props);
    this.adopt(exec);
    // total_dag_tasks is the compile-time task count; the component is complete only once the
    // shape has declared its tasks, so it is filled in when the DAG settles.
    if (era.totalDagTasks) pendingTotals.set(exec, { comp, count: componentTaskCount });
    this.recordInputs(exec, o.artifacts ?? {});
    return exec;
  }

  private declareDag(key: string, display: string, compName: string, o: DagOptions): ComponentSpec {
    const task = this.taskSpec(display, compName, o);
    this.declareTask(key, task);
    const comp = this.run.spec.component(compName);
    comp.dag ??= { tasks: {} };
    this.defineInputs(comp, o.params ?? {}, o.artifacts ?? {});
    declareDagOutputs(comp, o);
    return comp;
  }

  /** A nested pipeline, `condition-N`, `condition-branches-N` or `exit-handler-N`. */
  dag(key: string, o: DagOptions = {}): DagScope {
    const display = o.display ?? key;
    const comp = this.declareDag(key, display, o.component ?? `comp-${key}`, o);
    const exec = this.dagExecution(key, display, o, comp, {}, () => Object.keys(comp.dag?.tasks ?? {}).length);
    const scope = new DagScope(this.run, exec, comp, key, true);
    if (exec && o.triggered === false) scope.forcedState = EXECUTION_STATE.CANCELED;
    return scope;
  }

  /** A ParallelFor loop; call `iteration(i)` on the result for each item that ran. */
  loop(key: string, o: LoopOptions): LoopScope {
    const display = o.display ?? key;
    const compName = o.component ?? `comp-${key}`;
    const comp = this.declareDag(key, display, compName, o);
    const items = 'raw' in o.items ? o.items.raw : o.items.value;
    const task = this.tasks[key]!;
    task.parameterIterator = {
      itemInput: o.itemInput,
      items: 'raw' in o.items ? { raw: JSON.stringify(o.items.raw) } : { inputParameter: o.items.input },
    };
    comp.inputDefinitions ??= {};
    comp.inputDefinitions.parameters ??= {};
    comp.inputDefinitions.parameters[o.itemInput] ??= { parameterType: parameterTypeOf(items[0] ?? '') };
    const triggered = o.triggered ?? true;
    const extra: PropMap = triggered ? { iteration_count: { int: items.length } } : {};
    // A loop's drivers were given the task key only from KFP 2.16; before, they wrote task_info.name.
    const exec = this.dagExecution(key, display, o, comp, extra, () => Object.keys(comp.dag?.tasks ?? {}).length, this.run.era.loopTaskNameIsKey);
    const scope = new LoopScope(this.run, exec, comp, key, true, items, o, display, this.inputValues(o.params ?? {}));
    if (exec && !triggered) scope.forcedState = EXECUTION_STATE.CANCELED;
    scope.expected = triggered ? items.length : null;
    return scope;
  }

  /** A view of this DAG that declares tasks in the spec without running them (tasks that never started). */
  specOnly(): DagScope {
    return new DagScope(this.run, null, this.component, this.key, false);
  }

  /** Forces this DAG's final state (e.g. left RUNNING because the run was terminated). */
  setState(state: number): void {
    this.forcedState = state;
  }

  /** `total_dag_tasks` is the compile-time task count: final only once the shape has declared every task. */
  fillTotalDagTasks(): void {
    const pending = this.exec ? pendingTotals.get(this.exec) : undefined;
    if (!this.exec || !pending) return;
    this.exec.custom.total_dag_tasks = { int: pending.count() };
    pendingTotals.delete(this.exec);
  }

  private get lastChildUpdateMs(): number {
    return Math.max(this.exec?.createMs ?? 0, ...this.children.map((c) => c.updateMs));
  }

  /** A state the shape forced (e.g. left RUNNING because the run was terminated) wins over any update. */
  applyForcedState(): boolean {
    const exec = this.exec;
    if (!exec || this.forcedState === null) return false;
    exec.state = this.forcedState;
    if (this.forcedState !== EXECUTION_STATE.RUNNING) exec.updateMs = this.lastChildUpdateMs;
    return true;
  }

  /**
   * The `expected-count` updater (KFP 2.17 on), applied once over the final children: COMPLETE when
   * completed + cached + canceled children reach the expected count, FAILED when a child failed.
   * The root is never updated: it has neither total_dag_tasks nor iteration_count.
   */
  settle(): void {
    const exec = this.exec;
    if (!exec || this.applyForcedState()) return;
    const expected = this.expected ?? Object.keys(this.component.dag?.tasks ?? {}).length;
    if (!this.settleOver(this.children, expected)) return;
    exec.updateMs = this.lastChildUpdateMs;
  }

  /**
   * The updaters of KFP 2.4–2.16, run by the launcher as a container under this DAG (the root
   * included) ended: over the children existing then, against their number (2.4) or against
   * `total_dag_tasks` (2.5–2.16, 0 when absent, as on the root).
   */
  updateAfterLauncher(children: ExecutionRecord[], atMs: number, rule: 'created-children' | 'total-dag-tasks'): void {
    const exec = this.exec;
    if (!exec) return;
    const total = exec.custom.total_dag_tasks;
    const expected = rule === 'created-children' ? children.length : total && 'int' in total ? total.int : 0;
    if (this.settleOver(children, expected)) exec.updateMs = Math.max(exec.updateMs, atMs);
  }

  /** Sets COMPLETE or FAILED as the updaters decide; false when the DAG counts as still running. */
  private settleOver(children: ExecutionRecord[], expected: number): boolean {
    const exec = this.exec!;
    const done = children.filter((c) => TERMINAL_FOR_COUNT.has(c.state)).length;
    if (done === expected) exec.state = EXECUTION_STATE.COMPLETE;
    else if (children.some((c) => c.state === EXECUTION_STATE.FAILED)) exec.state = EXECUTION_STATE.FAILED;
    else return false;
    return true;
  }
}

const pendingTotals = new WeakMap<ExecutionRecord, { comp: ComponentSpec; count: () => number }>();

function declareDagOutputs(comp: ComponentSpec, o: DagOptions): void {
  const outputs: DagOutputs = {};
  if (o.outputParams && Object.keys(o.outputParams).length) {
    outputs.parameters = Object.fromEntries(
      Object.entries(o.outputParams).map(([n, [t, k]]) => [n, { valueFromParameter: { producerSubtask: t, outputParameterKey: k } }]),
    );
    comp.outputDefinitions ??= {};
    comp.outputDefinitions.parameters = Object.fromEntries(Object.keys(o.outputParams).map((n) => [n, { parameterType: 'STRING' as const }]));
  }
  if (o.outputArtifacts && Object.keys(o.outputArtifacts).length) {
    outputs.artifacts = Object.fromEntries(
      Object.entries(o.outputArtifacts).map(([n, [t, k]]) => [n, { artifactSelectors: [{ producerSubtask: t, outputArtifactKey: k }] }]),
    );
    comp.outputDefinitions ??= {};
    comp.outputDefinitions.artifacts = Object.fromEntries(
      Object.keys(o.outputArtifacts).map((n) => [n, { artifactType: artifactType('system.Artifact') }]),
    );
  }
  if (outputs.parameters || outputs.artifacts) {
    comp.dag ??= { tasks: {} };
    comp.dag.outputs = outputs;
  }
}

export class LoopScope extends DagScope {
  constructor(
    run: RunBuilder,
    exec: ExecutionRecord | null,
    comp: ComponentSpec,
    key: string,
    registered: boolean,
    readonly items: JsonValue[],
    private readonly loopOpts: LoopOptions,
    private readonly display: string,
    private readonly loopInputs: JsonObject,
  ) {
    super(run, exec, comp, key, registered);
  }

  /**
   * The iteration DAG for item `i`: same task_name as the loop, parent = the loop DAG,
   * `iteration_index` = i, inputs = the loop's inputs plus this item.
   */
  iteration(i: number): DagScope {
    if (!this.executes) return new DagScope(this.run, null, this.component, this.key, false);
    const era = this.run.era;
    const props: PropMap = {
      display_name: { string: this.display },
      task_name: { string: era.loopTaskNameIsKey ? this.key : this.display },
      parent_dag_id: { int: this.exec!.id },
      iteration_index: { int: i },
      inputs: { struct: { ...this.loopInputs, [this.loopOpts.itemInput]: this.items[i] ?? null } },
    };
    // An iteration runs the loop's component, so it records the same DAG outputs; it starts no
    // plugin run of its own but copies its loop's.
    for (const copied of ['parameter_producer_task', 'artifact_producer_task', MLFLOW_RUN_ID]) {
      const v = this.exec!.custom[copied];
      if (v) props[copied] = v;
    }
    const exec = this.run.addExecution('system.DAGExecution', null, EXECUTION_STATE.RUNNING, props);
    this.children.push(exec);
    const comp = this.component;
    if (era.totalDagTasks) pendingTotals.set(exec, { comp, count: () => Object.keys(comp.dag?.tasks ?? {}).length });
    return new DagScope(this.run, exec, comp, this.key, true);
  }

  /** Runs `body` once per item, each in its own iteration DAG. */
  forEach(body: (scope: DagScope, item: JsonValue, i: number) => void): void {
    // A loop that never fanned out still has its body in the spec.
    if (!this.executes || this.items.length === 0) {
      body(this.specOnly(), this.items[0] ?? '', 0);
      return;
    }
    this.items.forEach((item, i) => body(this.iteration(i), item, i));
  }
}
