import { aggregateState } from '../tasks.ts';
import { EXECUTION_STATE, type JsonObject, type JsonValue, type MlmdExecution, type Props } from '../model.ts';
import { MLMD_EXECUTION_TYPE, TASK_STATE, TASK_TYPE } from '../rules.ts';
import type { IdResolver } from './ids.ts';
import type { IoParam, TaskView } from './task-view.ts';
import { fromTypedValue, intValue, stringValue, structValue } from './values.ts';

/**
 * `tasks` rows → the executions a KFP 2.x client expects (kfp-facts.md §F.5), with the loop
 * iteration DAGs the forward mapping collapsed re-created from `mlmd_id_map`.
 */

/** `tasks.State` → `last_known_state`. SKIPPED was MLMD's CANCELED ("not triggered"). */
export const MLMD_STATE_BY_TASK_STATE: Record<number, number> = {
  [TASK_STATE.RUNTIME_STATE_UNSPECIFIED]: EXECUTION_STATE.UNKNOWN,
  [TASK_STATE.RUNNING]: EXECUTION_STATE.RUNNING,
  [TASK_STATE.SUCCEEDED]: EXECUTION_STATE.COMPLETE,
  [TASK_STATE.FAILED]: EXECUTION_STATE.FAILED,
  [TASK_STATE.CACHED]: EXECUTION_STATE.CACHED,
  [TASK_STATE.SKIPPED]: EXECUTION_STATE.CANCELED,
};

export function executionTypeOf(t: TaskView): string {
  if (t.row.Type === TASK_TYPE.RUNTIME) return MLMD_EXECUTION_TYPE.CONTAINER;
  if (t.row.Type === TASK_TYPE.IMPORTER) return t.downloadToWorkspace ? MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE : MLMD_EXECUTION_TYPE.IMPORTER;
  return MLMD_EXECUTION_TYPE.DAG;
}

/** An execution of the view together with the task it came from (none for a re-created iteration). */
export interface ReversedExecution {
  exec: MlmdExecution;
  task: TaskView | null;
  /** For iteration executions: the LOOP task and the index. */
  iterationOf: { loop: TaskView; index: number } | null;
}

export interface ExecutionIndex {
  executions: ReversedExecution[];
  /** Task UUID → execution id. */
  idOfTask: Map<string, number>;
  /** `<loop task UUID>#<index>` → iteration execution id. */
  idOfIteration: Map<string, number>;
}

const iterationKey = (loopUuid: string, index: number) => `${loopUuid}#${index}`;

interface Ctx {
  runUuid: string;
  ids: IdResolver;
  typeId: (name: string) => number;
}

export function reverseExecutions(tasks: TaskView[], ctx: Ctx): ExecutionIndex {
  const byUuid = new Map(tasks.map((t) => [t.row.UUID, t]));
  const root = tasks.find((t) => t.row.Type === TASK_TYPE.ROOT) ?? null;
  const idOfTask = new Map(tasks.map((t) => [t.row.UUID, ctx.ids.execution(t.row.UUID)]));
  const idOfIteration = new Map<string, number>();
  const out: ReversedExecution[] = [];

  // Iterations: the migrated ones from the id map; for a KFP-3-native LOOP (no recorded iteration),
  // one per iteration index its children carry, as KFP 2.x would have created them.
  const childrenOf = new Map<string, TaskView[]>();
  for (const t of tasks) {
    const p = t.row.ParentTaskUUID;
    if (p === null) continue;
    const list = childrenOf.get(p);
    if (list) list.push(t);
    else childrenOf.set(p, [t]);
  }
  for (const loop of tasks) {
    const recorded = ctx.ids.iterationsOf(loop.row.UUID);
    if (recorded.length > 0) {
      for (const it of recorded) {
        idOfIteration.set(iterationKey(loop.row.UUID, it.index), it.mlmdId);
        out.push({ exec: recordedIteration(loop, it.mlmdId, it.index, it.extra, idOfTask, ctx), task: null, iterationOf: { loop, index: it.index } });
      }
    } else if (loop.row.Type === TASK_TYPE.LOOP) {
      const kids = childrenOf.get(loop.row.UUID) ?? [];
      const indexes = new Set(kids.map((k) => k.iterationIndex).filter((i): i is number => i !== null));
      for (const index of [...indexes].sort((a, b) => a - b)) {
        const id = ctx.ids.syntheticIteration(loop.row.UUID, index);
        idOfIteration.set(iterationKey(loop.row.UUID, index), id);
        const members = kids.filter((k) => k.iterationIndex === index);
        out.push({ exec: syntheticIteration(loop, id, index, members, idOfTask, ctx), task: null, iterationOf: { loop, index } });
      }
    }
  }

  const parentIdOf = (t: TaskView): number | null => {
    if (t === root) return null;
    const parent = t.row.ParentTaskUUID === null ? undefined : byUuid.get(t.row.ParentTaskUUID);
    if (!parent) return root ? (idOfTask.get(root.row.UUID) ?? null) : null;
    if (t.iterationIndex !== null) {
      const it = idOfIteration.get(iterationKey(parent.row.UUID, t.iterationIndex));
      if (it !== undefined) return it;
    }
    return idOfTask.get(parent.row.UUID) ?? null;
  };

  for (const t of tasks) {
    out.push({ exec: taskExecution(t, t === root, idOfTask.get(t.row.UUID)!, parentIdOf(t), ctx), task: t, iterationOf: null });
  }
  out.sort((a, b) => a.exec.id - b.exec.id);
  return { executions: out, idOfTask, idOfIteration };
}

function taskExecution(t: TaskView, isRoot: boolean, id: number, parentId: number | null, ctx: Ctx): MlmdExecution {
  const row = t.row;
  const custom: Props = {};
  const type = executionTypeOf(t);
  custom.task_name = stringValue(isRoot ? '' : (row.Name ?? ''));
  custom.display_name = stringValue(row.DisplayName ?? '');
  if (parentId !== null) custom.parent_dag_id = intValue(parentId);
  if (row.Type === TASK_TYPE.LOOP && t.iterationCount !== null) custom.iteration_count = intValue(t.iterationCount);
  if (row.Type === TASK_TYPE.RUNTIME) {
    const pod = t.pods.find((p) => p.type === 'EXECUTOR') ?? t.pods.find((p) => p.type === 'DRIVER');
    custom.pod_name = stringValue(pod?.name ?? '');
    custom.pod_uid = stringValue(pod?.uid ?? '');
    custom.namespace = stringValue(pod ? row.Namespace : '');
  }
  if (row.Fingerprint !== '') custom.cache_fingerprint = stringValue(row.Fingerprint);

  const ownIterationInputs = (p: IoParam) => row.Type === TASK_TYPE.LOOP && p.type === 'ITERATOR_INPUT' && p.producerTask === row.Name && p.producerIteration !== null;
  const inputs = toStruct(t.inputs.filter((p) => !ownIterationInputs(p)));
  if (inputs) custom.inputs = inputs;
  const outputs = toStruct(t.outputs.filter((p) => p.producerTask === row.Name));
  if (outputs) custom.outputs = outputs;

  const properties: Props = {};
  restoreProvenance(t.provenance, custom, properties);

  const finish = t.finishMs;
  return {
    id,
    typeId: ctx.typeId(type),
    type,
    name: isRoot ? `run/${ctx.runUuid}` : null,
    lastKnownState: MLMD_STATE_BY_TASK_STATE[row.State] ?? EXECUTION_STATE.UNKNOWN,
    createMs: t.createMs,
    updateMs: finish ?? t.createMs,
    externalId: null,
    properties,
    customProperties: custom,
  };
}

/** Provenance wins over what the columns suggest: it is what KFP 2.x itself wrote. */
function restoreProvenance(provenance: JsonObject, custom: Props, properties: Props): void {
  for (const [k, v] of Object.entries(provenance)) {
    const value = fromTypedValue(v);
    if (!value) continue;
    if (k.startsWith('properties.')) properties[k.slice('properties.'.length)] = value;
    else custom[k] = value;
  }
}

function toStruct(params: IoParam[]): ReturnType<typeof structValue> | null {
  if (params.length === 0) return null;
  const obj: JsonObject = {};
  for (const p of params) obj[p.key] = p.value;
  return structValue(obj);
}

function iterationInputs(loop: TaskView, index: number): ReturnType<typeof structValue> | null {
  return toStruct(loop.inputs.filter((p) => p.type === 'ITERATOR_INPUT' && p.producerTask === loop.row.Name && p.producerIteration === index));
}

function recordedIteration(loop: TaskView, id: number, index: number, extra: JsonObject, idOfTask: Map<string, number>, ctx: Ctx): MlmdExecution {
  const custom: Props = {};
  const saved = extra.customProperties;
  if (saved && typeof saved === 'object' && !Array.isArray(saved)) restoreProvenance(saved, custom, {});
  custom.parent_dag_id = intValue(idOfTask.get(loop.row.UUID)!);
  custom.iteration_index = intValue(index);
  const inputs = iterationInputs(loop, index);
  if (inputs) custom.inputs = inputs;
  const num = (v: JsonValue | undefined, fallback: number) => (typeof v === 'number' ? v : fallback);
  return {
    id,
    typeId: ctx.typeId(MLMD_EXECUTION_TYPE.DAG),
    type: MLMD_EXECUTION_TYPE.DAG,
    name: null,
    lastKnownState: typeof extra.state === 'number' ? extra.state : null,
    createMs: num(extra.createMs, loop.createMs),
    updateMs: num(extra.updateMs, loop.finishMs ?? loop.createMs),
    externalId: null,
    properties: {},
    customProperties: custom,
  };
}

/** An iteration KFP 3 never recorded: its state is the runtime's verdict over that iteration's tasks. */
function syntheticIteration(loop: TaskView, id: number, index: number, members: TaskView[], idOfTask: Map<string, number>, ctx: Ctx): MlmdExecution {
  const state = aggregateState(members.map((m) => m.row.State), '');
  const finishes = members.map((m) => m.finishMs);
  const done = finishes.every((f): f is number => f !== null);
  const createMs = Math.min(...members.map((m) => m.createMs));
  const custom: Props = {
    task_name: stringValue(loop.row.Name ?? ''),
    display_name: stringValue(loop.row.DisplayName ?? ''),
    parent_dag_id: intValue(idOfTask.get(loop.row.UUID)!),
    iteration_index: intValue(index),
  };
  const inputs = iterationInputs(loop, index);
  if (inputs) custom.inputs = inputs;
  return {
    id,
    typeId: ctx.typeId(MLMD_EXECUTION_TYPE.DAG),
    type: MLMD_EXECUTION_TYPE.DAG,
    name: null,
    lastKnownState: done ? (MLMD_STATE_BY_TASK_STATE[state] ?? EXECUTION_STATE.UNKNOWN) : EXECUTION_STATE.RUNNING,
    createMs,
    updateMs: done ? Math.max(createMs, ...(finishes as number[])) : createMs,
    externalId: null,
    properties: {},
    customProperties: custom,
  };
}
