/** Work started ahead, results consumed in order (plan's and verify's batch loops). */
import { describe, expect, it } from 'vitest';
import { consumeInOrder } from '../src/util/in-order.ts';

async function* items(n: number): AsyncIterable<number> {
  for (let i = 0; i < n; i++) yield i;
}

describe('consumeInOrder', () => {
  it('hands results over in item order, whatever order the work finishes in', async () => {
    const seen: [number, number][] = [];
    await consumeInOrder(
      items(6),
      2,
      (item) => new Promise<number>((resolve) => setTimeout(() => resolve(item * 10), (6 - item) * 5)),
      (result, item) => {
        seen.push([item, result]);
      },
    );
    expect(seen).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, i * 10]));
  });

  it('starts at most `ahead` items beyond the one being consumed', async () => {
    let started = 0;
    const startedWhenConsumed: number[] = [];
    await consumeInOrder(
      items(6),
      2,
      async (item, index) => {
        expect(index).toBe(item);
        started++;
        return item;
      },
      (result) => {
        startedWhenConsumed.push(started - result);
      },
    );
    // Consuming item k, items up to k + 2 have been started (fewer at the end).
    expect(startedWhenConsumed).toEqual([3, 3, 3, 3, 2, 1]);
  });

  it('throws a failed item\'s error when its turn comes, after consuming those before it', async () => {
    const consumed: number[] = [];
    const run = consumeInOrder(
      items(5),
      2,
      async (item) => {
        if (item === 2) throw new Error('batch 2 failed');
        return item;
      },
      (result) => {
        consumed.push(result);
      },
    );
    await expect(run).rejects.toThrow('batch 2 failed');
    expect(consumed).toEqual([0, 1]);
  });
});
