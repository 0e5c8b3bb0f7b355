import type { MlmdExecution } from './model.ts';
import type { RejectLog } from './rejects.ts';
import { KEY_EVIDENCE_RULES, MLMD_EXECUTION_TYPE } from './rules.ts';
import type { PipelineSpecIndex, SpecComponent, SpecTask } from './spec.ts';
import { propString, propStruct } from './values.ts';

/**
 * The task key of every execution directly under one DAG (one loop iteration of it), kfp-facts.md
 * §F.0-3. Since KFP 2.14 `task_name` is the key (importers and loops: task_info.name); before, it was
 * task_info.name — the display name — which several tasks of a DAG may share. Each execution's
 * candidates are the task with that key and the tasks with that display name; KEY_EVIDENCE_RULES
 * drop the ones its records contradict. Siblings that nothing recorded tells apart are paired with
 * their candidates in order (KEY_AMBIGUOUS), so each still gets a key of its own.
 */

export interface ResolvedKey {
  key: string;
  /** The spec task, `null` when the key is the raw task_name (no spec, or no task matched). */
  spec: SpecTask | null;
}

interface Ctx {
  spec: PipelineSpecIndex | null;
  rejects: RejectLog;
}

const taskNameOf = (e: MlmdExecution) => propString(e.customProperties, 'task_name') ?? '';

export function resolveSiblingKeys(executions: MlmdExecution[], component: SpecComponent | undefined, ctx: Ctx): Map<number, ResolvedKey> {
  const out = new Map<number, ResolvedKey>();
  // Executions still fitting several tasks, by task_name and the candidates left.
  const ambiguous = new Map<string, { raw: string; candidates: SpecTask[]; executions: MlmdExecution[] }>();
  for (const e of executions) {
    const raw = taskNameOf(e);
    if (!ctx.spec) {
      out.set(e.id, { key: raw, spec: null });
      continue;
    }
    const candidates = candidatesFor(raw, component);
    if (candidates.length === 1) {
      out.set(e.id, { key: candidates[0]!.key, spec: candidates[0]! });
      continue;
    }
    if (candidates.length === 0) {
      out.set(e.id, unresolved(raw, e, ctx, `task_name "${raw}" is not a task of ${component ? `component ${component.name}` : 'the enclosing DAG'} in the pipeline spec; used as the key`));
      continue;
    }
    const fitting = candidates.filter((c) => fits(e, c, ctx.spec!));
    const left = fitting.length > 0 ? fitting : candidates;
    // A task_name that is a key of this DAG was written as one (KFP 2.14 on) unless the records say otherwise.
    const direct = left.find((c) => c.key === raw);
    if (left.length === 1 || direct) {
      const chosen = direct ?? left[0]!;
      out.set(e.id, { key: chosen.key, spec: chosen });
      continue;
    }
    const group = `${raw}\u0000${left.map((c) => c.key).join('\u0000')}`;
    const entry = ambiguous.get(group) ?? { raw, candidates: left, executions: [] };
    entry.executions.push(e);
    ambiguous.set(group, entry);
  }
  for (const { raw, candidates, executions: execs } of ambiguous.values()) pairInOrder(raw, candidates, execs, out, ctx);
  return out;
}

/** The task keyed `raw`, then the tasks displayed as `raw`, in spec order. */
function candidatesFor(raw: string, component: SpecComponent | undefined): SpecTask[] {
  if (!component) return [];
  const direct = component.tasks.get(raw);
  const byDisplay = [...component.tasks.values()].filter((t) => t.displayName === raw && t.key !== raw);
  return direct ? [direct, ...byDisplay] : byDisplay;
}

function fits(e: MlmdExecution, candidate: SpecTask, spec: PipelineSpecIndex): boolean {
  const comp = spec.componentOf(candidate);
  const facts = {
    inputs: propStruct(e.customProperties, 'inputs'),
    isDagExecution: e.type === MLMD_EXECUTION_TYPE.DAG,
    candidate,
    candidateRunsDag: comp ? comp.executorLabel === null : null,
  };
  return KEY_EVIDENCE_RULES.every((r) => r.consistent(facts));
}

/**
 * As many executions as candidates: one task each, in id order against spec order (the records
 * cannot say which is which, and the tasks differ in nothing they recorded). Otherwise — a retry
 * among them, or a task that never ran — no pairing is safe and the raw task_name stays.
 */
function pairInOrder(raw: string, candidates: SpecTask[], execs: MlmdExecution[], out: Map<number, ResolvedKey>, ctx: Ctx): void {
  const keys = candidates.map((c) => c.key).join(', ');
  if (execs.length !== candidates.length) {
    for (const e of execs) out.set(e.id, unresolved(raw, e, ctx, `task_name "${raw}" matches ${candidates.length} tasks by display name (${keys}) and ${execs.length} executions hold it; used as the key`));
    return;
  }
  const sorted = [...execs].sort((a, b) => a.id - b.id);
  sorted.forEach((e, i) => {
    const task = candidates[i]!;
    out.set(e.id, { key: task.key, spec: task });
    ctx.rejects.add('KEY_AMBIGUOUS', 'execution', e.id, `task_name "${raw}" fits tasks ${keys} alike; paired in id order with ${task.key}`);
  });
}

function unresolved(raw: string, e: MlmdExecution, ctx: Ctx, reason: string): ResolvedKey {
  ctx.rejects.add('KEY_UNRESOLVED', 'execution', e.id, reason);
  return { key: raw, spec: null };
}
