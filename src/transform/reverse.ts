/**
 * The reverse mapping (design.md §1, kfp-facts.md §F.5): the KFP 3 rows of one run → the MLMD view a
 * legacy client sees, with the MLMD ids the records had before migration. The shim serves it and
 * `verify` compares it with the source MLMD records; one mapping serves both, so a bug in it shows in both.
 * Pure: rows in, records out.
 */
import type {
  ArtifactRow,
  ArtifactTaskRow,
  CorruptColumn,
  IdMapRow,
  KfpRunDetails,
  MlmdArtifact,
  MlmdContext,
  MlmdEvent,
  MlmdExecution,
  MlmdType,
  TaskRow,
} from './model.ts';
import { reverseArtifacts } from './reverse/artifacts.ts';
import { reverseContexts } from './reverse/contexts.ts';
import { reverseEvents } from './reverse/events.ts';
import { reverseExecutions } from './reverse/executions.ts';
import { type IdAllocator, IdResolver, type TypeKind } from './reverse/ids.ts';
import { viewTask } from './reverse/task-view.ts';

export type { IdAllocator } from './reverse/ids.ts';
export { syntheticIterationKey, typeKey } from './reverse/ids.ts';
export { pipelineContextUuid, runPipelineRoot } from './reverse/contexts.ts';
export { MLMD_STATE_BY_TASK_STATE } from './reverse/executions.ts';

/** What the shim and verify load for one run. */
export interface KfpRunRows {
  run: KfpRunDetails;
  tasks: TaskRow[];
  links: ArtifactTaskRow[];
  /** Every row any link of the run names. */
  artifacts: ArtifactRow[];
  /** Every id-map row of the run's tasks, iterations and contexts, of those artifact rows, and all 'type' rows. */
  idMap: IdMapRow[];
}

/**
 * The MLMD records of one run. Event `id`s are 0: MLMD never puts them on the wire and KFP keeps no
 * event rows, so an event is known by (artifactId, executionId, type).
 */
export interface MlmdView {
  contexts: MlmdContext[];
  executions: MlmdExecution[];
  artifacts: MlmdArtifact[];
  events: MlmdEvent[];
  associations: { contextId: number; executionId: number }[];
  attributions: { contextId: number; artifactId: number }[];
  parentContexts: { childId: number; parentId: number }[];
  /** The types the records above reference. */
  types: MlmdType[];
  /** Rows shown without a JSON column that could not be read (for the caller to report). */
  corrupt: CorruptColumn[];
  /** Which MLMD artifact each of the run's artifact rows is shown as (row UUID → id). */
  artifactIdOfRow: ReadonlyMap<string, number>;
}

export interface ReverseOptions {
  /**
   * `store_session_info` for artifacts and the run context. KFP 3 no longer stores it (it derives it from
   * the kfp-launcher config); when the caller knows that config it passes the JSON text here, else it is left out.
   */
  storeSessionInfo?: string | null;
}

export function reverseRun(rows: KfpRunRows, allocate: IdAllocator, options: ReverseOptions = {}): MlmdView {
  const ids = new IdResolver(rows.idMap, allocate);
  const storeSessionInfo = options.storeSessionInfo ?? null;
  const types = new Map<string, MlmdType>();
  const typeIdOf = (typeKind: TypeKind) => (name: string) => {
    const key = `${typeKind}:${name}`;
    let t = types.get(key);
    if (!t) {
      t = { id: ids.type(name, typeKind), name, typeKind, version: null };
      types.set(key, t);
    }
    return t.id;
  };

  const runTasks = rows.tasks.filter((t) => t.RunUUID === rows.run.uuid);
  const tasks = runTasks.map(viewTask);
  const namespace = runTasks[0]?.Namespace ?? rows.run.experimentNamespace ?? rows.run.namespace;
  const taskIds = new Set(runTasks.map((t) => t.UUID));
  const links = rows.links.filter((l) => l.RunUUID === rows.run.uuid && taskIds.has(l.TaskID));

  // Contexts first: their ids are allocated before any record of a native run.
  const contexts = reverseContexts(rows.run, { ids, typeId: typeIdOf(2), namespace, storeSessionInfo });
  const executions = reverseExecutions(tasks, { runUuid: rows.run.uuid, ids, typeId: typeIdOf(0) });
  const linkedRows = new Set(links.map((l) => l.ArtifactID));
  const artifacts = reverseArtifacts(rows.artifacts.filter((a) => linkedRows.has(a.UUID)), links, { ids, typeId: typeIdOf(1), namespace, storeSessionInfo });
  const events = reverseEvents(links, {
    tasks: new Map(tasks.map((t) => [t.row.UUID, t])),
    executions,
    artifacts,
    artifactCreateMs: new Map(artifacts.artifacts.map((a) => [a.id, a.createMs])),
    executionById: new Map(executions.executions.map((e) => [e.exec.id, e.exec])),
  });

  const contextIds = [contexts.pipeline.id, contexts.run.id];
  const execs = executions.executions.map((e) => e.exec);
  return {
    contexts: [contexts.pipeline, contexts.run].sort((a, b) => a.id - b.id),
    executions: execs,
    artifacts: artifacts.artifacts,
    events,
    associations: execs.flatMap((e) => contextIds.map((contextId) => ({ contextId, executionId: e.id }))),
    attributions: artifacts.artifacts.flatMap((a) => contextIds.map((contextId) => ({ contextId, artifactId: a.id }))),
    parentContexts: [{ childId: contexts.run.id, parentId: contexts.pipeline.id }],
    types: [...types.values()].sort((a, b) => a.id - b.id),
    corrupt: artifacts.corrupt,
    artifactIdOfRow: artifacts.idOfRow,
  };
}
