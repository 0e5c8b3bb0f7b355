/**
 * The shim's side of the benchmark, against `mlmd-bridge shim --kfp` (a child process on loopback,
 * logging as in production), beside the same runs read with direct SQL on the KFP 3 tables:
 * - the KFP UI's run page (5 calls) by CLIENTS clients, each run visited once (the first call of a
 *   run reads it from the database, the rest come from the run cache), then revisited with the
 *   cache warm; and the same runs read with direct SQL by CLIENTS connections;
 * - the lineage view of one artifact per run (5 calls), by CLIENTS clients;
 * - CROWD_CLIENTS clients at once (run pages, every fourth view a lineage view) for CROWD_BUDGET_MS;
 * - for each pass, where the CPU went: the shim's process, the database server, this process
 *   (the clients' gRPC or SQL work), per view;
 * - the shim's peak RSS over all of it.
 */
import { startCli } from './child.ts';
import { databaseServerPid, processCpuSeconds } from './cpu.ts';
import { drive, type Latency, LatencyRecorder } from './load.ts';
import { serverConnection } from './scratch.ts';
import { CROWD_CLIENTS, crowdPass } from './shim-crowd.ts';
import { LINEAGE, lineageViaShim, MlmdClient, type RunSeen, WHOLE_RUN, wholeRunViaShim, wholeRunViaSql } from './whole-run.ts';

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
/** How long the crowd runs. */
const CROWD_BUDGET_MS = 30_000;

export interface CpuPerView {
  /** CPU milliseconds per view (run page or lineage view); null where /proc is not available. */
  shim: number | null;
  database: number | null;
  /** This process: the clients' work (gRPC or SQL). */
  clients: number;
}

export interface PassResult {
  runs: number;
  wallSeconds: number;
  /** Per RPC (or per SQL statement) and under "whole run" / "lineage view" the whole sequence. */
  calls: Record<string, Latency>;
  cpu: CpuPerView;
}

/** The lineage view of the artifact the most runs link (an imported dataset), opened twice by one client. */
export interface HubResult {
  runsLinking: number;
  firstMs: number;
  againMs: number;
  /** Shim CPU milliseconds of the two views. */
  shimCpuMs: { first: number | null; again: number | null };
}

export interface CrowdResult extends PassResult {
  clients: number;
  failures: Record<string, number>;
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
      /** Lineage view p99 ÷ run page p99 (first visits), with CLIENTS clients. */
      lineageP99Ratio: number;
      passes: { shimCold: PassResult; shimWarm: PassResult; direct: PassResult; lineage: PassResult; crowd: CrowdResult };
      hub: HubResult | null;
      shimPeakRssMiB: number | null;
      /** What one run looked like on average, both ways (executions vs tasks differ: the root DAG and iterations). */
      perRun: { shim: RunSeen; direct: RunSeen };
    };

export async function measureShim(kfpUrl: string, kfpDb: string, log: (s: string) => void): Promise<ShimResult> {
  const runs = await sampleRuns(kfpDb, MAX_RUNS);
  if (runs.length === 0) return { available: false, reason: 'the KFP database holds no runs with tasks' };
  const targets = await lineageTargets(kfpDb, runs);

  log(`direct SQL: ${runs.length} runs, ${CLIENTS} connections`);
  const direct = await directPass(kfpDb, runs);

  const shim = await startCli(
    ['shim', '--kfp', kfpUrl, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0'],
    /gRPC on 127\.0\.0\.1:(\d+)/,
  );
  try {
    const address = `127.0.0.1:${shim.ready[1]}`;
    const shimCpu = () => shim.cpuSeconds();
    log(`shim on ${address}: ${runs.length} runs, ${CLIENTS} clients`);
    const cold = await shimPass(address, runs, shimCpu);
    // The cold pass has pushed the first runs out of the cache; one untimed visit brings them back.
    await shimPass(address, runs.slice(0, WARM_RUNS), shimCpu);
    const warm = await shimPass(address, Array.from({ length: WARM_ROUNDS }, () => runs.slice(0, WARM_RUNS)).flat(), shimCpu);
    log(`lineage views: ${targets.size} artifacts, ${CLIENTS} clients`);
    const lineage = await lineagePass(address, runs, targets, shimCpu);
    const hub = await hubLineage(address, kfpDb, shimCpu);
    log(`${CROWD_CLIENTS} clients for ${CROWD_BUDGET_MS / 1000} s`);
    const crowd = await crowd200(address, runs, targets, shimCpu);
    const shimWhole = cold.pass.calls[WHOLE_RUN]!;
    const directWhole = direct.pass.calls[WHOLE_RUN]!;
    return {
      available: true,
      backend: 'kfp',
      clients: CLIENTS,
      shim: shimWhole,
      direct: directWhole,
      ratio: shimWhole.requestsPerSecond / directWhole.requestsPerSecond,
      lineageP99Ratio: (lineage.calls[LINEAGE]?.p99Ms ?? Number.NaN) / shimWhole.p99Ms,
      passes: { shimCold: cold.pass, shimWarm: warm.pass, direct: direct.pass, lineage, crowd },
      hub,
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

/**
 * For each run, the MLMD id of the newest artifact it produced (a model or metrics, what a user
 * opens the lineage of); not the dataset it imported, which every run shares (measured apart, as
 * the hub).
 */
async function lineageTargets(kfpDb: string, runs: string[]): Promise<Map<string, string>> {
  const c = await serverConnection(kfpDb);
  try {
    const [rows] = (await c.query(
      "SELECT l.RunUUID AS run, MAX(m.mlmd_id) AS id FROM artifact_tasks l JOIN mlmd_id_map m ON m.kind = 'artifact' AND m.kfp_uuid = l.ArtifactID " +
        `WHERE l.Type BETWEEN 8 AND 11 AND l.RunUUID IN (${runs.map(() => '?').join(', ')}) GROUP BY l.RunUUID`,
      runs,
    )) as unknown as [{ run: string; id: number }[]];
    return new Map(rows.map((r) => [r.run, String(r.id)]));
  } finally {
    await c.end();
  }
}

/** CPU used by the shim, the database server and this process while `work` runs, per view. */
async function withCpu<T extends { views: number }>(shimCpu: () => number | null, work: () => Promise<T>): Promise<{ result: T; cpu: CpuPerView }> {
  const dbPid = databaseServerPid();
  const cpuOf = () => ({ shim: shimCpu(), database: dbPid === null ? null : processCpuSeconds(dbPid), self: process.cpuUsage() });
  const before = cpuOf();
  const result = await work();
  const after = cpuOf();
  const per = (a: number | null, b: number | null) => (a === null || b === null || result.views === 0 ? null : ((b - a) * 1000) / result.views);
  const self = process.cpuUsage(before.self);
  return {
    result,
    cpu: { shim: per(before.shim, after.shim), database: per(before.database, after.database), clients: (self.user + self.system) / 1000 / Math.max(1, result.views) },
  };
}

async function directPass(kfpDb: string, runs: string[]): Promise<{ pass: PassResult; perRun: RunSeen }> {
  const conns = await Promise.all(Array.from({ length: CLIENTS }, () => serverConnection(kfpDb)));
  try {
    const rec = new LatencyRecorder();
    const seen = new RunTotals();
    const { result: r, cpu } = await withCpu(
      () => 0,
      async () => {
        const d = await drive(runs, conns, PASS_BUDGET_MS, async (run, c) => seen.add(await wholeRunViaSql(c, run, rec)));
        return { ...d, views: d.done };
      },
    );
    return { pass: { runs: r.done, wallSeconds: r.wallSeconds, calls: rec.summary(r.wallSeconds), cpu: { ...cpu, shim: null } }, perRun: seen.mean() };
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
}

async function shimPass(address: string, runs: string[], shimCpu: () => number | null): Promise<{ pass: PassResult; perRun: RunSeen }> {
  const clients = Array.from({ length: CLIENTS }, () => new MlmdClient(address));
  try {
    const rec = new LatencyRecorder();
    const seen = new RunTotals();
    const { result: r, cpu } = await withCpu(shimCpu, async () => {
      const d = await drive(runs, clients, PASS_BUDGET_MS, async (run, client) => seen.add(await wholeRunViaShim(client, run, rec)));
      return { ...d, views: d.done };
    });
    return { pass: { runs: r.done, wallSeconds: r.wallSeconds, calls: rec.summary(r.wallSeconds), cpu }, perRun: seen.mean() };
  } finally {
    for (const c of clients) c.close();
  }
}

async function lineagePass(address: string, runs: string[], targets: Map<string, string>, shimCpu: () => number | null): Promise<PassResult> {
  const clients = Array.from({ length: CLIENTS }, () => new MlmdClient(address));
  try {
    const rec = new LatencyRecorder();
    const withTarget = runs.filter((r) => targets.has(r));
    const { result: r, cpu } = await withCpu(shimCpu, async () => {
      const d = await drive(withTarget, clients, PASS_BUDGET_MS, async (run, client) => void (await lineageViaShim(client, targets.get(run)!, rec)));
      return { ...d, views: d.done };
    });
    return { runs: r.done, wallSeconds: r.wallSeconds, calls: rec.summary(r.wallSeconds), cpu };
  } finally {
    for (const c of clients) c.close();
  }
}

async function hubLineage(address: string, kfpDb: string, shimCpu: () => number | null): Promise<HubResult | null> {
  const c = await serverConnection(kfpDb);
  let hub: { id: number; runs: number } | undefined;
  try {
    const [rows] = (await c.query(
      "SELECT m.mlmd_id AS id, COUNT(DISTINCT l.RunUUID) AS runs FROM artifact_tasks l JOIN mlmd_id_map m ON m.kind = 'artifact' AND m.kfp_uuid = l.ArtifactID " +
        'GROUP BY m.mlmd_id ORDER BY runs DESC, m.mlmd_id LIMIT 1',
    )) as unknown as [{ id: number; runs: number }[]];
    hub = rows[0];
  } finally {
    await c.end();
  }
  if (!hub) return null;
  const client = new MlmdClient(address);
  try {
    const view = async () => {
      const rec = new LatencyRecorder();
      const before = shimCpu();
      await lineageViaShim(client, String(hub.id), rec);
      const after = shimCpu();
      return { ms: rec.summary(1)[LINEAGE]!.p50Ms, cpu: before === null || after === null ? null : (after - before) * 1000 };
    };
    const first = await view();
    const again = await view();
    return { runsLinking: Number(hub.runs), firstMs: first.ms, againMs: again.ms, shimCpuMs: { first: first.cpu, again: again.cpu } };
  } finally {
    client.close();
  }
}

async function crowd200(address: string, runs: string[], targets: Map<string, string>, shimCpu: () => number | null): Promise<CrowdResult> {
  const rec = new LatencyRecorder();
  const { result: r, cpu } = await withCpu(shimCpu, () => crowdPass(address, runs, targets, rec, CROWD_BUDGET_MS));
  return { runs: r.views, wallSeconds: r.wallSeconds, calls: rec.summary(r.wallSeconds), cpu, clients: CROWD_CLIENTS, failures: r.failures };
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
