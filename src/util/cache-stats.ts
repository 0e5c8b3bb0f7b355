/**
 * Hits and misses of the shim's caches, by cache name, counted since the process started: the
 * metrics endpoint reads them (mlmd_bridge_shim_cache_lookups_total). Plain numbers, so counting
 * costs an addition on the hot path and nothing below depends on the metrics library.
 */
export interface CacheCounts {
  hits: number;
  misses: number;
}

const counts = new Map<string, CacheCounts>();

/** The counts of cache `name` (created at zero on first use); callers add to them. */
export function cacheCounts(name: string): CacheCounts {
  let c = counts.get(name);
  if (!c) {
    c = { hits: 0, misses: 0 };
    counts.set(name, c);
  }
  return c;
}

export function allCacheCounts(): ReadonlyMap<string, Readonly<CacheCounts>> {
  return counts;
}
