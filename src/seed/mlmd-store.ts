/**
 * The MLMD rows of a seed, held in memory with explicit ids and written in batches. Ids are
 * assigned here (not by AUTO_INCREMENT) so that the same seed always gives the same ids, and so
 * that records can point at each other before anything is written.
 */
import type { Param, Queryable } from '../db/connection.ts';
import type { JsonObject } from '../transform/model.ts';
import { insertMany } from '../db/insert.ts';
import { mlmdStruct } from './struct-value.ts';

export type PropValue =
  | { int: number }
  | { double: number }
  | { string: string }
  | { struct: JsonObject }
  /** Text written as is into `string_value`: how hostile seeds plant broken struct payloads. */
  | { rawString: string };

export type PropMap = Record<string, PropValue>;

export const TYPE_KIND = { execution: 0, artifact: 1, context: 2 } as const;
export type TypeKind = keyof typeof TYPE_KIND;

/** `PropertyType` numbers for declared properties (TypeProperty.data_type). */
export const DATA_TYPE = { INT: 1, DOUBLE: 2, STRING: 3, STRUCT: 4 } as const;

export interface ExecutionRecord {
  id: number;
  typeName: string;
  name: string | null;
  state: number;
  createMs: number;
  updateMs: number;
  custom: PropMap;
  declared: PropMap;
}

export interface ArtifactRecord {
  id: number;
  typeName: string;
  uri: string;
  createMs: number;
  updateMs: number;
  custom: PropMap;
  declared: PropMap;
}

interface ContextRecord {
  id: number;
  typeName: string;
  name: string;
  createMs: number;
  updateMs: number;
  custom: PropMap;
  declared: PropMap;
}

interface EventRecord {
  id: number;
  artifactId: number;
  executionId: number;
  type: number;
  ms: number;
  keys: string[];
}

interface TypeRecord {
  id: number;
  name: string;
  kind: number;
  declared: Record<string, number>;
}

type Counter = 'type' | 'execution' | 'artifact' | 'context' | 'event' | 'association' | 'attribution';

export interface StoreTotals {
  executions: number;
  artifacts: number;
  events: number;
}

export class MlmdStore {
  private readonly next: Record<Counter, number>;
  private readonly typeIds = new Map<string, number>();
  private newTypes: TypeRecord[] = [];
  private contexts: ContextRecord[] = [];
  private parentContexts: [number, number][] = [];
  private executions: ExecutionRecord[] = [];
  private artifacts: ArtifactRecord[] = [];
  private events: EventRecord[] = [];
  private associations: [number, number, number][] = [];
  private attributions: [number, number, number][] = [];
  /** Pairs already linked, across flushes: MLMD keeps them unique and KFP's Put calls ignore repeats. */
  private readonly linked = new Set<string>();
  readonly totals: StoreTotals = { executions: 0, artifacts: 0, events: 0 };

  private constructor(start: Record<Counter, number>, existingTypes: { id: number; name: string; type_kind: number }[]) {
    this.next = start;
    for (const t of existingTypes) this.typeIds.set(`${t.type_kind}:${t.name}`, t.id);
  }

  /** Starts ids after whatever the (freshly created) schema already holds, e.g. the nine mlmd.* types. */
  static async open(q: Queryable): Promise<MlmdStore> {
    const max = async (table: string) => {
      const rows = await q.all<{ m: number | null }>(`SELECT MAX(\`id\`) AS m FROM \`${table}\``);
      return Number(rows[0]?.m ?? 0) + 1;
    };
    const types = await q.all<{ id: number; name: string; type_kind: number }>('SELECT `id`, `name`, `type_kind` FROM `Type`');
    return new MlmdStore(
      {
        type: await max('Type'),
        execution: await max('Execution'),
        artifact: await max('Artifact'),
        context: await max('Context'),
        event: await max('Event'),
        association: await max('Association'),
        attribution: await max('Attribution'),
      },
      types.map((t) => ({ id: Number(t.id), name: t.name, type_kind: Number(t.type_kind) })),
    );
  }

  private take(counter: Counter): number {
    const id = this.next[counter];
    this.next[counter] = id + 1;
    return id;
  }

  /** Get-or-create, as KFP's Put*Type calls behave. `declared` only matters for non-KFP writers (KFP v1, TFX). */
  typeId(kind: TypeKind, name: string, declared: Record<string, number> = {}): number {
    const key = `${TYPE_KIND[kind]}:${name}`;
    const existing = this.typeIds.get(key);
    if (existing !== undefined) return existing;
    const id = this.take('type');
    this.typeIds.set(key, id);
    this.newTypes.push({ id, name, kind: TYPE_KIND[kind], declared });
    return id;
  }

  addContext(typeName: string, name: string, ms: number, custom: PropMap = {}, declared: PropMap = {}): number {
    this.typeId('context', typeName);
    const id = this.take('context');
    this.contexts.push({ id, typeName, name, createMs: ms, updateMs: ms, custom, declared });
    return id;
  }

  addParentContext(childId: number, parentId: number): void {
    this.parentContexts.push([childId, parentId]);
  }

  addExecution(e: Omit<ExecutionRecord, 'id' | 'declared'> & { declared?: PropMap }): ExecutionRecord {
    this.typeId('execution', e.typeName);
    const rec: ExecutionRecord = { ...e, declared: e.declared ?? {}, id: this.take('execution') };
    this.executions.push(rec);
    this.totals.executions += 1;
    return rec;
  }

  addArtifact(a: Omit<ArtifactRecord, 'id' | 'declared'> & { declared?: PropMap }): ArtifactRecord {
    this.typeId('artifact', a.typeName);
    const rec: ArtifactRecord = { ...a, declared: a.declared ?? {}, id: this.take('artifact') };
    this.artifacts.push(rec);
    this.totals.artifacts += 1;
    return rec;
  }

  /** An event with one key step per entry of `keys` (KFP always writes exactly one). */
  addEvent(artifactId: number, executionId: number, type: number, ms: number, keys: string[]): number {
    const id = this.take('event');
    this.events.push({ id, artifactId, executionId, type, ms, keys });
    this.totals.events += 1;
    return id;
  }

  associate(contextId: number, executionId: number): void {
    const key = `x${contextId}:${executionId}`;
    if (this.linked.has(key)) return;
    this.linked.add(key);
    this.associations.push([this.take('association'), contextId, executionId]);
  }

  attribute(contextId: number, artifactId: number): void {
    const key = `a${contextId}:${artifactId}`;
    if (this.linked.has(key)) return;
    this.linked.add(key);
    this.attributions.push([this.take('attribution'), contextId, artifactId]);
  }

  /** A not-yet-written artifact, for seeds that tamper with what a run wrote. */
  pendingArtifact(id: number): ArtifactRecord | undefined {
    return this.artifacts.find((a) => a.id === id);
  }

  /** Not-yet-written events of one execution (mutable: hostile seeds rewrite keys). */
  pendingEvents(executionId: number): { id: number; artifactId: number; type: number; keys: string[] }[] {
    return this.events.filter((e) => e.executionId === executionId);
  }

  /** Writes every pending row in one transaction-sized pass and forgets them. */
  async flush(q: Queryable): Promise<void> {
    const typeId = (kind: TypeKind, name: string) => this.typeId(kind, name);
    await insertMany(q, 'Type', ['id', 'name', 'type_kind'], this.newTypes.map((t) => [t.id, t.name, t.kind]));
    await insertMany(
      q,
      'TypeProperty',
      ['type_id', 'name', 'data_type'],
      this.newTypes.flatMap((t) => Object.entries(t.declared).map(([n, d]) => [t.id, n, d])),
    );
    await insertMany(
      q,
      'Context',
      ['id', 'type_id', 'name', 'create_time_since_epoch', 'last_update_time_since_epoch'],
      this.contexts.map((c) => [c.id, typeId('context', c.typeName), c.name, c.createMs, c.updateMs]),
    );
    await insertMany(q, 'ContextProperty', PROPERTY_COLUMNS('context_id'), this.contexts.flatMap((c) => propertyRows(c.id, c.custom, c.declared)));
    await insertMany(q, 'ParentContext', ['context_id', 'parent_context_id'], this.parentContexts);
    await insertMany(
      q,
      'Execution',
      ['id', 'type_id', 'last_known_state', 'name', 'create_time_since_epoch', 'last_update_time_since_epoch'],
      this.executions.map((e) => [e.id, typeId('execution', e.typeName), e.state, e.name, e.createMs, e.updateMs]),
    );
    await insertMany(q, 'ExecutionProperty', PROPERTY_COLUMNS('execution_id'), this.executions.flatMap((e) => propertyRows(e.id, e.custom, e.declared)));
    await insertMany(
      q,
      'Artifact',
      ['id', 'type_id', 'uri', 'state', 'name', 'create_time_since_epoch', 'last_update_time_since_epoch'],
      // KFP never names artifacts and always publishes them LIVE (2).
      this.artifacts.map((a) => [a.id, typeId('artifact', a.typeName), a.uri, 2, null, a.createMs, a.updateMs]),
    );
    await insertMany(q, 'ArtifactProperty', PROPERTY_COLUMNS('artifact_id'), this.artifacts.flatMap((a) => propertyRows(a.id, a.custom, a.declared)));
    await insertMany(
      q,
      'Event',
      ['id', 'artifact_id', 'execution_id', 'type', 'milliseconds_since_epoch'],
      this.events.map((e) => [e.id, e.artifactId, e.executionId, e.type, e.ms]),
    );
    await insertMany(
      q,
      'EventPath',
      ['event_id', 'is_index_step', 'step_index', 'step_key'],
      this.events.flatMap((e) => e.keys.map((k): Param[] => [e.id, 0, null, k])),
    );
    await insertMany(q, 'Association', ['id', 'context_id', 'execution_id'], this.associations);
    await insertMany(q, 'Attribution', ['id', 'context_id', 'artifact_id'], this.attributions);
    this.newTypes = [];
    this.contexts = [];
    this.parentContexts = [];
    this.executions = [];
    this.artifacts = [];
    this.events = [];
    this.associations = [];
    this.attributions = [];
  }
}

const PROPERTY_COLUMNS = (owner: string) => [owner, 'name', 'is_custom_property', 'int_value', 'double_value', 'string_value'];

function propertyRows(ownerId: number, custom: PropMap, declared: PropMap): Param[][] {
  const rows: Param[][] = [];
  for (const [name, v] of Object.entries(declared)) rows.push([ownerId, name, 0, ...valueColumns(v)]);
  for (const [name, v] of Object.entries(custom)) rows.push([ownerId, name, 1, ...valueColumns(v)]);
  return rows;
}

function valueColumns(v: PropValue): [Param, Param, Param] {
  if ('int' in v) return [v.int, null, null];
  if ('double' in v) return [null, v.double, null];
  if ('string' in v) return [null, null, v.string];
  if ('struct' in v) return [null, null, mlmdStruct(v.struct)];
  return [null, null, v.rawString];
}
