/**
 * Two backends as one (design.md §4): the primary (the KFP tables) wins for every id it has; the
 * fallback (the MLMD archive) fills in what was never migrated, such as TFX or KFP v1 runs. Ids
 * cannot clash because migrated rows keep their MLMD ids.
 *
 * Edges follow their owner: the events and context links of a node the primary has come from
 * the primary only, so the archive's view of a migrated run never leaks back in.
 */
import type { MlmdEvent } from '../transform/model.ts';
import type {
  ContextLink,
  EdgeSide,
  NodeByKind,
  NodeKey,
  NodeKind,
  NodeScope,
  ParentLink,
  ShimBackend,
  TypeRecord,
} from './backend.ts';
import type { FilterQuery } from './filter-query.ts';

export class LayeredBackend implements ShimBackend {
  readonly name: string;

  constructor(
    private readonly primary: ShimBackend,
    private readonly fallback: ShimBackend,
  ) {
    this.name = `${primary.name}+${fallback.name}`;
  }

  async types(kind: NodeKind): Promise<TypeRecord[]> {
    return mergeById(await this.primary.types(kind), await this.fallback.types(kind)).sort((a, b) => a.id - b.id);
  }

  async nodeKeys(kind: NodeKind, scope: NodeScope): Promise<NodeKey[]> {
    return mergeById(await this.primary.nodeKeys(kind, scope), await this.fallback.nodeKeys(kind, scope));
  }

  async nodes<K extends NodeKind>(kind: K, ids: readonly number[]): Promise<NodeByKind[K][]> {
    const first = await this.primary.nodes(kind, ids);
    const have = new Set(first.map((n) => n.id));
    const rest = ids.filter((id) => !have.has(id));
    const second = rest.length > 0 ? await this.fallback.nodes(kind, rest) : [];
    return [...first, ...second].sort((a, b) => a.id - b.id);
  }

  async events(side: EdgeSide, ids: readonly number[]): Promise<MlmdEvent[]> {
    const { mine, others } = await this.split(side, ids);
    const a = await this.primary.events(side, mine);
    const b = others.length > 0 ? await this.fallback.events(side, others) : [];
    return [...a, ...b];
  }

  async contextLinks(side: EdgeSide, by: 'node' | 'context', ids: readonly number[]): Promise<ContextLink[]> {
    const { mine, others } = await this.split(by === 'node' ? side : 'context', ids);
    const a = await this.primary.contextLinks(side, by, mine);
    const b = others.length > 0 ? await this.fallback.contextLinks(side, by, others) : [];
    return [...a, ...b];
  }

  async parentLinks(by: 'child' | 'parent', ids: readonly number[]): Promise<ParentLink[]> {
    const { mine, others } = await this.split('context', ids);
    const a = await this.primary.parentLinks(by, mine);
    const b = others.length > 0 ? await this.fallback.parentLinks(by, others) : [];
    return [...a, ...b];
  }

  async filterCandidates(kind: NodeKind, scope: NodeScope, query: FilterQuery): Promise<number[] | null> {
    if (!this.primary.filterCandidates || !this.fallback.filterCandidates) return null;
    const a = await this.primary.filterCandidates(kind, scope, query);
    const b = await this.fallback.filterCandidates(kind, scope, query);
    return a && b ? [...new Set([...a, ...b])] : null;
  }

  async nodeIds(kind: NodeKind): Promise<number[]> {
    const ids = async (b: ShimBackend) => (b.nodeIds ? b.nodeIds(kind) : (await b.nodeKeys(kind, { by: 'all' })).map((k) => k.id));
    return [...new Set([...(await ids(this.primary)), ...(await ids(this.fallback))])].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }

  /** Which of `ids` the primary has (and so owns the edges of). */
  private async split(kind: NodeKind, ids: readonly number[]): Promise<{ mine: number[]; others: number[] }> {
    const have = new Set((await this.primary.nodes(kind, ids)).map((n) => n.id));
    return { mine: ids.filter((id) => have.has(id)), others: ids.filter((id) => !have.has(id)) };
  }
}

function mergeById<T extends { id: number }>(first: T[], second: T[]): T[] {
  const seen = new Set(first.map((x) => x.id));
  return [...first, ...second.filter((x) => !seen.has(x.id))];
}
