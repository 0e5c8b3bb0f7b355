/**
 * Type ids for in-memory bundles: the bundle builder gives every type one placeholder id, MLMD gives
 * each (kind, name) its own, and the migrator records one 'type' row per type in mlmd_id_map.
 */
import type { IdMapRow, RunBundle } from '../../src/transform/model.ts';

/** Gives each (kind, name) its own id; records whose type name is missing keep `unknownTypeId(original)`. */
export function withTypeIds(b: RunBundle, unknownTypeId: (original: number) => number = (original) => original): RunBundle {
  const ids = new Map<string, number>();
  const idOf = (kind: number, name: string | null, original: number) => {
    if (name === null) return unknownTypeId(original);
    const k = `${kind}:${name}`;
    if (!ids.has(k)) ids.set(k, 10 + kind * 100 + ids.size);
    return ids.get(k)!;
  };
  return {
    ...b,
    runContext: { ...b.runContext, typeId: idOf(2, b.runContext.type, b.runContext.typeId) },
    pipelineContext: b.pipelineContext && { ...b.pipelineContext, typeId: idOf(2, b.pipelineContext.type, b.pipelineContext.typeId) },
    executions: b.executions.map((e) => ({ ...e, typeId: idOf(0, e.type, e.typeId) })),
    artifacts: b.artifacts.map((a) => ({ ...a, typeId: idOf(1, a.type, a.typeId) })),
  };
}

/** The 'type' rows the migrator writes for every type it saw. */
export function typeRows(b: RunBundle): IdMapRow[] {
  const rows = new Map<string, IdMapRow>();
  const add = (typeId: number, name: string | null, typeKind: number) => {
    if (name !== null) rows.set(`${typeKind}:${name}`, { kind: 'type', mlmdId: typeId, kfpUuid: `type-${typeId}`, runUuid: null, extra: JSON.stringify({ name, typeKind }) });
  };
  for (const e of b.executions) add(e.typeId, e.type, 0);
  for (const a of b.artifacts) add(a.typeId, a.type, 1);
  for (const c of [b.runContext, b.pipelineContext]) if (c) add(c.typeId, c.type, 2);
  return [...rows.values()];
}
