/** verify's field equality: canonicalEqual must agree with comparing canonicalJson strings, on any JSON-like value. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/transform/lossy-codes.ts';
import { canonicalEqual } from '../src/transform/values.ts';

const leaf = fc.oneof(
  fc.constantFrom(null, undefined, 0, -0, NaN, Infinity, -Infinity, true, false, '', 'undefined', 'null', '0', '__proto__'),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.string({ maxLength: 3 }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__', 'toString'), tie('v'), { maxKeys: 3 })),
})).v;

describe('canonicalEqual', () => {
  it('agrees with canonicalJson equality on random values and on near-copies of them', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(canonicalEqual(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
        const copy = JSON.parse(JSON.stringify([a]) ?? 'null') as unknown;
        expect(canonicalEqual([a], copy)).toBe(canonicalJson([a]) === canonicalJson(copy));
      }),
      { numRuns: 5000 },
    );
  });

  it('ignores key order and keys holding undefined, and tells apart what JSON tells apart', () => {
    expect(canonicalEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(canonicalEqual({ a: 1, x: undefined }, { a: 1 })).toBe(true);
    expect(canonicalEqual({ a: 1 }, { a: '1' })).toBe(false);
    expect(canonicalEqual([1, 2], [2, 1])).toBe(false);
    expect(canonicalEqual({}, [])).toBe(false);
    expect(canonicalEqual({ toString: 1 }, {})).toBe(false);
    expect(canonicalEqual({}, { toString: 1 })).toBe(false);
    expect(canonicalEqual(-0, 0)).toBe(true);
    expect(canonicalEqual(NaN, null)).toBe(true);
  });
});
