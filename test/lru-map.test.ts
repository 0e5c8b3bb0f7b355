// LruMap (the shim's memory of which run shows an artifact, extract's artifact origins, parsed specs):
// entries expire after their time, the least recently used go first when it is full, and a read
// counts as a use. Time comes from a clock the test moves.
import { describe, expect, it } from 'vitest';
import { LruMap } from '../src/util/lru-map.ts';

/** A clock the test sets; it starts far from 0, as performance.now() is in a running process. */
const clockAt = (t: number) => ({ t: 1_000_000 + t, now() { return this.t; }, at(ms: number) { this.t = 1_000_000 + ms; return this; } });

describe('LruMap', () => {
  it('forgets an entry once its time is up (it lives ttl milliseconds, inclusive)', () => {
    const clock = clockAt(10_000);
    const h = new LruMap<string, string>(50_000, 1_000, clock);
    h.set('a', 'run-1');
    clock.at(10_999);
    expect(h.get('a')).toBe('run-1');
    clock.at(11_000);
    expect(h.get('a')).toBe('run-1');
    clock.at(11_001);
    expect(h.get('a')).toBeUndefined();
    expect(h.size).toBe(0);
  });

  it('drops the least recently used when full, a read counting as a use', () => {
    const clock = clockAt(0);
    const h = new LruMap<string, string>(2, 60_000, clock);
    h.set('a', 'run-a');
    h.set('b', 'run-b');
    expect(h.get('a')).toBe('run-a');
    h.set('c', 'run-c');
    expect(h.get('b')).toBeUndefined();
    expect(h.get('a')).toBe('run-a');
    expect(h.get('c')).toBe('run-c');
    expect(h.size).toBe(2);
  });

  it('takes the newest value for a key, with a fresh time; a read does not extend the time', () => {
    const clock = clockAt(0);
    const h = new LruMap<string, string>(50_000, 100, clock);
    h.set('a', 'run-1');
    clock.at(50);
    h.set('a', 'run-2');
    clock.at(120);
    expect(h.get('a')).toBe('run-2');
    clock.at(151);
    expect(h.get('a')).toBeUndefined();
    h.set('b', 'run-3');
    h.clear();
    expect(h.get('b')).toBeUndefined();
  });

  it('without a time keeps entries until they are pushed out, however much time passes', () => {
    const clock = clockAt(0);
    const h = new LruMap<number, string>(2, undefined, clock);
    h.set(1, 'x');
    clock.at(Number.MAX_SAFE_INTEGER / 2);
    expect(h.get(1)).toBe('x');
    expect(h.get(2)).toBeUndefined();
    h.set(2, 'y');
    h.set(3, 'z');
    expect([h.get(1), h.get(2), h.get(3)]).toEqual([undefined, 'y', 'z']);
  });
});
