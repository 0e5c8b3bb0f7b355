// LruMap (the shim's memory of which run shows an artifact, extract's artifact origins): entries
// expire after their time, the least recently used go first when it is full, and a read counts as a use.
import { describe, expect, it } from 'vitest';
import { LruMap } from '../src/util/lru-map.ts';

describe('LruMap', () => {
  it('forgets an entry once its time is up', () => {
    const h = new LruMap<string, string>(50_000, 1_000);
    h.set('a', 'run-1', 10_000);
    expect(h.get('a', 10_999)).toBe('run-1');
    expect(h.get('a', 11_000)).toBeUndefined();
    expect(h.size).toBe(0);
  });

  it('drops the least recently used when full, a read counting as a use', () => {
    const h = new LruMap<string, string>(2, 60_000);
    h.set('a', 'run-a', 0);
    h.set('b', 'run-b', 0);
    expect(h.get('a', 1)).toBe('run-a');
    h.set('c', 'run-c', 2);
    expect(h.get('b', 3)).toBeUndefined();
    expect(h.get('a', 3)).toBe('run-a');
    expect(h.get('c', 3)).toBe('run-c');
    expect(h.size).toBe(2);
  });

  it('takes the newest value for a key, with a fresh time', () => {
    const h = new LruMap<string, string>(50_000, 100);
    h.set('a', 'run-1', 0);
    h.set('a', 'run-2', 50);
    expect(h.get('a', 120)).toBe('run-2');
    h.clear();
    expect(h.get('a', 121)).toBeUndefined();
  });

  it('without a time keeps entries until they are pushed out, null values included', () => {
    const h = new LruMap<number, string | null>(2);
    h.set(1, null, 0);
    expect(h.get(1, Number.MAX_SAFE_INTEGER)).toBeNull();
    expect(h.get(2)).toBeUndefined();
  });
});
