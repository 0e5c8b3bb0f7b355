import { decodeKfpJsonList, decodeKfpJsonOrNull } from '../../proto/kfp-json.ts';
import type { JsonObject, JsonValue, TaskRow } from '../model.ts';
import { isTerminalTaskState } from '../rules.ts';

/**
 * A `tasks` row with its JSON columns decoded into what the reverse mapping reads. Decoding goes
 * through proto/kfp so that rows the KFP 3 server wrote read the same as migrated ones.
 */
export interface IoParam {
  key: string;
  value: JsonValue;
  /** IOType value name, e.g. `ITERATOR_INPUT`. */
  type: string;
  producerTask: string | null;
  producerIteration: number | null;
}

export interface TaskPod {
  name: string;
  uid: string;
  type: string;
}

export interface TaskView {
  row: TaskRow;
  iterationIndex: number | null;
  iterationCount: number | null;
  downloadToWorkspace: boolean;
  inputs: IoParam[];
  outputs: IoParam[];
  pods: TaskPod[];
  /** `StatusMetadata.customProperties.mlmd`: what KFP 2.x recorded and no column holds, typed. */
  provenance: JsonObject;
  /** Milliseconds, from the first StateHistory entry (exact for migrated rows), else CreatedAtInSec. */
  createMs: number;
  /** Milliseconds of the final state, or `null` when the row does not say (not finished, no history). */
  finishMs: number | null;
}

const int = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return null;
};

function params(text: string | null): IoParam[] {
  return decodeKfpJsonList('IOParameter', text).map((p) => {
    const producer = (p.producer ?? null) as Record<string, unknown> | null;
    return {
      key: typeof p.parameterKey === 'string' ? p.parameterKey : '',
      value: (p.value ?? null) as JsonValue,
      type: typeof p.type === 'string' ? p.type : 'UNSPECIFIED',
      producerTask: producer && typeof producer.taskName === 'string' ? producer.taskName : null,
      producerIteration: producer ? int(producer.iteration) : null,
    };
  });
}

function rfc3339Ms(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

export function viewTask(row: TaskRow): TaskView {
  const attrs = decodeKfpJsonOrNull('TypeAttributes', row.TypeAttrs) ?? {};
  const status = decodeKfpJsonOrNull('StatusMetadata', row.StatusMetadata) ?? {};
  const custom = (status.customProperties ?? {}) as Record<string, JsonValue>;
  const mlmd = custom.mlmd;
  const provenance = typeof mlmd === 'object' && mlmd !== null && !Array.isArray(mlmd) ? mlmd : {};
  const history = decodeKfpJsonList('TaskStatus', row.StateHistory).map((h) => rfc3339Ms(h.updateTime));
  const first = history[0] ?? null;
  const last = history.length > 1 ? (history[history.length - 1] ?? null) : null;
  const terminal = isTerminalTaskState(row.State);
  return {
    row,
    iterationIndex: int(attrs.iterationIndex),
    iterationCount: int(attrs.iterationCount),
    downloadToWorkspace: attrs.downloadToWorkspace === true,
    inputs: params(row.InputParameters),
    outputs: params(row.OutputParameters),
    pods: decodeKfpJsonList('TaskPod', row.pods).map((p) => ({
      name: typeof p.name === 'string' ? p.name : '',
      uid: typeof p.uid === 'string' ? p.uid : '',
      type: typeof p.type === 'string' ? p.type : 'UNSPECIFIED',
    })),
    provenance,
    createMs: first ?? row.CreatedAtInSec * 1000,
    finishMs: terminal ? (last ?? (row.FinishedInSec > 0 ? row.FinishedInSec * 1000 : null)) : null,
  };
}
