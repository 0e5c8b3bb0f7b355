/**
 * Many users at once: CROWD_CLIENTS clients, each on its own connection, closed loop, for a fixed
 * time. Each opens run pages one after another, and every LINEAGE_EVERY-th view is the lineage of
 * an artifact of that run instead. What it reports is what each user waits: p50/p99 per RPC, per
 * run page and per lineage view, and every failed call by its status code.
 */
import type { LatencyRecorder } from './load.ts';
import { lineageViaShim, MlmdClient, wholeRunViaShim } from './whole-run.ts';

export const CROWD_CLIENTS = 200;
/** One view in this many is a lineage view. */
export const LINEAGE_EVERY = 4;

export interface CrowdOutcome {
  views: number;
  wallSeconds: number;
  /** Failed views by gRPC status code name (a failed view is not timed). */
  failures: Record<string, number>;
}

export async function crowdPass(
  address: string,
  runs: readonly string[],
  lineageTargets: ReadonlyMap<string, string>,
  rec: LatencyRecorder,
  budgetMs: number,
): Promise<CrowdOutcome> {
  const clients = Array.from({ length: CROWD_CLIENTS }, () => new MlmdClient(address));
  const failures: Record<string, number> = {};
  let views = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + budgetMs;
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (Date.now() < deadline) {
          const i = next++;
          const run = runs[i % runs.length]!;
          const target = lineageTargets.get(run);
          try {
            if (i % LINEAGE_EVERY === LINEAGE_EVERY - 1 && target !== undefined) await lineageViaShim(client, target, rec);
            else await wholeRunViaShim(client, run, rec);
            views++;
          } catch (e) {
            const code = (e as { code?: number }).code;
            const name = code === undefined ? 'no status' : (STATUS_NAMES[code] ?? String(code));
            failures[name] = (failures[name] ?? 0) + 1;
          }
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
  return { views, wallSeconds: Number(process.hrtime.bigint() - started) / 1e9, failures };
}

const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
