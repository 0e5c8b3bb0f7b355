/**
 * Applies a filter_query to a batch of nodes: fetches, for the whole batch at once, the
 * neighbours the query joins (contexts, events, parent/child contexts, attributed artifacts,
 * associated executions), then evaluates the query node by node.
 */
import type { AnyNode, NodeByKind, NodeKind, ShimBackend } from './backend.ts';
import type { CallContext } from './call-context.ts';
import { FilterMatch, type NeighbourRow, nodeAttribute } from './filter-eval.ts';
import type { FilterQuery, Relation } from './filter-query.ts';

/**
 * The nodes of `nodes` that satisfy `query`, in their given order. Every node and neighbour row
 * is counted as work, and evaluation pauses between nodes (or between choices of neighbour rows)
 * whenever the call has worked long enough, so other calls run and a cancelled call stops.
 */
export async function filterNodes<K extends NodeKind>(
  backend: ShimBackend,
  kind: K,
  nodes: readonly NodeByKind[K][],
  query: FilterQuery,
  call: CallContext,
): Promise<NodeByKind[K][]> {
  if (nodes.length === 0) return [];
  call.work(nodes.length);
  const ids = nodes.map((n) => n.id);
  const byRelation = new Map<Relation, Map<number, NeighbourRow[]>>();
  for (const relation of new Set(query.joins.map((j) => j.relation))) {
    const rows = await neighbourRows(backend, kind, relation, ids);
    let count = 0;
    for (const list of rows.values()) count += list.length;
    call.work(count);
    byRelation.set(relation, rows);
  }
  const out: NodeByKind[K][] = [];
  for (const node of nodes) {
    const neighbours = new Map<string, readonly NeighbourRow[]>();
    for (const j of query.joins) neighbours.set(j.alias, byRelation.get(j.relation)?.get(node.id) ?? []);
    const match = new FilterMatch(query, { node, neighbours }, call);
    let result = match.step();
    while (result === undefined) {
      await call.pause();
      result = match.step();
    }
    if (result) out.push(node);
    if (call.pauseDue) await call.pause();
  }
  return out;
}

/** Rows of one relation, keyed by the id of the node they belong to. */
async function neighbourRows(backend: ShimBackend, kind: NodeKind, relation: Relation, ids: number[]): Promise<Map<number, NeighbourRow[]>> {
  switch (relation) {
    case 'contexts': {
      if (kind === 'context') return new Map();
      const links = await backend.contextLinks(kind, 'node', ids);
      const contexts = await backend.nodes('context', unique(links.map((l) => l.contextId)));
      return joinRows(
        links.map((l) => [l.nodeId, l.contextId]),
        contexts,
      );
    }
    case 'events': {
      if (kind === 'context') return new Map();
      const out = new Map<number, NeighbourRow[]>();
      for (const e of await backend.events(kind, ids)) {
        const owner = kind === 'artifact' ? e.artifactId : e.executionId;
        const row: NeighbourRow =
          kind === 'artifact'
            ? { type: e.type, milliseconds_since_epoch: e.ms, execution_id: e.executionId }
            : { type: e.type, milliseconds_since_epoch: e.ms, artifact_id: e.artifactId };
        push(out, owner, row);
      }
      return out;
    }
    case 'parent_contexts':
    case 'child_contexts': {
      const byChild = relation === 'parent_contexts';
      const links = await backend.parentLinks(byChild ? 'child' : 'parent', ids);
      const pairs: [number, number][] = links.map((l) => (byChild ? [l.childId, l.parentId] : [l.parentId, l.childId]));
      const contexts = await backend.nodes('context', unique(pairs.map((p) => p[1])));
      return joinRows(pairs, contexts);
    }
    case 'artifacts':
    case 'executions': {
      const side = relation === 'artifacts' ? 'artifact' : 'execution';
      const links = await backend.contextLinks(side, 'context', ids);
      const members: AnyNode[] = await backend.nodes(side, unique(links.map((l) => l.nodeId)));
      return joinRows(
        links.map((l) => [l.contextId, l.nodeId]),
        members,
      );
    }
  }
}

const NEIGHBOUR_FIELDS = [
  'id',
  'name',
  'type',
  'state',
  'last_known_state',
  'uri',
  'external_id',
  'create_time_since_epoch',
  'last_update_time_since_epoch',
] as const;

function rowOf(node: AnyNode): NeighbourRow {
  const row: Record<string, ReturnType<typeof nodeAttribute>> = {};
  for (const f of NEIGHBOUR_FIELDS) row[f] = nodeAttribute(node, f);
  return row;
}

/** For pairs (owner, neighbour id), the neighbour rows per owner; links to missing nodes drop out as in an INNER JOIN. */
function joinRows(pairs: [number, number][], neighbours: AnyNode[]): Map<number, NeighbourRow[]> {
  const rows = new Map(neighbours.map((n) => [n.id, rowOf(n)]));
  const out = new Map<number, NeighbourRow[]>();
  for (const [owner, id] of pairs) {
    const row = rows.get(id);
    if (row) push(out, owner, row);
  }
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function unique(ids: Iterable<number>): number[] {
  return [...new Set(ids)];
}
