/** The human table of a benchmark run. The JSON line carries the same figures unrounded. */
import { table } from '../src/cli/format.ts';
import type { CeilingResult } from './ceiling.ts';
import type { MachineFacts } from './scratch.ts';
import type { Latency } from './load.ts';
import type { PassResult, ShimResult } from './shim.ts';
import { LINEAGE, lineageStep, WHOLE_RUN } from './whole-run.ts';
import type { CpuSplit, MigrateFigures, PlanFigures, SeedFigures, VerifyFigures } from './workloads.ts';
import type { FingerprintFigures } from './fingerprints.ts';
import type { PostgresResult } from './postgres.ts';
import type { StagedFigures } from './stage.ts';

export interface SizeResult {
  runs: number;
  seeded: SeedFigures;
  plan: PlanFigures;
  migrate: MigrateFigures;
  ceiling: CeilingResult;
  /** migrate rows/s ÷ ceiling rows/s: the one figure that matters. */
  ratio: number;
  /**
   * Ceiling load time ÷ plan wall time: migrate reads and maps at least what plan does, so even with
   * writes that cost nothing its ratio could not exceed this on this machine.
   */
  ratioBound: number;
  verify: VerifyFigures | null;
  shim: ShimResult | null;
  fingerprints: FingerprintFigures;
  /** The same runs migrated into a KFP database on PostgreSQL, with its COPY ceiling. */
  postgres: PostgresResult;
  staged: StagedFigures;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const mib = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(0)} MiB`);
const secs = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} s`);
const cpuSplit = (c: CpuSplit) => `${secs(c.command)} / ${secs(c.server)}`;

export function renderTable(m: MachineFacts, results: SizeResult[]): string {
  const head = ['', ...results.map((r) => `${n0(r.runs)} runs`)];
  const row = (label: string, f: (r: SizeResult) => string) => [label, ...results.map(f)];
  const rows: string[][] = [
    row('source executions / artifacts / events', (r) => `${n0(r.seeded.executions)} / ${n0(r.seeded.artifacts)} / ${n0(r.seeded.events)}`),
    row('target rows (tasks+artifacts+artifact_tasks)', (r) => n0(r.migrate.targetRows)),
    row('migrate wall time', (r) => `${r.migrate.wallSeconds.toFixed(2)} s`),
    row('migrate rows/s (wall)', (r) => n0(r.migrate.rowsPerSecond)),
    row('migrate peak RSS', (r) => mib(r.migrate.peakRssMiB)),
    row('migrate CPU: mlmd-bridge / database server', (r) => cpuSplit(r.migrate.cpu)),
    row('ceiling: LOAD DATA rows/s (FK checks off)', (r) => n0(r.ceiling.rowsPerSecond)),
    row('ceiling load time; database server CPU', (r) => `${r.ceiling.loadSeconds.toFixed(2)} s; ${secs(r.ceiling.serverCpuSeconds)}`),
    row('RATIO migrate / ceiling', (r) => `${(r.ratio * 100).toFixed(1)} %`),
    row('plan (read + map, no writes) wall time', (r) => `${r.plan.wallSeconds.toFixed(2)} s (exit ${r.plan.exitCode})`),
    row('plan peak RSS', (r) => mib(r.plan.peakRssMiB)),
    row('plan CPU: mlmd-bridge / database server', (r) => cpuSplit(r.plan.cpu)),
    row('BOUND on migrate / ceiling: ceiling / plan time', (r) => `${(r.ratioBound * 100).toFixed(1)} %`),
    row('verify rows/s', (r) => (r.verify ? `${n0(r.verify.rowsPerSecond)} (exit ${r.verify.exitCode})` : 'n/a (no verify command yet)')),
    row('verify peak RSS', (r) => (r.verify ? mib(r.verify.peakRssMiB) : 'n/a')),
    row('verify CPU: mlmd-bridge / database server', (r) => (r.verify ? cpuSplit(r.verify.cpu) : 'n/a')),
    ...postgresRows(results),
    ...shimRows(results),
    row('fingerprints reproduced (KFP 2.x self-check)', (r) => `${n0(r.fingerprints.tally.reproduced)} of ${n0(r.fingerprints.tally.stored)}`),
    row('mapping CPU: --fingerprints mlmd / kfp3', (r) => `${(r.fingerprints.mlmdMs / 1000).toFixed(2)} s / ${(r.fingerprints.kfp3Ms / 1000).toFixed(2)} s`),
    row('RATIO mapping kfp3 / mlmd (cost of recomputing)', (r) => `${(r.fingerprints.ratio * 100).toFixed(1)} %`),
    ...stagedRows(results, '', (r) => ({ staged: r.staged, migrateSeconds: r.migrate.wallSeconds })),
    ...stagedRows(results, 'PostgreSQL KFP database: ', (r) =>
      r.postgres.available ? { staged: r.postgres.staged, migrateSeconds: r.postgres.migrateWallSeconds } : `n/a (${r.postgres.reason})`,
    ),
  ];
  const facts =
    `machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM; node ${m.node}; MariaDB ${m.server} ` +
    `(innodb_buffer_pool ${m.innodbBufferPoolMiB} MiB, flush_log_at_trx_commit=${m.innodbFlushLogAtTrxCommit}, log_bin=${m.logBin})`;
  return `${facts}\n\n${table(head, rows)}`;
}

function postgresRows(results: SizeResult[]): string[][] {
  type Measured = Extract<PostgresResult, { available: true }>;
  const cell = (r: SizeResult, f: (p: Measured) => string) => (r.postgres.available ? f(r.postgres) : `n/a (${r.postgres.reason})`);
  return [
    row(results, 'PostgreSQL KFP database: server, target rows', (r) => cell(r, (p) => `${p.server}, ${n0(p.targetRows)}`)),
    row(results, '  migrate wall time, rows/s', (r) => cell(r, (p) => `${p.migrateWallSeconds.toFixed(2)} s, ${n0(p.migrateRowsPerSecond)}`)),
    row(results, '  migrate peak RSS', (r) => cell(r, (p) => mib(p.migratePeakRssMiB))),
    row(results, '  ceiling: COPY FROM STDIN rows/s (FK triggers off)', (r) => cell(r, (p) => `${n0(p.ceilingRowsPerSecond)} (${p.ceilingLoadSeconds.toFixed(2)} s)`)),
    row(results, '  RATIO migrate / COPY ceiling', (r) => cell(r, (p) => `${(p.ratio * 100).toFixed(1)} %`)),
  ];
}

/** The staged upgrade's rows for one KFP database (MariaDB's unprefixed, PostgreSQL's after them), its outage beside its own migrate. */
function stagedRows(results: SizeResult[], prefix: string, of: (r: SizeResult) => { staged: StagedFigures; migrateSeconds: number } | string): string[][] {
  const cell = (r: SizeResult, f: (s: StagedFigures, migrateSeconds: number) => string) => {
    const m = of(r);
    return typeof m === 'string' ? m : f(m.staged, m.migrateSeconds);
  };
  return [
    row(results, `${prefix}stage (full, KFP 2.x serving) wall time`, (r) => cell(r, (s) => `${s.full.toFixed(2)} s`)),
    row(results, `${prefix}true-up, nothing changed`, (r) => cell(r, (s) => `${s.idleTrueUp.toFixed(2)} s`)),
    row(results, `${prefix}1 % changed: runs new / finished / deleted`, (r) => cell(r, (s) => `${n0(s.changed.added)} / ${n0(s.changed.finished)} / ${n0(s.changed.deleted)}`)),
    row(results, `${prefix}true-up after 1 % changed (runs read again)`, (r) => cell(r, (s) => `${s.changedTrueUp.toFixed(2)} s (${n0(s.changedTrueUpRuns)})`)),
    row(results, `${prefix}CUT-OVER OUTAGE, nothing changed (swap alone)`, (r) => cell(r, (s) => `${s.cutoverIdle.toFixed(2)} s (${s.swapSeconds.idle.toFixed(2)} s)`)),
    row(results, `${prefix}CUT-OVER OUTAGE after 1 % changed (swap alone)`, (r) => cell(r, (s) => `${s.cutoverChanged.toFixed(2)} s (${s.swapSeconds.changed.toFixed(2)} s)`)),
    row(results, `${prefix}RATIO cut-over outage (1 % changed) / migrate`, (r) => cell(r, (s, migrateSeconds) => `${((s.cutoverChanged / migrateSeconds) * 100).toFixed(1)} %`)),
  ];
}

function shimRows(results: SizeResult[]): string[][] {
  type Measured = Extract<ShimResult, { available: true }>;
  const cell = (r: SizeResult, f: (s: Measured) => string) => (r.shim === null ? 'skipped' : r.shim.available ? f(r.shim) : `n/a (${r.shim.reason})`);
  const lat = (x: Latency | undefined) => (x ? `${n0(x.requestsPerSecond)}/s, p50 ${x.p50Ms.toFixed(1)} ms, p99 ${x.p99Ms.toFixed(1)} ms` : 'n/a');
  const ms = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)} ms`);
  const cpu = (p: PassResult) => `shim ${ms(p.cpu.shim)} / database ${ms(p.cpu.database)} / clients ${ms(p.cpu.clients)}`;
  const rpcs = ['GetContextByTypeAndName', 'GetExecutionsByContext', 'GetArtifactsByContext', 'GetEventsByExecutionIDs', 'GetArtifactsByID'];
  const lineageRpcs = ['GetArtifactsByID', 'GetEventsByArtifactIDs', 'GetExecutionsByID', 'GetEventsByExecutionIDs'];
  const statements = ['tasks', 'artifact_tasks', 'artifacts'];
  const failures = (f: Record<string, number>) => (Object.keys(f).length === 0 ? 'none' : Object.entries(f).map(([k, v]) => `${k} ${v}`).join(', '));
  return [
    row(results, 'shim: runs visited, clients', (r) => cell(r, (s) => `${n0(s.passes.shimCold.runs)} runs, ${s.clients} clients [${s.backend}]`)),
    row(results, 'shim: whole run (5 calls), first visit', (r) => cell(r, (s) => lat(s.shim))),
    ...rpcs.map((rpc) => row(results, `  ${rpc}`, (r) => cell(r, (s) => lat(s.passes.shimCold.calls[rpc])))),
    row(results, '  CPU per run page', (r) => cell(r, (s) => cpu(s.passes.shimCold))),
    row(results, 'shim: whole run, cached run', (r) => cell(r, (s) => lat(s.passes.shimWarm.calls[WHOLE_RUN]))),
    row(results, '  CPU per run page', (r) => cell(r, (s) => cpu(s.passes.shimWarm))),
    row(results, 'direct SQL: whole run (3 queries)', (r) => cell(r, (s) => lat(s.direct))),
    ...statements.map((t) => row(results, `  SELECT … ${t}`, (r) => cell(r, (s) => lat(s.passes.direct.calls[t])))),
    row(results, '  CPU per run', (r) => cell(r, (s) => cpu(s.passes.direct))),
    row(results, 'RATIO shim / direct SQL (whole runs/s)', (r) => cell(r, (s) => `${(s.ratio * 100).toFixed(1)} %`)),
    row(results, 'shim: lineage view (5 calls)', (r) => cell(r, (s) => lat(s.passes.lineage.calls[LINEAGE]))),
    ...lineageRpcs.map((rpc) => row(results, `  ${rpc}`, (r) => cell(r, (s) => lat(s.passes.lineage.calls[lineageStep(rpc)])))),
    row(results, '  CPU per lineage view', (r) => cell(r, (s) => cpu(s.passes.lineage))),
    row(results, 'RATIO lineage p99 / run page p99', (r) => cell(r, (s) => `${s.lineageP99Ratio.toFixed(2)}×`)),
    row(results, 'shim: lineage of the most shared artifact', (r) =>
      cell(r, (s) => (s.hub ? `${n0(s.hub.runsLinking)} runs link it: ${n0(s.hub.firstMs)} ms (shim CPU ${ms(s.hub.shimCpuMs.first)}), again ${n0(s.hub.againMs)} ms` : 'n/a')),
    ),
    row(results, 'shim, crowd: views, failed calls', (r) => cell(r, (s) => `${n0(s.passes.crowd.runs)} views by ${s.passes.crowd.clients} clients in ${s.passes.crowd.wallSeconds.toFixed(0)} s; failed: ${failures(s.passes.crowd.failures)}`)),
    row(results, '  run page', (r) => cell(r, (s) => lat(s.passes.crowd.calls[WHOLE_RUN]))),
    ...rpcs.map((rpc) => row(results, `    ${rpc}`, (r) => cell(r, (s) => lat(s.passes.crowd.calls[rpc])))),
    row(results, '  lineage view', (r) => cell(r, (s) => lat(s.passes.crowd.calls[LINEAGE]))),
    ...lineageRpcs.map((rpc) => row(results, `    ${rpc}`, (r) => cell(r, (s) => lat(s.passes.crowd.calls[lineageStep(rpc)])))),
    row(results, '  CPU per view', (r) => cell(r, (s) => cpu(s.passes.crowd))),
    row(results, 'shim peak RSS', (r) => cell(r, (s) => mib(s.shimPeakRssMiB))),
  ];
}

function row(results: SizeResult[], label: string, f: (r: SizeResult) => string): string[] {
  return [label, ...results.map(f)];
}
