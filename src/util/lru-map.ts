import { LRUCache } from 'lru-cache';

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
