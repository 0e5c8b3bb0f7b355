/**
 * What the RPC layer asks of a data source. A backend answers narrow questions about stored
 * records — which nodes are in a scope, the records for some ids, events and links — and knows
 * nothing of paging, ordering, filter_query or proto messages; those live in backend-independent
 * modules so that every backend (the MLMD archive, the KFP tables through the reverse mapping,
 * both layered) serves the same MLMD semantics.
 *
 * Every method answers for a whole batch of ids with a bounded number of queries.
 */
import type { JsonObject, MlmdArtifact, MlmdContext, MlmdEvent, MlmdExecution } from '../transform/model.ts';
import type { FilterQuery } from './filter-query.ts';

export type NodeKind = 'artifact' | 'execution' | 'context';

/** `Type.type_kind` numbers. */
export const TYPE_KIND_NUMBER: Record<NodeKind, number> = { execution: 0, artifact: 1, context: 2 };

export interface NodeByKind {
  artifact: MlmdArtifact;
  execution: MlmdExecution;
  context: MlmdContext;
}
export type AnyNode = MlmdArtifact | MlmdExecution | MlmdContext;

export interface TypeRecord {
  id: number;
  kind: NodeKind;
  name: string;
  version: string | null;
  description: string | null;
  externalId: string | null;
  /** Declared properties: name → `PropertyType` number (1 INT … 6 BOOLEAN). */
  properties: Record<string, number>;
  /** Name of the built-in `mlmd.*` type this type derives from (`ParentType`), if any. */
  baseTypeName: string | null;
  /** Execution types only: `ArtifactStructType` as MLMD stores it (proto JSON, lowerCamel field names), parsed. */
  inputType: JsonObject | null;
  outputType: JsonObject | null;
}

/** The columns paging orders by. */
export interface NodeKey {
  id: number;
  createMs: number;
  updateMs: number;
}

/** Which nodes a listing covers. */
export type NodeScope =
  | { by: 'all' }
  | { by: 'type'; typeId: number; name?: string }
  /** Artifacts attributed to / executions associated with a context (not for contexts). */
  | { by: 'context'; contextId: number }
  | { by: 'uri'; uris: string[] }
  | { by: 'externalId'; externalIds: string[] };

/** An Attribution (artifact ↔ context) or Association (execution ↔ context). */
export interface ContextLink {
  contextId: number;
  nodeId: number;
}

/** `ParentContext`: `childId` is the context that has the parent. */
export interface ParentLink {
  childId: number;
  parentId: number;
}

export type EdgeSide = 'artifact' | 'execution';

export interface ShimBackend {
  /** For logs: `mlmd`, `kfp`, `kfp+mlmd`. */
  readonly name: string;
  /** Every type of one kind, the built-in `mlmd.*` ones included, ascending by id. */
  types(kind: NodeKind): Promise<TypeRecord[]>;
  /** Paging keys of the nodes in a scope (any order). */
  nodeKeys(kind: NodeKind, scope: NodeScope): Promise<NodeKey[]>;
  /** Full records (properties included) of the ids that exist, ascending by id. */
  nodes<K extends NodeKind>(kind: K, ids: readonly number[]): Promise<NodeByKind[K][]>;
  /** Events whose artifact (or execution) is one of `ids`, ascending by event id, paths in step order. */
  events(side: EdgeSide, ids: readonly number[]): Promise<MlmdEvent[]>;
  /** Attributions (side artifact) or Associations (side execution), looked up by node or by context ids. */
  contextLinks(side: EdgeSide, by: 'node' | 'context', ids: readonly number[]): Promise<ContextLink[]>;
  /** ParentContext rows whose child (or parent) is one of `ids`. */
  parentLinks(by: 'child' | 'parent', ids: readonly number[]): Promise<ParentLink[]>;
  /**
   * Optional narrowing: a superset of the node ids in `scope` that can satisfy `query`, or null
   * when the backend cannot narrow it. The exact answer always comes from evaluating the filter.
   */
  filterCandidates?(kind: NodeKind, scope: NodeScope, query: FilterQuery): Promise<number[] | null>;
  /**
   * Optional shortcut: every node id of a kind, for listings in id order, which need no times.
   * A backend whose times are costly to compute (the KFP tables: they need the reverse mapping)
   * offers it so that paging through all nodes loads only the rows of each page.
   */
  nodeIds?(kind: NodeKind): Promise<number[]>;
  close(): Promise<void>;
}
