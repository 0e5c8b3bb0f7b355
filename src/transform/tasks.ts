import { encodeKfpJson, encodeKfpJsonList } from '../proto/kfp-json.ts';
import { ids, logicalKey } from './identity.ts';
import { EXECUTION_STATE, type JsonObject, type JsonValue, type KfpRunDetails, type MlmdExecution, type TaskRow } from './model.ts';
import type { RejectLog } from './rejects.ts';
import {
  isPropInColumns,
  FINISHED_RUN_STATES,
  IO_TYPE,
  LIMITS,
  MLMD_EXECUTION_TYPE,
  ROOT_STATE_BY_RUN_STATE,
  TASK_STATE,
  TASK_STATE_BY_MLMD_STATE,
  TASK_TYPE,
  type TaskType,
  isTerminalTaskState,
  taskTypeRule,
} from './rules.ts';
import type { PipelineSpecIndex, SpecComponent, SpecTask } from './spec.ts';
import { type ResolvedKey, resolveSiblingKeys } from './task-keys.ts';
import { finiteJson, propInt, propString, propStruct, typedValue } from './values.ts';

/**
 * Executions of one run → `tasks` rows (kfp-facts.md §F.0 and §F.1): find the root, attach every
 * execution to its parent, collapse loop iterations into their LOOP task, resolve task keys against
 * the spec, then derive each column.
 */

export interface TaskNode {
  uuid: string;
  exec: MlmdExecution | null;
  parent: TaskNode | null;
  children: TaskNode[];
  type: TaskType;
  /** The resolved task key (`ROOT` for the root). */
  name: string;
  scopePath: string;
  iterationIndex: number | null;
  specTask: SpecTask | null;
  /** The spec component whose `dag.tasks` hold this task's children. */
  childComponent: SpecComponent | undefined;
  state: number;
  /** The DisplayName the KFP 3 runtime fixes for this type (`Loop`, `Condition`, …), if any. */
  fixedDisplayName: string | undefined;
  row: TaskRow;
}

/** A collapsed loop-iteration DAG execution: not a task, but remembered for links, parameters and the id map. */
export interface CollapsedIteration {
  exec: MlmdExecution;
  loop: TaskNode;
  index: number;
}

export interface TaskTree {
  root: TaskNode;
  /** Parents before children. */
  tasks: TaskNode[];
  byExecutionId: Map<number, TaskNode>;
  iterations: Map<number, CollapsedIteration>;
}

interface Ctx {
  runUuid: string;
  namespace: string;
  run: KfpRunDetails;
  spec: PipelineSpecIndex | null;
  rejects: RejectLog;
  /** Rows for counting only (see `outlineRun`): ids, names and the tree, every reject, no JSON columns. */
  outline?: boolean;
  /** The `tasks.Fingerprint` of a task, asked once per task when the tree is complete (fingerprints.ts). */
  fingerprint: (t: TaskNode, tree: TaskTree) => string;
}

const isDagExec = (e: MlmdExecution) => e.type === MLMD_EXECUTION_TYPE.DAG;
const taskNameOf = (e: MlmdExecution) => propString(e.customProperties, 'task_name') ?? '';

export function buildTaskTree(executions: MlmdExecution[], ctx: Ctx): TaskTree {
  const byId = new Map(executions.map((e) => [e.id, e]));
  const rootExec = findRoot(executions, ctx.runUuid);

  // Parent of every other execution; a pointer outside the run (or into a cycle) goes to the root.
  const parentOf = new Map<number, number | null>();
  for (const e of executions) {
    if (e === rootExec) continue;
    const p = propInt(e.customProperties, 'parent_dag_id');
    if (p !== null && byId.has(p) && p !== e.id) {
      parentOf.set(e.id, p);
    } else {
      parentOf.set(e.id, null);
      ctx.rejects.add(
        'DANGLING_PARENT',
        'execution',
        e.id,
        p === null ? 'no parent_dag_id; attached to the run ROOT' : `parent_dag_id ${p} is not an execution of this run; attached to the run ROOT`,
      );
    }
  }
  breakCycles(parentOf, rootExec?.id ?? null, ctx);

  const childrenOf = new Map<number | null, MlmdExecution[]>();
  for (const e of executions) {
    if (e === rootExec) continue;
    const p = parentOf.get(e.id) ?? null;
    const key = p === rootExec?.id ? null : p;
    const list = childrenOf.get(key) ?? [];
    list.push(e);
    childrenOf.set(key, list);
  }

  const root = makeRoot(rootExec, ctx);
  const tree: TaskTree = { root, tasks: [root], byExecutionId: new Map(), iterations: new Map() };
  if (rootExec) tree.byExecutionId.set(rootExec.id, root);

  const visit = (parentTask: TaskNode, childExecs: MlmdExecution[], component: SpecComponent | undefined, iteration: number | null) => {
    // An iteration DAG hangs under its loop DAG with the loop's task_name: it becomes no task of its own.
    const isIteration = (e: MlmdExecution) =>
      isDagExec(e) && propInt(e.customProperties, 'iteration_index') !== null && parentTask.exec !== null && isDagExec(parentTask.exec) && taskNameOf(e) === taskNameOf(parentTask.exec);
    // Keys are resolved among siblings: before KFP 2.14 several could hold the same task_name.
    const keys = resolveSiblingKeys(childExecs.filter((e) => !isIteration(e)), component, ctx);
    for (const e of childExecs) {
      const kids = childrenOf.get(e.id) ?? [];
      if (isIteration(e)) {
        const index = propInt(e.customProperties, 'iteration_index')!;
        tree.iterations.set(e.id, { exec: e, loop: parentTask, index });
        visit(parentTask, kids, parentTask.childComponent, index);
        continue;
      }
      const node = makeTask(e, keys.get(e.id)!, parentTask, iteration, ctx);
      parentTask.children.push(node);
      tree.tasks.push(node);
      tree.byExecutionId.set(e.id, node);
      // Below a LOOP, its iterations set the index; everything else inherits the enclosing one.
      visit(node, kids, node.childComponent, node.type === TASK_TYPE.LOOP ? null : iteration);
    }
  };
  visit(root, childrenOf.get(null) ?? [], ctx.spec?.root, null);

  finishStates(tree, ctx);
  for (const t of tree.tasks) t.row = ctx.outline ? outlineRow(t, tree, ctx) : renderRow(t, tree, ctx);
  assignLogicalKeys(tree, ctx);
  return tree;
}

function findRoot(executions: MlmdExecution[], runUuid: string): MlmdExecution | undefined {
  return (
    executions.find((e) => isDagExec(e) && e.name === `run/${runUuid}`) ??
    executions.find((e) => isDagExec(e) && propInt(e.customProperties, 'parent_dag_id') === null && taskNameOf(e) === '')
  );
}

function breakCycles(parentOf: Map<number, number | null>, rootId: number | null, ctx: Ctx): void {
  for (const start of parentOf.keys()) {
    const seen = new Set<number>([start]);
    let cur = parentOf.get(start) ?? null;
    while (cur !== null && cur !== rootId) {
      if (seen.has(cur)) {
        parentOf.set(start, null);
        ctx.rejects.add('DANGLING_PARENT', 'execution', start, 'parent_dag_id chain forms a cycle; attached to the run ROOT');
        break;
      }
      seen.add(cur);
      cur = parentOf.get(cur) ?? null;
    }
  }
}

function makeRoot(exec: MlmdExecution | undefined, ctx: Ctx): TaskNode {
  if (!exec) {
    ctx.rejects.add('NO_ROOT', 'run', 0, `run ${ctx.runUuid} has no root DAG execution (run/${ctx.runUuid}); a ROOT task was synthesized from run_details`);
  }
  return {
    uuid: exec ? ids.task(exec.id) : ids.syntheticRoot(ctx.runUuid),
    exec: exec ?? null,
    parent: null,
    children: [],
    type: TASK_TYPE.ROOT,
    name: 'ROOT',
    scopePath: 'root',
    iterationIndex: null,
    specTask: null,
    childComponent: ctx.spec?.root,
    state: ROOT_STATE_BY_RUN_STATE[ctx.run.state ?? ''] ?? TASK_STATE.RUNTIME_STATE_UNSPECIFIED,
    fixedDisplayName: ctx.run.displayName,
    row: undefined as unknown as TaskRow,
  };
}

function makeTask(e: MlmdExecution, { key, spec }: ResolvedKey, parent: TaskNode, iteration: number | null, ctx: Ctx): TaskNode {
  const rule = taskTypeRule({
    isRoot: false,
    mlmdType: e.type ?? '',
    key,
    hasIterationCount: propInt(e.customProperties, 'iteration_count') !== null,
    spec: ctx.spec ? (spec ? { hasIterator: spec.iteratorItem !== null, hasCondition: spec.hasCondition } : { hasIterator: false, hasCondition: false }) : null,
  });
  const mlmdState = e.lastKnownState ?? EXECUTION_STATE.UNKNOWN;
  return {
    uuid: ids.task(e.id),
    exec: e,
    parent,
    children: [],
    type: rule?.type ?? TASK_TYPE.DAG,
    name: key,
    scopePath: `${parent.scopePath}.${key}`,
    iterationIndex: iteration,
    specTask: spec,
    childComponent: spec && ctx.spec ? ctx.spec.componentOf(spec) : undefined,
    state: TASK_STATE_BY_MLMD_STATE[mlmdState] ?? TASK_STATE.RUNTIME_STATE_UNSPECIFIED,
    fixedDisplayName: rule?.displayName,
    row: undefined as unknown as TaskRow,
  };
}

/** RUNNING in a finished run: containers and importers failed; DAGs take the runtime's verdict over their children. */
function finishStates(tree: TaskTree, ctx: Ctx): void {
  if (!FINISHED_RUN_STATES.has(ctx.run.state ?? '')) return;
  const dagTypes: ReadonlySet<number> = new Set([TASK_TYPE.DAG, TASK_TYPE.LOOP, TASK_TYPE.CONDITION, TASK_TYPE.CONDITION_BRANCH, TASK_TYPE.EXIT_HANDLER]);
  const post = (t: TaskNode) => {
    for (const c of t.children) post(c);
    if (t.type === TASK_TYPE.ROOT || t.state !== TASK_STATE.RUNNING || !t.exec) return;
    if (dagTypes.has(t.type)) {
      t.state = aggregateState(t.children.map((c) => c.state), ctx.run.state ?? '');
      ctx.rejects.add('RUNNING_IN_FINISHED_RUN', 'execution', t.exec.id, `DAG still RUNNING when the run ended ${ctx.run.state}; state recomputed from its children`);
    } else {
      t.state = TASK_STATE.FAILED;
      ctx.rejects.add('RUNNING_IN_FINISHED_RUN', 'execution', t.exec.id, `execution still RUNNING when the run ended ${ctx.run.state}; migrated as FAILED`);
    }
  };
  post(tree.root);
}

/** The KFP 3 runtime's parent rule: any FAILED → FAILED; all CACHED → CACHED; all SKIPPED → SKIPPED; else SUCCEEDED. */
export function aggregateState(children: number[], runState: string): number {
  if (children.length === 0) return ROOT_STATE_BY_RUN_STATE[runState] ?? TASK_STATE.FAILED;
  if (children.some((s) => s === TASK_STATE.FAILED || s === TASK_STATE.RUNNING)) return TASK_STATE.FAILED;
  if (children.every((s) => s === TASK_STATE.CACHED)) return TASK_STATE.CACHED;
  if (children.every((s) => s === TASK_STATE.SKIPPED)) return TASK_STATE.SKIPPED;
  return TASK_STATE.SUCCEEDED;
}

const floorSec = (ms: number) => Math.floor(ms / 1000);

function truncate(s: string, max: number, what: string, e: MlmdExecution | null, ctx: Ctx): string {
  if ([...s].length <= max) return s;
  if (e) ctx.rejects.add('TRUNCATED_STRING', 'execution', e.id, `${what} is ${[...s].length} characters; truncated to ${max}`);
  return [...s].slice(0, max).join('');
}

/** The Name and DisplayName columns, truncated to fit (each truncation is a reject). */
function namesOf(t: TaskNode, ctx: Ctx): { name: string; displayName: string; displayNameProp: string | null } {
  const e = t.exec;
  const displayNameProp = propString(e?.customProperties ?? {}, 'display_name');
  const displayName = truncate(t.fixedDisplayName ?? (displayNameProp || t.specTask?.displayName || t.name), LIMITS.taskDisplayName, 'display_name', e, ctx);
  const name = t.type === TASK_TYPE.ROOT ? t.name : truncate(t.name, LIMITS.taskName, 'task_name', e, ctx);
  return { name, displayName, displayNameProp };
}

/** What counting and LogicalKeys need of a row; the rest stays empty. Rejects as `renderRow` would add them. */
function outlineRow(t: TaskNode, tree: TaskTree, ctx: Ctx): TaskRow {
  const { name, displayName } = namesOf(t, ctx);
  const fingerprint = ctx.fingerprint(t, tree);
  return {
    UUID: t.uuid,
    Namespace: ctx.namespace,
    RunUUID: ctx.runUuid,
    pods: '',
    CreatedAtInSec: 0,
    StartedInSec: 0,
    FinishedInSec: 0,
    Fingerprint: fingerprint,
    Name: name,
    DisplayName: displayName,
    ParentTaskUUID: t.parent?.uuid ?? null,
    State: t.state,
    StatusMetadata: null,
    StateHistory: null,
    InputParameters: null,
    OutputParameters: null,
    Type: t.type,
    TypeAttrs: '',
    ScopePath: t.scopePath,
    LogicalKey: null,
  };
}

function renderRow(t: TaskNode, tree: TaskTree, ctx: Ctx): TaskRow {
  const e = t.exec;
  const props = e?.customProperties ?? {};
  const isRoot = t.type === TASK_TYPE.ROOT;
  const { name, displayName, displayNameProp } = namesOf(t, ctx);

  let created = e ? floorSec(e.createMs) : ctx.run.createdAtInSec;
  if (isRoot && ctx.run.createdAtInSec > 0 && ctx.run.createdAtInSec < created) created = ctx.run.createdAtInSec;
  const terminal = isTerminalTaskState(t.state);
  const finished = isRoot ? ctx.run.finishedAtInSec : terminal && e ? floorSec(e.updateMs) : 0;

  const fingerprint = ctx.fingerprint(t, tree);

  // Provenance: what KFP 2.x recorded and no column holds (cached_execution_id, image, plugins.*, …).
  const provenance: JsonObject = {};
  for (const [k, v] of Object.entries(props)) {
    // An undecodable value has no column form either: its raw text is kept.
    if (!isPropInColumns(k, t.type) || v.kind === 'corrupt') provenance[k] = typedValue(v);
  }
  if (displayNameProp !== null && displayNameProp !== displayName) provenance.display_name = typedValue(props.display_name!);
  const rawTaskName = propString(props, 'task_name');
  if (rawTaskName !== null && rawTaskName !== name && !isRoot) provenance.task_name = typedValue(props.task_name!);
  const podNamespace = propString(props, 'namespace');
  if (podNamespace !== null && podNamespace !== '' && podNamespace !== ctx.namespace) provenance.namespace = typedValue(props.namespace!);
  // MLMD's fingerprint stays what legacy clients are shown whenever the column holds another value (or none).
  if (props.cache_fingerprint && fingerprint !== (propString(props, 'cache_fingerprint') ?? '')) provenance.cache_fingerprint = typedValue(props.cache_fingerprint);
  for (const [k, v] of Object.entries(e?.properties ?? {})) provenance[`properties.${k}`] = typedValue(v);

  const stillRunningMlmd = e !== null && (e.lastKnownState === EXECUTION_STATE.RUNNING || e.lastKnownState === EXECUTION_STATE.NEW);
  const synthesizedFailure = !isRoot && stillRunningMlmd && t.state === TASK_STATE.FAILED && !isDagLike(t.type);
  const statusMetadata: Record<string, unknown> = {};
  if (synthesizedFailure) statusMetadata.message = `migrated: execution still RUNNING when run ended ${ctx.run.state}`;
  if (Object.keys(provenance).length > 0) statusMetadata.customProperties = { mlmd: provenance };
  const statusText =
    Object.keys(statusMetadata).length > 0 || t.state === TASK_STATE.CACHED ? encodeKfpJson('StatusMetadata', statusMetadata) : null;

  const createMs = e ? e.createMs : ctx.run.createdAtInSec * 1000;
  const history: Record<string, unknown>[] = [{ state: 'RUNNING', updateTime: createMs }];
  if (terminal) history.push({ state: t.state, updateTime: isRoot ? ctx.run.finishedAtInSec * 1000 : (e?.updateMs ?? createMs) });

  return {
    UUID: t.uuid,
    Namespace: ctx.namespace,
    RunUUID: ctx.runUuid,
    pods: podsOf(t, ctx),
    CreatedAtInSec: created,
    StartedInSec: created,
    FinishedInSec: finished,
    Fingerprint: fingerprint,
    Name: name,
    DisplayName: displayName,
    ParentTaskUUID: t.parent?.uuid ?? null,
    State: t.state,
    StatusMetadata: statusText,
    StateHistory: encodeKfpJsonList('TaskStatus', history),
    InputParameters: listOrNull('IOParameter', inputParameters(t, tree, ctx)),
    OutputParameters: listOrNull('IOParameter', outputParameters(t)),
    Type: t.type,
    TypeAttrs: typeAttrs(t),
    ScopePath: t.scopePath,
    LogicalKey: null,
  };
}

const isDagLike = (type: number) => type !== TASK_TYPE.RUNTIME && type !== TASK_TYPE.IMPORTER && type !== TASK_TYPE.ROOT;

function listOrNull(name: 'IOParameter', items: Record<string, unknown>[]): string | null {
  // The KFP 3 server marshals a nil slice, which is the JSON literal null.
  return items.length === 0 ? 'null' : encodeKfpJsonList(name, items);
}

function podsOf(t: TaskNode, ctx: Ctx): string {
  const props = t.exec?.customProperties ?? {};
  const podName = propString(props, 'pod_name') ?? '';
  if (t.type !== TASK_TYPE.RUNTIME || podName === '') return '[]';
  const image = t.specTask && ctx.spec ? ctx.spec.imageOf(t.specTask) : null;
  // K8s PVC ops run in the driver pod; that is the pod MLMD recorded for them.
  const type = image?.startsWith('argostub/') ? 'DRIVER' : 'EXECUTOR';
  return encodeKfpJsonList('TaskPod', [{ name: podName, uid: propString(props, 'pod_uid') ?? '', type }]);
}

function typeAttrs(t: TaskNode): string {
  const attrs: Record<string, unknown> = {};
  if (t.type === TASK_TYPE.LOOP) {
    const count = propInt(t.exec?.customProperties ?? {}, 'iteration_count');
    if (count !== null) attrs.iterationCount = count;
  }
  if (t.type === TASK_TYPE.IMPORTER) attrs.downloadToWorkspace = t.exec?.type === MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE;
  if (t.iterationIndex !== null) attrs.iterationIndex = t.iterationIndex;
  if (t.type === TASK_TYPE.ROOT || t.type === TASK_TYPE.LOOP || Object.keys(attrs).length > 0) return encodeKfpJson('TypeAttributes', attrs);
  return 'null';
}

function producer(taskName: string, iteration: number | null): Record<string, unknown> {
  return iteration === null ? { taskName } : { taskName, iteration };
}

function inputParameters(t: TaskNode, tree: TaskTree, ctx: Ctx): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const inputs = t.exec ? propStruct(t.exec.customProperties, 'inputs') : null;
  if (t.type === TASK_TYPE.ROOT) {
    for (const [k, v] of Object.entries(inputs ?? {})) {
      out.push({ parameterKey: k, value: finiteJson(v), type: IO_TYPE.RUNTIME_VALUE_INPUT, producer: { taskName: 'ROOT' } });
    }
    return out;
  }
  const parentName = t.parent?.name ?? 'ROOT';
  const component = t.specTask && ctx.spec ? ctx.spec.componentOf(t.specTask) : undefined;
  for (const [k, v] of Object.entries(inputs ?? {})) {
    out.push({ parameterKey: k, value: finiteJson(v), ...parameterWiring(t, k, parentName, component) });
  }
  // A LOOP carries the inputs of its collapsed iterations, one ITERATOR_INPUT per value, tagged with the iteration.
  if (t.type === TASK_TYPE.LOOP) {
    const its = [...tree.iterations.values()].filter((it) => it.loop === t).sort((a, b) => a.index - b.index || a.exec.id - b.exec.id);
    for (const it of its) {
      for (const [k, v] of Object.entries(propStruct(it.exec.customProperties, 'inputs') ?? {})) {
        out.push({ parameterKey: k, value: finiteJson(v as JsonValue), type: IO_TYPE.ITERATOR_INPUT, producer: producer(t.name, it.index) });
      }
    }
  }
  return out;
}

function parameterWiring(t: TaskNode, key: string, parentName: string, component: SpecComponent | undefined): { type: number; producer: Record<string, unknown> } {
  const it = t.iterationIndex;
  const src = t.specTask?.parameters[key];
  if (src?.kind === 'componentInput') {
    if (isLoopItem(t, src.name)) return { type: IO_TYPE.ITERATOR_INPUT, producer: producer(parentName, it) };
    return { type: IO_TYPE.COMPONENT_INPUT, producer: producer(parentName, it) };
  }
  if (src?.kind === 'taskOutput') {
    const fromLoop = t.parent?.childComponent?.tasks.get(src.producerTask)?.iteratorItem != null;
    return { type: fromLoop ? IO_TYPE.COLLECTED_INPUTS : IO_TYPE.TASK_OUTPUT_INPUT, producer: producer(src.producerTask, it) };
  }
  if (src?.kind === 'runtimeValue') return { type: IO_TYPE.RUNTIME_VALUE_INPUT, producer: producer(parentName, it) };
  if (src?.kind === 'taskFinalStatus') return { type: IO_TYPE.TASK_FINAL_STATUS_OUTPUT, producer: producer(src.producerTask || parentName, it) };
  if (!src && component?.defaultedInputs.has(key)) return { type: IO_TYPE.COMPONENT_DEFAULT_INPUT, producer: producer(parentName, it) };
  // No spec to ask: the input came from the enclosing DAG.
  return { type: IO_TYPE.COMPONENT_INPUT, producer: producer(parentName, it) };
}

/** Is `inputName` the item (or a sub-variable of the item) of the loop this task runs in? */
export function isLoopItem(t: TaskNode, inputName: string): boolean {
  const loop = t.parent;
  const item = loop && loop.type === TASK_TYPE.LOOP ? loop.specTask?.iteratorItem : null;
  return !!item && (inputName === item || inputName.startsWith(`${item}-subvar-`));
}

function outputParameters(t: TaskNode): Record<string, unknown>[] {
  if (t.type !== TASK_TYPE.RUNTIME || !t.exec) return [];
  const outputs = propStruct(t.exec.customProperties, 'outputs') ?? {};
  const type = t.iterationIndex === null ? IO_TYPE.OUTPUT : IO_TYPE.ITERATOR_OUTPUT;
  // NaN and the infinities are written as their text (values.ts finiteJson, reject NON_FINITE_NUMBER).
  return Object.entries(outputs).map(([k, v]) => ({ parameterKey: k, value: finiteJson(v), type, producer: producer(t.name, t.iterationIndex) }));
}

/** LogicalKey per §C.5; of executions sharing one (a retried task), the newest keeps it. */
function assignLogicalKeys(tree: TaskTree, ctx: Ctx): void {
  const owners = new Map<string, TaskNode>();
  for (const t of tree.tasks) {
    const key = logicalKey({
      runUuid: t.row.RunUUID,
      parentTaskUuid: t.row.ParentTaskUUID,
      scopePath: t.row.ScopePath,
      name: t.row.Name,
      type: t.row.Type,
      iterationIndex: t.iterationIndex,
    });
    if (key === null) continue;
    const prev = owners.get(key);
    if (!prev) {
      owners.set(key, t);
      continue;
    }
    const [older, newer] = (prev.exec?.id ?? 0) < (t.exec?.id ?? 0) ? [prev, t] : [t, prev];
    owners.set(key, newer);
    ctx.rejects.add(
      'DUPLICATE_TASK',
      'execution',
      older.exec?.id ?? 0,
      `same run, parent, key "${older.name}" and iteration as execution ${newer.exec?.id}; the newer keeps the LogicalKey`,
    );
  }
  for (const [key, t] of owners) t.row.LogicalKey = key;
}
