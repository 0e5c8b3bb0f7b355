/**
 * A closed-loop load generator: a few workers take the next run from a shared list until the list
 * or the time budget runs out, each timing its steps. Closed loop (a worker waits for its answer
 * before asking again) so that the figures are what a handful of UI users would see, not what a
 * flood of requests would queue up to.
 */

export interface Latency {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Collects durations by name ("GetExecutionsByContext", "whole run", …). */
export class LatencyRecorder {
  private readonly samples = new Map<string, number[]>();

  add(name: string, ms: number): void {
    let list = this.samples.get(name);
    if (!list) this.samples.set(name, (list = []));
    list.push(ms);
  }

  /** Times one awaited step under `name`. */
  async time<T>(name: string, step: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const result = await step();
    this.add(name, Number(process.hrtime.bigint() - started) / 1e6);
    return result;
  }

  /** Per name: count, rate over the whole measured wall time, and nearest-rank percentiles. */
  summary(wallSeconds: number): Record<string, Latency> {
    const out: Record<string, Latency> = {};
    for (const [name, list] of this.samples) {
      const sorted = [...list].sort((a, b) => a - b);
      out[name] = { requests: sorted.length, requestsPerSecond: sorted.length / wallSeconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
    }
    return out;
  }
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface DriveResult {
  /** Items finished before the list or the time ran out. */
  done: number;
  wallSeconds: number;
}

/**
 * Runs `work` over `items` with `workers` concurrent workers (worker i gets its own context from
 * `contexts[i]`), stopping early once `budgetMs` has passed; a started item is always finished.
 */
export async function drive<T, C>(items: readonly T[], contexts: readonly C[], budgetMs: number, work: (item: T, ctx: C) => Promise<void>): Promise<DriveResult> {
  let next = 0;
  let done = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + budgetMs;
  await Promise.all(
    contexts.map(async (ctx) => {
      while (next < items.length && Date.now() < deadline) {
        const item = items[next++]!;
        await work(item, ctx);
        done++;
      }
    }),
  );
  return { done, wallSeconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
