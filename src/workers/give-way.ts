/**
 * CPU-bound loops in the main thread hold every query callback waiting behind them. `giveWay(ms)`
 * makes a function to await between items: it lets the event loop run once the loop has held it
 * for `ms` milliseconds, and costs a clock read otherwise.
 */
export function giveWay(sliceMs: number): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since <= sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}
