import { decodeKfpJsonOrNull } from '../../proto/kfp-json.ts';
import { type ArtifactTaskRow, EVENT_TYPE, type MlmdEvent, type MlmdExecution } from '../model.ts';
import { IO_TYPE, isOutputIoType, TASK_TYPE } from '../rules.ts';
import type { ArtifactIndex } from './artifacts.ts';
import type { ExecutionIndex } from './executions.ts';
import type { TaskView } from './task-view.ts';

/**
 * `artifact_tasks` links → MLMD events (kfp-facts.md §F.5). Input-side links are INPUT events;
 * output-side links are OUTPUT events only when the task produced the artifact itself
 * (`Producer.taskName` = its Name): the DAG-output links KFP 3 propagates upwards never existed in
 * MLMD. A LOOP's links tagged with an iteration belong to that iteration's execution.
 */

interface Ctx {
  tasks: Map<string, TaskView>;
  executions: ExecutionIndex;
  artifacts: ArtifactIndex;
  artifactCreateMs: Map<number, number>;
  executionById: Map<number, MlmdExecution>;
}

function producerOf(l: ArtifactTaskRow): { taskName: string | null; iteration: number | null } {
  const p = decodeKfpJsonOrNull('IOProducer', l.Producer) ?? {};
  const it = p.iteration;
  return {
    taskName: typeof p.taskName === 'string' ? p.taskName : null,
    iteration: typeof it === 'number' ? it : typeof it === 'string' && /^-?\d+$/.test(it) ? Number(it) : null,
  };
}

export function reverseEvents(links: ArtifactTaskRow[], ctx: Ctx): MlmdEvent[] {
  const events = new Map<string, MlmdEvent>();
  const sorted = [...links].sort((a, b) => (a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0));
  for (const l of sorted) {
    const task = ctx.tasks.get(l.TaskID);
    const artifactId = ctx.artifacts.idOfRow.get(l.ArtifactID);
    if (!task || artifactId === undefined) continue;
    const producer = producerOf(l);
    const output = isOutputIoType(l.Type);
    const iterationIo = output ? IO_TYPE.ITERATOR_OUTPUT : IO_TYPE.ITERATOR_INPUT;
    const ofIteration = task.row.Type === TASK_TYPE.LOOP && l.Type === iterationIo && l.Iteration >= 0 && producer.taskName === task.row.Name;

    let executionId: number | undefined;
    let ms: number;
    if (ofIteration) {
      executionId = ctx.executions.idOfIteration.get(`${task.row.UUID}#${l.Iteration}`);
      const it = executionId === undefined ? undefined : ctx.executionById.get(executionId);
      ms = output ? (ctx.artifactCreateMs.get(artifactId) ?? 0) : (it?.createMs ?? task.createMs);
    } else {
      if (output && producer.taskName !== task.row.Name) continue; // propagated DAG output
      executionId = ctx.executions.idOfTask.get(task.row.UUID);
      ms = output ? (ctx.artifactCreateMs.get(artifactId) ?? 0) : task.createMs;
    }
    if (executionId === undefined) continue;
    const type = output ? EVENT_TYPE.OUTPUT : EVENT_TYPE.INPUT;
    // MLMD holds one event per (artifact, execution, type); the split rows of a metrics artifact fold back into it.
    const key = `${artifactId}|${executionId}|${type}`;
    if (events.has(key)) continue;
    events.set(key, { id: 0, artifactId, executionId, type, ms, path: l.ArtifactKey === '' ? [] : [{ key: l.ArtifactKey }] });
  }
  return [...events.values()].sort((a, b) => a.executionId - b.executionId || a.artifactId - b.artifactId || a.type - b.type);
}
