/**
 * Work started ahead, results taken in order: each item's work starts as the item arrives, up to
 * `ahead` items beyond the one whose result is being consumed, and `consume` sees the results in the
 * order of the items. `plan` and `verify` read the next batches this way while they map or compare one.
 */
export async function consumeInOrder<T, R>(
  items: AsyncIterable<T>,
  ahead: number,
  start: (item: T, index: number) => Promise<R>,
  consume: (result: R, item: T) => void | Promise<void>,
): Promise<void> {
  const pending: { item: T; result: Promise<R> }[] = [];
  const next = async () => {
    const { item, result } = pending.shift()!;
    await consume(await result, item);
  };
  let index = 0;
  for await (const item of items) {
    const result = start(item, index++);
    result.catch(() => undefined); // awaited in order, below; a failure is thrown there
    pending.push({ item, result });
    while (pending.length > ahead) await next();
  }
  while (pending.length > 0) await next();
}
