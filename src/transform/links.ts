import { encodeKfpJson } from '../proto/kfp-json.ts';
import type { MappedArtifact } from './artifacts.ts';
import { ids } from './identity.ts';
import { type ArtifactTaskRow, EVENT_TYPE, type MlmdEvent } from './model.ts';
import type { RejectLog } from './rejects.ts';
import { IO_TYPE, LIMITS, TASK_TYPE } from './rules.ts';
import { isLoopItem, type TaskNode, type TaskTree } from './tasks.ts';

/**
 * Events → `artifact_tasks` rows (kfp-facts.md §F.3): one per event, fanned out over the rows of a
 * split metrics artifact. An event of a collapsed iteration DAG lands on its LOOP task, tagged with
 * the iteration.
 */

type Direction = 'input' | 'output';
const DIRECTION_BY_EVENT_TYPE: Record<number, { dir: Direction; coerced: boolean } | undefined> = {
  [EVENT_TYPE.INPUT]: { dir: 'input', coerced: false },
  [EVENT_TYPE.OUTPUT]: { dir: 'output', coerced: false },
  [EVENT_TYPE.DECLARED_INPUT]: { dir: 'input', coerced: true },
  [EVENT_TYPE.INTERNAL_INPUT]: { dir: 'input', coerced: true },
  [EVENT_TYPE.DECLARED_OUTPUT]: { dir: 'output', coerced: true },
  [EVENT_TYPE.INTERNAL_OUTPUT]: { dir: 'output', coerced: true },
  [EVENT_TYPE.PENDING_OUTPUT]: { dir: 'output', coerced: true },
};

export function toLinkRows(
  events: MlmdEvent[],
  tree: TaskTree,
  artifacts: Map<number, MappedArtifact>,
  knownArtifactIds: Set<number>,
  runUuid: string,
  rejects: RejectLog,
  /** Rows for counting only (see `outlineRun`): no UUID or Producer. */
  outline = false,
): ArtifactTaskRow[] {
  // Which task produced an artifact in this run: for inputs whose wiring the spec does not say.
  const producers = new Map<number, TaskNode[]>();
  for (const ev of events) {
    if (ev.type !== EVENT_TYPE.OUTPUT) continue;
    const t = tree.byExecutionId.get(ev.executionId);
    if (t) producers.set(ev.artifactId, [...(producers.get(ev.artifactId) ?? []), t]);
  }

  const rows: ArtifactTaskRow[] = [];
  const seen = new Set<string>();
  for (const ev of events) {
    const task = tree.byExecutionId.get(ev.executionId);
    const iteration = tree.iterations.get(ev.executionId);
    if (!task && !iteration) continue; // the execution itself was rejected, with its events counted there
    if (!knownArtifactIds.has(ev.artifactId)) {
      rejects.add('MISSING_ARTIFACT', 'event', ev.id, `event of execution ${ev.executionId} names artifact ${ev.artifactId}, which does not exist`);
      continue;
    }
    const mapped = artifacts.get(ev.artifactId);
    if (!mapped) continue; // the artifact was rejected (e.g. URI_TOO_LONG), with its links
    const direction = DIRECTION_BY_EVENT_TYPE[ev.type];
    if (!direction) {
      rejects.add('UNKNOWN_EVENT_TYPE', 'event', ev.id, `event type ${ev.type} has no direction`);
      continue;
    }
    if (direction.coerced) rejects.add('EVENT_TYPE_COERCED', 'event', ev.id, `event type ${ev.type} mapped as ${direction.dir}`);
    const firstKey = ev.path.find((s): s is { key: string } => 'key' in s)?.key ?? '';
    if (firstKey.length > LIMITS.artifactKey) {
      rejects.add('KEY_TOO_LONG', 'event', ev.id, `path key is ${firstKey.length} characters (limit ${LIMITS.artifactKey}); link not migrated`);
      continue;
    }

    let owner: TaskNode;
    let wiring: { type: number; producer: { taskName: string; iteration?: number } };
    if (iteration) {
      owner = iteration.loop;
      const type = direction.dir === 'output' ? IO_TYPE.ITERATOR_OUTPUT : IO_TYPE.ITERATOR_INPUT;
      wiring = { type, producer: { taskName: owner.name, iteration: iteration.index } };
    } else {
      owner = task!;
      wiring = direction.dir === 'output' ? outputWiring(owner) : inputWiring(owner, firstKey, producers.get(ev.artifactId) ?? []);
    }
    const iterationNo = wiring.producer.iteration ?? -1;
    for (const row of mapped.rows) {
      const unique = `${row.UUID}|${owner.uuid}|${wiring.type}|${iterationNo}|${firstKey}`;
      if (seen.has(unique)) continue; // two events collapsed onto one link (iterations of one loop)
      seen.add(unique);
      rows.push({
        UUID: outline ? '' : ids.link(ev.id, row.UUID, owner.uuid),
        ArtifactID: row.UUID,
        TaskID: owner.uuid,
        Type: wiring.type,
        Iteration: iterationNo,
        RunUUID: runUuid,
        Producer: outline ? '' : encodeKfpJson('IOProducer', wiring.producer),
        ArtifactKey: firstKey,
      });
    }
  }
  return rows;
}

function withIteration(taskName: string, iteration: number | null): { taskName: string; iteration?: number } {
  return iteration === null ? { taskName } : { taskName, iteration };
}

function outputWiring(t: TaskNode) {
  return { type: IO_TYPE.OUTPUT, producer: withIteration(t.name, t.iterationIndex) };
}

function inputWiring(t: TaskNode, key: string, producers: TaskNode[]) {
  const parentName = t.parent?.name ?? 'ROOT';
  const src = t.specTask?.artifacts[key];
  if (src?.kind === 'componentInput') {
    const type = isLoopItem(t, src.name) ? IO_TYPE.ITERATOR_INPUT : IO_TYPE.COMPONENT_INPUT;
    return { type, producer: withIteration(parentName, t.iterationIndex) };
  }
  if (src?.kind === 'taskOutput') {
    const upstream = t.parent?.childComponent?.tasks.get(src.producerTask);
    const type = upstream?.iteratorItem != null ? IO_TYPE.COLLECTED_INPUTS : IO_TYPE.TASK_OUTPUT_INPUT;
    return { type, producer: withIteration(src.producerTask, t.iterationIndex) };
  }
  // No spec wiring: an output of a sibling in this run is a task output, anything else came from the parent.
  const sibling = producers.find((p) => p.parent === t.parent && p !== t);
  if (sibling) {
    const type = sibling.type === TASK_TYPE.LOOP ? IO_TYPE.COLLECTED_INPUTS : IO_TYPE.TASK_OUTPUT_INPUT;
    return { type, producer: withIteration(sibling.name, t.iterationIndex) };
  }
  return { type: IO_TYPE.COMPONENT_INPUT, producer: withIteration(parentName, t.iterationIndex) };
}
