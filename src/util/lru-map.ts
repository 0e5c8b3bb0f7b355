import { LRUCache } from 'lru-cache';
import { type CacheCounts, cacheCounts } from './cache-stats.ts';

/**
 * lru-cache, constructed as its callers use it: at most `capacity` entries, the least recently used
 * forgotten first (a read counts as a use), and, given a `ttlMs`, entries older than that (a read
 * does not extend it). Values must not be null or undefined (lru-cache's rule): store a sentinel.
 * `clock` replaces the time source, for tests.
 */
export class LruMap<K extends {}, V extends {}> extends LRUCache<K, V> {
  constructor(capacity: number, ttlMs?: number, clock?: { now(): number }) {
    super({
      max: capacity,
      ...(ttlMs === undefined ? {} : { ttl: ttlMs }),
      // lru-cache otherwise reuses one reading of the clock for a millisecond of real time.
      ...(clock === undefined ? {} : { perf: clock, ttlResolution: 0 }),
    });
  }
}

/** An LruMap whose lookups (get) count as hits or misses of cache `name` (src/util/cache-stats.ts). */
export class CountedLruMap<K extends {}, V extends {}> extends LruMap<K, V> {
  private readonly counts: CacheCounts;

  constructor(name: string, capacity: number, ttlMs?: number) {
    super(capacity, ttlMs);
    this.counts = cacheCounts(name);
  }

  override get(key: K, options?: LRUCache.GetOptions<K, V, unknown>): V | undefined {
    const value = super.get(key, options);
    if (value === undefined) this.counts.misses++;
    else this.counts.hits++;
    return value;
  }
}
