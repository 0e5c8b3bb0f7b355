import { EVENT_TYPE, type JsonObject, type JsonValue, type MlmdEvent, type MlmdExecution, type RunBundle } from './model.ts';
import { type FingerprintMissReason, K8S_OP_IMAGES, MLMD_EXECUTION_TYPE, WORKSPACE } from './rules.ts';
import type { PipelineSpecIndex, PvcNameSource, SpecOutputArtifact } from './spec.ts';
import type { TaskNode, TaskTree } from './tasks.ts';
import { propInt, propString, propStruct } from './values.ts';

/**
 * What a driver fed into a container task's cache key, rebuilt from what MLMD and the run's spec
 * kept (kfp-facts.md §B.4): the resolved parameter values (the execution's `inputs`), the input
 * artifacts per key (its INPUT events, in the order the driver recorded them), the component's
 * output definitions, the executor's image, command and args, the PVCs its platform config mounts,
 * and the pipeline name. Which of these a release put into the key, and how, is the business of
 * CacheKeyRules; this is the same for every release.
 */
export interface CacheKeyMaterial {
  /** `cachingOptions.cacheKey` with the component it is scoped by, when the task sets one. */
  custom: { componentRef: string; cacheKey: string } | null;
  parameterValues: JsonObject;
  /** Per input artifact key, the MLMD artifact ids in resolution order (a collected list may be empty). */
  inputArtifacts: Record<string, number[]>;
  outputArtifacts: Record<string, SpecOutputArtifact>;
  /** Output parameter name → ParameterType value name. */
  outputParameters: Record<string, string>;
  image: string;
  command: string[];
  args: string[];
  /** The mounted PVCs' resolved names, as the platform config lists them (duplicates possible). */
  pvcNames: string[];
  /** `<run name>-kfp-workspace` when the task reads the run's workspace. */
  workspacePvc: string | null;
  pipelineName: string;
  /** A createpvc/deletepvc op: keyed by its driver, without launcher outputs. */
  k8sOp: boolean;
}

export type MaterialResult = { ok: true; material: CacheKeyMaterial } | { ok: false; reason: FingerprintMissReason; detail: string };

/** What the reconstruction reads of a run beyond the task itself, indexed once per run. */
export class CacheRunIndex {
  readonly executionsById: Map<number, MlmdExecution>;
  private readonly eventsByExecution = new Map<number, MlmdEvent[]>();
  private readonly outputEventsByArtifact = new Map<number, MlmdEvent[]>();

  constructor(
    readonly bundle: RunBundle,
    readonly spec: PipelineSpecIndex | null,
    readonly tree: TaskTree,
  ) {
    this.executionsById = new Map(bundle.executions.map((e) => [e.id, e]));
    for (const ev of bundle.events) {
      const list = this.eventsByExecution.get(ev.executionId);
      if (list) list.push(ev);
      else this.eventsByExecution.set(ev.executionId, [ev]);
      if (ev.type === EVENT_TYPE.OUTPUT) {
        const outs = this.outputEventsByArtifact.get(ev.artifactId);
        if (outs) outs.push(ev);
        else this.outputEventsByArtifact.set(ev.artifactId, [ev]);
      }
    }
  }

  eventsOf(executionId: number): MlmdEvent[] {
    return this.eventsByExecution.get(executionId) ?? [];
  }

  /** The run's tasks that output an artifact (OUTPUT events of this run), first event first. */
  producersOf(artifactId: number): TaskNode[] {
    const out: TaskNode[] = [];
    for (const ev of this.outputEventsByArtifact.get(artifactId) ?? []) {
      const t = this.tree.byExecutionId.get(ev.executionId);
      if (t) out.push(t);
    }
    return out;
  }

  /**
   * Whether a driver flagged the artifact as living in the workspace: the resolver does so when
   * the execution that produced it is a workspace importer (`_kfp_workspace`).
   */
  isWorkspaceArtifact(artifactId: number): boolean {
    for (const ev of this.outputEventsByArtifact.get(artifactId) ?? []) {
      if (this.executionsById.get(ev.executionId)?.type === MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE) return true;
    }
    return this.bundle.artifactOrigins[artifactId]?.executionType === MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE;
  }
}

const firstKey = (ev: MlmdEvent): string | null => {
  const step = ev.path[0];
  return step && 'key' in step ? step.key : null;
};

export function cacheKeyMaterial(t: TaskNode, run: CacheRunIndex): MaterialResult {
  const e = t.exec!;
  const spec = run.spec;
  if (!spec) return { ok: false, reason: 'NO_SPEC', detail: 'the run has no readable pipeline spec' };
  const task = t.specTask;
  if (!task) return { ok: false, reason: 'TASK_NOT_IN_SPEC', detail: `task "${t.name}" is not a task of its DAG in the pipeline spec` };
  const component = spec.componentOf(task);
  const executor = spec.executorOf(task);
  if (!component || !executor?.container) {
    return { ok: false, reason: 'EXECUTOR_NOT_FOUND', detail: `component ${JSON.stringify(task.componentRef)} of task "${t.name}" has no container executor in the spec` };
  }
  const inputsProp = e.customProperties.inputs;
  if (inputsProp !== undefined && inputsProp.kind !== 'struct') {
    return { ok: false, reason: 'INPUTS_UNREADABLE', detail: `the inputs property is ${inputsProp.kind === 'corrupt' ? 'corrupt' : `a ${inputsProp.kind}, not a struct`}` };
  }
  // The driver writes `inputs` for every container it creates, an empty struct included.
  const parameterValues = propStruct(e.customProperties, 'inputs');
  if (parameterValues === null) return { ok: false, reason: 'INPUTS_UNREADABLE', detail: 'the execution has no inputs property' };

  const inputArtifacts: Record<string, number[]> = {};
  for (const ev of [...run.eventsOf(e.id)].sort((a, b) => a.id - b.id)) {
    if (ev.type !== EVENT_TYPE.INPUT) continue;
    const key = firstKey(ev);
    if (key === null) continue;
    (inputArtifacts[key] ??= []).push(ev.artifactId);
  }
  // Every artifact input the spec wires was resolved before the execution was created: a single
  // one has an event; a list (dsl.Collected) may have resolved to none, and is then an empty list.
  for (const key of Object.keys(task.artifacts)) {
    if (inputArtifacts[key]) continue;
    if (!component.artifactListInputs.has(key)) {
      return { ok: false, reason: 'MISSING_INPUT_EVENT', detail: `input artifact "${key}" has no INPUT event` };
    }
    inputArtifacts[key] = [];
  }

  const pvcNames: string[] = [];
  for (const mount of executor.pvcMounts) {
    const name = resolvePvcName(mount, t, run);
    if (name === null) return { ok: false, reason: 'PVC_UNRESOLVED', detail: `a PVC mount of task "${t.name}" (${describeMount(mount)}) resolves to no name in this run` };
    pvcNames.push(name);
  }

  const container = executor.container;
  return {
    ok: true,
    material: {
      custom: task.cacheKey !== '' ? { componentRef: task.componentRef ?? '', cacheKey: task.cacheKey } : null,
      parameterValues,
      inputArtifacts,
      outputArtifacts: component.outputArtifacts,
      outputParameters: component.outputParameters,
      image: container.image,
      command: container.command,
      args: container.args,
      pvcNames,
      workspacePvc: usesWorkspace(parameterValues, inputArtifacts, run) ? `${run.bundle.runDetails?.name ?? ''}${WORKSPACE.pvcSuffix}` : null,
      pipelineName: spec.pipelineName ?? '',
      k8sOp: K8S_OP_IMAGES.has(container.image),
    },
  };
}

/** `needsWorkspaceMount`: a string parameter naming the workspace, or a first input artifact a workspace importer produced. */
function usesWorkspace(parameters: JsonObject, artifacts: Record<string, number[]>, run: CacheRunIndex): boolean {
  for (const v of Object.values(parameters)) {
    if (typeof v === 'string' && (v.includes(WORKSPACE.pathPlaceholder) || v.includes(WORKSPACE.mountPath))) return true;
  }
  for (const ids of Object.values(artifacts)) {
    if (ids.length > 0 && run.isWorkspaceArtifact(ids[0]!)) return true;
  }
  return false;
}

/**
 * A PVC name as the driver resolved it: a constant, an input of the enclosing DAG execution, or
 * an output parameter of a task of that same DAG execution. Only a non-empty string names a PVC.
 */
function resolvePvcName(mount: PvcNameSource, t: TaskNode, run: CacheRunIndex): string | null {
  const e = t.exec!;
  let value: JsonValue | undefined;
  if (mount.kind === 'constant') value = mount.value;
  else if (mount.kind === 'componentInput') {
    const parentId = propInt(e.customProperties, 'parent_dag_id');
    const parent = parentId === null ? undefined : run.executionsById.get(parentId);
    value = parent ? propStruct(parent.customProperties, 'inputs')?.[mount.name] : undefined;
  } else if (mount.kind === 'taskOutput') {
    value = siblingOutput(t, mount.producerTask, mount.key, run);
  }
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The output parameter of the newest execution of `producer` under the same DAG execution that recorded it. */
function siblingOutput(t: TaskNode, producer: string, key: string, run: CacheRunIndex): JsonValue | undefined {
  const parentId = propInt(t.exec!.customProperties, 'parent_dag_id');
  let found: { id: number; value: JsonValue } | null = null;
  for (const e of run.bundle.executions) {
    if (propInt(e.customProperties, 'parent_dag_id') !== parentId || run.tree.byExecutionId.get(e.id)?.name !== producer) continue;
    const value = propStruct(e.customProperties, 'outputs')?.[key];
    if (value !== undefined && (!found || e.id > found.id)) found = { id: e.id, value };
  }
  return found?.value;
}

function describeMount(m: PvcNameSource): string {
  switch (m.kind) {
    case 'constant':
      return `constant ${JSON.stringify(m.value)}`;
    case 'componentInput':
      return `input ${JSON.stringify(m.name)} of the enclosing DAG`;
    case 'taskOutput':
      return `output ${JSON.stringify(m.key)} of task ${JSON.stringify(m.producerTask)}`;
    case 'other':
      return 'a form mlmd-bridge does not read';
  }
}

/** The stored fingerprint of an execution, `null` when it has none. */
export function storedFingerprint(e: MlmdExecution): string | null {
  const fp = propString(e.customProperties, 'cache_fingerprint');
  return fp === null || fp === '' ? null : fp;
}
