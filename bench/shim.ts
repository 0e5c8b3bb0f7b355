/**
 * The shim's side of the benchmark: requests/s and p50/p99 latency of the KFP UI's whole-run calls
 * against `mlmd-bridge shim --kfp` (a child process on loopback, logging as in production), beside
 * the same run read with direct SQL on the KFP 3 tables.
 *
 * Every run is visited once per pass, so the shim answers the first call of each run from the
 * database and the rest from its run cache — what opening a run page costs. A second pass
 * revisits runs the cache holds (a page polling a run). Bounded in runs and in time.
 */
import { startCli } from './child.ts';
import { drive, type Latency, LatencyRecorder } from './load.ts';
import { serverConnection } from './scratch.ts';
import { MlmdClient, type RunSeen, WHOLE_RUN, wholeRunViaShim, wholeRunViaSql } from './whole-run.ts';

export type { Latency } from './load.ts';

/** Concurrent clients, each on its own connection: a few people looking at runs at once. */
const CLIENTS = 4;
/** Runs visited per pass, at most (spread over the whole database, in a fixed order). */
const MAX_RUNS = 600;
/** Runs revisited in the warm pass: well inside the shim's run cache (128 runs). */
const WARM_RUNS = 100;
const WARM_ROUNDS = 5;
/** Each pass stops taking new runs after this long. */
const PASS_BUDGET_MS = 60_000;

export interface PassResult {
  runs: number;
  wallSeconds: number;
  /** Per RPC (or per SQL statement) and under "whole run" the whole sequence. */
  calls: Record<string, Latency>;
}

export type ShimResult =
  | { available: false; reason: string }
  | {
      available: true;
      backend: string;
      clients: number;
      /** First visit of each run: the figure the issue asks for. */
      shim: Latency;
      direct: Latency;
      /** shim whole-run requests/s ÷ direct SQL whole-run requests/s. */
      ratio: number;
      passes: { shimCold: PassResult; shimWarm: PassResult; direct: PassResult };
      shimPeakRssMiB: number | null;
      /** What one run looked like on average, both ways (executions vs tasks differ: the root DAG and iterations). */
      perRun: { shim: RunSeen; direct: RunSeen };
    };

export async function measureShim(kfpUrl: string, kfpDb: string, log: (s: string) => void): Promise<ShimResult> {
  const runs = await sampleRuns(kfpDb, MAX_RUNS);
  if (runs.length === 0) return { available: false, reason: 'the KFP database holds no runs with tasks' };

  log(`direct SQL: ${runs.length} runs, ${CLIENTS} connections`);
  const direct = await directPass(kfpDb, runs);

  const shim = await startCli(
    ['shim', '--kfp', kfpUrl, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0'],
    /gRPC on 127\.0\.0\.1:(\d+)/,
  );
  try {
    const address = `127.0.0.1:${shim.ready[1]}`;
    log(`shim on ${address}: ${runs.length} runs, ${CLIENTS} clients`);
    const cold = await shimPass(address, runs);
    // The cold pass has pushed the first runs out of the cache; one untimed visit brings them back.
    await shimPass(address, runs.slice(0, WARM_RUNS));
    const warm = await shimPass(address, Array.from({ length: WARM_ROUNDS }, () => runs.slice(0, WARM_RUNS)).flat());
    const shimWhole = cold.pass.calls[WHOLE_RUN]!;
    const directWhole = direct.pass.calls[WHOLE_RUN]!;
    return {
      available: true,
      backend: 'kfp',
      clients: CLIENTS,
      shim: shimWhole,
      direct: directWhole,
      ratio: shimWhole.requestsPerSecond / directWhole.requestsPerSecond,
      passes: { shimCold: cold.pass, shimWarm: warm.pass, direct: direct.pass },
      shimPeakRssMiB: shim.peakRssMiB(),
      perRun: { shim: cold.perRun, direct: direct.perRun },
    };
  } finally {
    const code = await shim.stop();
    if (code !== 0) log(`the shim exited ${code} on SIGTERM`);
  }
}

/** Runs that have tasks, spread evenly over the run ids (not just the first ones the index returns). */
async function sampleRuns(kfpDb: string, max: number): Promise<string[]> {
  const c = await serverConnection(kfpDb);
  try {
    const [rows] = (await c.query('SELECT DISTINCT RunUUID FROM tasks ORDER BY RunUUID')) as unknown as [{ RunUUID: string }[]];
    const step = Math.max(1, rows.length / max);
    const out: string[] = [];
    for (let i = 0; i < rows.length && out.length < max; i += step) out.push(rows[Math.floor(i)]!.RunUUID);
    return out;
  } finally {
    await c.end();
  }
}

async function directPass(kfpDb: string, runs: string[]): Promise<{ pass: PassResult; perRun: RunSeen }> {
  const conns = await Promise.all(Array.from({ length: CLIENTS }, () => serverConnection(kfpDb)));
  try {
    const rec = new LatencyRecorder();
    const seen = new RunTotals();
    const r = await drive(runs, conns, PASS_BUDGET_MS, async (run, c) => seen.add(await wholeRunViaSql(c, run, rec)));
    return { pass: { runs: r.done, wallSeconds: r.wallSeconds, calls: rec.summary(r.wallSeconds) }, perRun: seen.mean() };
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
}

async function shimPass(address: string, runs: string[]): Promise<{ pass: PassResult; perRun: RunSeen }> {
  const clients = Array.from({ length: CLIENTS }, () => new MlmdClient(address));
  try {
    const rec = new LatencyRecorder();
    const seen = new RunTotals();
    const r = await drive(runs, clients, PASS_BUDGET_MS, async (run, client) => seen.add(await wholeRunViaShim(client, run, rec)));
    return { pass: { runs: r.done, wallSeconds: r.wallSeconds, calls: rec.summary(r.wallSeconds) }, perRun: seen.mean() };
  } finally {
    for (const c of clients) c.close();
  }
}

class RunTotals {
  private n = 0;
  private readonly sum: RunSeen = { executions: 0, artifacts: 0, links: 0 };

  add(r: RunSeen): void {
    this.n++;
    this.sum.executions += r.executions;
    this.sum.artifacts += r.artifacts;
    this.sum.links += r.links;
  }

  mean(): RunSeen {
    const d = Math.max(1, this.n);
    return { executions: this.sum.executions / d, artifacts: this.sum.artifacts / d, links: this.sum.links / d };
  }
}
