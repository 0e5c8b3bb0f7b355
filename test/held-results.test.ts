/** HeldResults: results wait, in order and bounded, for a slower promise (verify's whole-database checks). */
import { describe, expect, it } from 'vitest';
import { HeldResults } from '../src/verify/held-results.ts';

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('HeldResults', () => {
  it('holds results until the promise settles, then passes them on in the order they came', async () => {
    const gate = deferred();
    const out: number[] = [];
    const held = new HeldResults<number[]>(gate.promise, 100, (r) => r.length, (r) => out.push(...r));
    await held.push([1, 2]);
    await held.push([3]);
    expect(out).toEqual([]);
    gate.resolve();
    await tick();
    await held.push([4]);
    expect(out).toEqual([1, 2, 3, 4]);
    await held.push([5]);
    expect(out).toEqual([1, 2, 3, 4, 5]);
  });

  it('makes the pusher wait once the limit is held, and nothing is passed on early', async () => {
    const gate = deferred();
    const out: number[] = [];
    const held = new HeldResults<number[]>(gate.promise, 3, (r) => r.length, (r) => out.push(...r));
    await held.push([1, 2]);
    let returned = false;
    const third = held.push([3]).then(() => {
      returned = true;
    });
    await tick();
    expect(returned).toBe(false);
    expect(out).toEqual([]);
    gate.resolve();
    await third;
    expect(out).toEqual([1, 2, 3]);
  });

  it('drain waits for the promise and passes on what is left', async () => {
    const gate = deferred();
    const out: number[] = [];
    const held = new HeldResults<number[]>(gate.promise, 100, (r) => r.length, (r) => out.push(...r));
    await held.push([7]);
    const drained = held.drain();
    await tick();
    expect(out).toEqual([]);
    gate.resolve();
    await drained;
    expect(out).toEqual([7]);
  });

  it('a failed promise reaches the next push, and nothing held is passed on', async () => {
    const gate = deferred();
    const out: number[] = [];
    const held = new HeldResults<number[]>(gate.promise, 100, (r) => r.length, (r) => out.push(...r));
    await held.push([1]);
    gate.reject(new Error('whole-database checks failed'));
    await tick();
    await expect(held.push([2])).rejects.toThrow('whole-database checks failed');
    expect(out).toEqual([]);
  });
});
