/**
 * One listing algorithm for every list RPC (GetArtifacts, *ByType, *ByContext, …): take the
 * paging keys of the scope, order them, skip to the token, and load only the rows of the page —
 * or, with a filter_query, load and test candidates batch by batch until the page is full.
 * Without options MLMD answers every row at once; we do the same, in id order.
 */
import type { NodeByKind, NodeKey, NodeKind, NodeScope, ShimBackend } from './backend.ts';
import type { CallContext } from './call-context.ts';
import { filterNodes } from './filtering.ts';
import { type FilterQuery, parseFilterQuery } from './filter-query.ts';
import { encodeToken, type ListOptionsMessage, orderedKeys, planList } from './paging.ts';

export interface Listing<K extends NodeKind> {
  nodes: NodeByKind[K][];
  /** Set only when another page exists. */
  nextPageToken?: string;
  /** The scope holds no node at all, before any filter or page (MLMD's *ByType answers tell this apart). */
  emptyScope: boolean;
}

/** How many candidates to load per round when a filter has to be evaluated. */
const FILTER_BATCH = 500;

export async function listNodes<K extends NodeKind>(
  backend: ShimBackend,
  kind: K,
  scope: NodeScope,
  options: ListOptionsMessage | undefined,
  call: CallContext,
): Promise<Listing<K>> {
  if (!options) {
    const ids = scope.by === 'all' && backend.nodeIds ? await backend.nodeIds(kind) : (await backend.nodeKeys(kind, scope)).map((k) => k.id);
    const nodes = await backend.nodes(kind, ids.sort((a, b) => a - b));
    return { nodes, emptyScope: nodes.length === 0 };
  }
  const plan = planList(options, call.limits.maxPageSize);
  const query = plan.filter === null ? null : parseFilterQuery(plan.filter, kind);
  let keys = await scopeKeys(backend, kind, scope, plan.field === 'ID');
  const emptyScope = keys.length === 0;
  if (query && backend.filterCandidates) {
    const candidates = await backend.filterCandidates(kind, scope, query);
    if (candidates) {
      const allowed = new Set(candidates);
      keys = keys.filter((k) => allowed.has(k.id));
    }
  }
  const ordered = orderedKeys(keys, plan);
  const wanted = plan.pageSize + 1;

  const page = query ? await firstMatching(backend, kind, ordered, query, wanted, call) : await firstLoadable(backend, kind, ordered, wanted);
  if (page.length <= plan.pageSize) return { nodes: page, emptyScope };
  const shown = page.slice(0, plan.pageSize);
  return { nodes: shown, nextPageToken: encodeToken(plan, shown.map(keyOf)), emptyScope };
}

/**
 * The first `limit` nodes (in the order of `keys`) that satisfy `query`, testing candidates a
 * batch at a time so that a selective filter over a large scope does not load every row.
 */
export async function firstMatching<K extends NodeKind>(
  backend: ShimBackend,
  kind: K,
  keys: readonly NodeKey[],
  query: FilterQuery,
  limit: number,
  call: CallContext,
): Promise<NodeByKind[K][]> {
  const out: NodeByKind[K][] = [];
  for (let i = 0; i < keys.length && out.length < limit; i += FILTER_BATCH) {
    await call.pause();
    const batch = keys.slice(i, i + FILTER_BATCH);
    const loaded = inKeyOrder(await backend.nodes(kind, batch.map((k) => k.id)), batch);
    out.push(...(await filterNodes(backend, kind, loaded, query, call)));
  }
  return out.slice(0, limit);
}

/**
 * The first `limit` nodes (in the order of `keys`) that can still be loaded. A key may outlive its
 * node — the KFP tables keep the ids of a run deleted since the migration — and a short page must
 * not look like the last one, so a load that comes back short reads on past it.
 */
async function firstLoadable<K extends NodeKind>(backend: ShimBackend, kind: K, keys: readonly NodeKey[], limit: number): Promise<NodeByKind[K][]> {
  const out: NodeByKind[K][] = [];
  let next = 0;
  while (out.length < limit && next < keys.length) {
    const batch = keys.slice(next, next + limit - out.length);
    next += batch.length;
    out.push(...inKeyOrder(await backend.nodes(kind, batch.map((k) => k.id)), batch));
  }
  return out;
}

/** The paging keys of a scope; in id order over all nodes the times are not needed, so a backend may skip them. */
async function scopeKeys(backend: ShimBackend, kind: NodeKind, scope: NodeScope, byId: boolean): Promise<NodeKey[]> {
  if (byId && scope.by === 'all' && backend.nodeIds) return (await backend.nodeIds(kind)).map((id) => ({ id, createMs: 0, updateMs: 0 }));
  return backend.nodeKeys(kind, scope);
}

function keyOf(n: { id: number; createMs: number; updateMs: number }): NodeKey {
  return { id: n.id, createMs: n.createMs, updateMs: n.updateMs };
}

/** `nodes` arrive by id; the page wants them in key order. */
function inKeyOrder<T extends { id: number }>(nodes: T[], keys: readonly NodeKey[]): T[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return keys.flatMap((k) => {
    const n = byId.get(k.id);
    return n ? [n] : [];
  });
}
