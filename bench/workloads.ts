/** The measured workloads of one size: seed (not judged), migrate, and verify once the CLI has it. */
import { openDb } from '../src/db/connection.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { TARGET_TABLES } from '../src/load/schema.ts';
import { type ChildResult, runCliMeasured } from './child.ts';
import { withServerCpu } from './cpu.ts';
import { serverConnection, urlOf } from './scratch.ts';

export interface SeedFigures {
  runs: number;
  executions: number;
  artifacts: number;
  events: number;
  seconds: number;
}

export async function seed(mlmdUrl: string, kfpUrl: string, runs: number): Promise<SeedFigures> {
  const started = Date.now();
  const mlmd = await openDb(mlmdUrl, { create: true, role: 'bench MLMD database' });
  const kfp = await openDb(kfpUrl, { create: true, role: 'bench KFP database' });
  try {
    const r = await seedDatabases(mlmd, kfp, { runs, seed: 1 });
    return { runs, executions: r.executions, artifacts: r.artifacts, events: r.events, seconds: (Date.now() - started) / 1000 };
  } finally {
    await mlmd.close();
    await kfp.close();
  }
}

export interface MigrateFigures {
  /** Rows in tasks + artifacts + artifact_tasks afterwards (an artifact shared by runs counts once). */
  targetRows: number;
  /** migrate's own per-run counts (a shared artifact counts once per run that uses it). */
  rows: { tasks: number; artifacts: number; artifact_tasks: number; mlmd_id_map: number };
  wallSeconds: number;
  /** migrate's own clock (from its summary): no process start-up. */
  innerSeconds: number;
  rowsPerSecond: number;
  peakRssMiB: number | null;
  /** CPU seconds of migrate's process and of the local database server meanwhile (null when not measurable). */
  cpu: CpuSplit;
}

export interface CpuSplit {
  command: number | null;
  server: number | null;
}

export async function migrate(mlmdUrl: string, kfpDb: string, opts: { batchSize?: number; concurrency?: number }): Promise<MigrateFigures> {
  const extra = [
    ...(opts.batchSize ? ['--batch-size', String(opts.batchSize)] : []),
    ...(opts.concurrency ? ['--concurrency', String(opts.concurrency)] : []),
  ];
  const { r, cpu } = await measureCommand(['migrate', '--mlmd', mlmdUrl, '--kfp', urlOf(kfpDb), '--json', ...extra], [0]);
  const summary = JSON.parse(r.stdout) as { rows: MigrateFigures['rows']; seconds: number; runs: { migrated: number } };
  const targetRows = await countTargetRows(kfpDb);
  return {
    targetRows,
    rows: summary.rows,
    wallSeconds: r.wallSeconds,
    innerSeconds: summary.seconds,
    rowsPerSecond: targetRows / r.wallSeconds,
    peakRssMiB: r.peakRssMiB,
    cpu,
  };
}

export interface PlanFigures {
  exitCode: number | null;
  wallSeconds: number;
  peakRssMiB: number | null;
  cpu: CpuSplit;
}

export interface VerifyFigures extends PlanFigures {
  rowsPerSecond: number;
}

/** One command in a child process, with the database server's CPU meanwhile; an exit code outside `ok` is an error. */
export async function measureCommand(args: string[], ok: readonly number[]): Promise<{ r: ChildResult; cpu: CpuSplit }> {
  const { result: r, serverCpuSeconds } = await withServerCpu(() => runCliMeasured(args));
  if (r.code === null || !ok.includes(r.code)) throw new Error(`${args[0]} exited ${r.code}: ${r.stderr.trim() || r.stdout.slice(0, 2000)}`);
  return { r, cpu: { command: r.cpuSeconds, server: serverCpuSeconds } };
}

/**
 * `plan` over the same databases before anything is migrated: it reads every run and maps it
 * (without rendering JSON columns or writing), the part of migrate's work that no write strategy
 * removes. Its wall time bounds migrate from below on this machine, so ceiling load time ÷ plan
 * wall time is the best migrate/ceiling ratio this reading and mapping allow.
 */
export async function plan(mlmdUrl: string, kfpUrl: string): Promise<PlanFigures> {
  const { r, cpu } = await measureCommand(['plan', '--mlmd', mlmdUrl, '--kfp', kfpUrl, '--json'], [0, 3]);
  return { exitCode: r.code, wallSeconds: r.wallSeconds, peakRssMiB: r.peakRssMiB, cpu };
}

/** Rows per second over the same target rows migrate wrote; verify exits 1 on drift, which is reported, not hidden. */
export async function verify(mlmdUrl: string, kfpUrl: string, targetRows: number): Promise<VerifyFigures> {
  const { r, cpu } = await measureCommand(['verify', '--mlmd', mlmdUrl, '--kfp', kfpUrl, '--json'], [0, 1]);
  return { exitCode: r.code, wallSeconds: r.wallSeconds, rowsPerSecond: targetRows / r.wallSeconds, peakRssMiB: r.peakRssMiB, cpu };
}

async function countTargetRows(database: string): Promise<number> {
  const c = await serverConnection(database);
  try {
    let n = 0;
    for (const t of TARGET_TABLES) {
      const [rows] = (await c.query(`SELECT COUNT(*) AS n FROM \`${t}\``)) as unknown as [{ n: number }[]];
      n += Number(rows[0]!.n);
    }
    return n;
  } finally {
    await c.end();
  }
}
