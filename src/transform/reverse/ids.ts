import type { IdMapRow, JsonObject } from '../model.ts';
import { parseJsonObject } from './values.ts';

/**
 * The legacy integer ids of the reverse mapping. Every migrated record keeps its MLMD id through
 * `mlmd_id_map` (design.md §3); a row KFP 3 created after the cut-over has no entry and gets one from
 * the caller's allocator, which persists it so the id stays stable across requests.
 */
export interface IdAllocator {
  (kind: 'execution' | 'artifact' | 'context', kfpUuid: string): number;
}

export type TypeKind = 0 | 1 | 2;
const ALLOCATOR_KIND_BY_TYPE_KIND = { 0: 'execution', 1: 'artifact', 2: 'context' } as const;

/** The allocator key of a KFP-3-native loop iteration, which has no row of its own. */
export const syntheticIterationKey = (loopUuid: string, index: number) => `iteration:${loopUuid}:${index}`;
/** The allocator key of a type missing from the id map. */
export const typeKey = (name: string) => `type:${name}`;

export interface IterationRecord {
  mlmdId: number;
  index: number;
  extra: JsonObject;
}

export class IdResolver {
  private readonly executions = new Map<string, number>();
  private readonly artifacts = new Map<string, number>();
  private readonly contexts = new Map<string, number>();
  private readonly iterations = new Map<string, IterationRecord[]>();
  private readonly types = new Map<string, number>();
  private readonly allocated = new Map<string, number>();
  readonly pipelineContextRow: { mlmdId: number; name: string | null; kfpUuid: string } | null;
  /** The id-map `extra` of each run context: what the forward mapping kept of it (its custom properties). */
  readonly runContextExtras = new Map<string, Record<string, unknown> | null>();
  /** Per artifact row: the Metadata keys whose text ("NaN", "Infinity", "-Infinity") stands for a double (reject NON_FINITE_NUMBER). */
  readonly nonFiniteDoubles = new Map<string, Set<string>>();

  constructor(rows: IdMapRow[], private readonly allocate: IdAllocator) {
    let pipeline: IdResolver['pipelineContextRow'] = null;
    for (const r of rows) {
      switch (r.kind) {
        case 'execution':
          this.executions.set(r.kfpUuid, r.mlmdId);
          break;
        case 'artifact': {
          this.artifacts.set(r.kfpUuid, r.mlmdId);
          const doubles = r.extra?.includes('nonFiniteDoubles') ? parseJsonObject(r.extra)?.nonFiniteDoubles : undefined;
          if (Array.isArray(doubles)) this.nonFiniteDoubles.set(r.kfpUuid, new Set(doubles.filter((k): k is string => typeof k === 'string')));
          break;
        }
        case 'run_context':
          this.contexts.set(r.kfpUuid, r.mlmdId);
          this.runContextExtras.set(r.kfpUuid, parseJsonObject(r.extra));
          break;
        case 'pipeline_context': {
          this.contexts.set(r.kfpUuid, r.mlmdId);
          const name = parseJsonObject(r.extra)?.name;
          pipeline = { mlmdId: r.mlmdId, name: typeof name === 'string' ? name : null, kfpUuid: r.kfpUuid };
          break;
        }
        case 'iteration': {
          const extra = parseJsonObject(r.extra) ?? {};
          const index = typeof extra.iterationIndex === 'number' ? extra.iterationIndex : -1;
          const list = this.iterations.get(r.kfpUuid) ?? [];
          list.push({ mlmdId: r.mlmdId, index, extra });
          this.iterations.set(r.kfpUuid, list);
          break;
        }
        case 'type': {
          const extra = parseJsonObject(r.extra);
          if (extra && typeof extra.name === 'string' && typeof extra.typeKind === 'number') this.types.set(`${extra.typeKind}:${extra.name}`, r.mlmdId);
          break;
        }
      }
    }
    for (const list of this.iterations.values()) list.sort((a, b) => a.index - b.index || a.mlmdId - b.mlmdId);
    this.pipelineContextRow = pipeline;
  }

  private once(kind: 'execution' | 'artifact' | 'context', key: string): number {
    const k = `${kind}|${key}`;
    let id = this.allocated.get(k);
    if (id === undefined) {
      id = this.allocate(kind, key);
      this.allocated.set(k, id);
    }
    return id;
  }

  execution(taskUuid: string): number {
    return this.executions.get(taskUuid) ?? this.once('execution', taskUuid);
  }

  /** The collapsed iteration DAGs recorded for a task (its LOOP), by iteration index. */
  iterationsOf(taskUuid: string): IterationRecord[] {
    return this.iterations.get(taskUuid) ?? [];
  }

  syntheticIteration(loopUuid: string, index: number): number {
    return this.once('execution', syntheticIterationKey(loopUuid, index));
  }

  /** The MLMD artifact a row stands for, if it was migrated. */
  migratedArtifact(rowUuid: string): number | undefined {
    return this.artifacts.get(rowUuid);
  }

  newArtifact(rowUuid: string): number {
    return this.once('artifact', rowUuid);
  }

  context(kfpUuid: string): number {
    return this.contexts.get(kfpUuid) ?? this.once('context', kfpUuid);
  }

  type(name: string, typeKind: TypeKind): number {
    return this.types.get(`${typeKind}:${name}`) ?? this.once(ALLOCATOR_KIND_BY_TYPE_KIND[typeKind], typeKey(name));
  }
}
