// IdSet (plan's record of the artifacts it has counted) behaves as a Set of integers would,
// for dense auto-increment ids, sparse and huge ones, negatives and repeats.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdSet } from '../src/migrate/id-set.ts';

describe('IdSet', () => {
  it('agrees with a Set on any sequence of adds', () => {
    const id = fc.oneof(
      fc.integer({ min: 0, max: 70_000 }),
      fc.integer({ min: -70_000, max: 70_000 }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(0, 31, 32, 65_535, 65_536, -1, -65_536, -65_537, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    );
    fc.assert(
      fc.property(fc.array(id, { maxLength: 300 }), fc.array(id, { maxLength: 50 }), (adds, probes) => {
        const bits = new IdSet();
        const ref = new Set<number>();
        for (const x of adds) {
          expect(bits.add(x)).toBe(!ref.has(x));
          ref.add(x);
        }
        expect(bits.size).toBe(ref.size);
        for (const x of [...adds, ...probes]) expect(bits.has(x)).toBe(ref.has(x));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what is not an integer id', () => {
    const bits = new IdSet();
    for (const x of [1.5, Number.NaN, 2 ** 60]) expect(() => bits.add(x)).toThrow(RangeError);
    expect(bits.has(1.5)).toBe(false);
  });
});
