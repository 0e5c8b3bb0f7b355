/**
 * The fidelity proof (design.md §1): for every run, the source MLMD records are compared field by
 * field with reverse(KFP rows); each difference is a documented lossy code or drift. Row counts are
 * reconciled with what the forward mapping produces and rejects, and whole-database invariants are
 * checked. Streams run by run in bounded memory.
 */
import type { Db } from '../db/connection.ts';
import { redact } from '../db/url.ts';
import { BridgeError } from '../errors.ts';
import { openMlmdSource, type MlmdSource } from '../extract/index.ts';
import { countRunContexts, runContextPages } from '../extract/run-bundles.ts';
import { kfpDatabaseTarget, openKfpDatabase } from '../load/kfp-database.ts';
import { tableExists } from '../load/schema.ts';
import { LOSSY_CODES } from '../transform/lossy-codes.ts';
import { consumeInOrder } from '../util/in-order.ts';
import { startWorkerPool, workerCount, workerEntry } from '../workers/pool.ts';
import type { ReaderSetup } from '../workers/readers.ts';
import { checkBatch, type BatchVerdicts, type RunContextRef } from './run-checker.ts';
import { HeldResults } from './held-results.ts';
import { structuralFindings, type Finding } from './structural.ts';
import { addTally, emptyTally, type FingerprintTally, type MappingOptions } from '../transform/fingerprints.ts';
import { recordedMappingOptions } from '../migrate/mapping-options.ts';

/** What a check worker opens and checks with. */
export interface CheckSetup extends ReaderSetup {
  mapping: MappingOptions;
}

export interface VerifyOptions {
  mlmdUrl: string;
  kfpUrl: string;
  /** Only these run UUIDs. */
  runs?: string[];
  /** Only N runs, spread evenly over the id range (deterministic). */
  sample?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** How many run verdicts may wait for the whole-database checks before the run checks pause (default 20,000). */
  holdVerdicts?: number;
  /** Called once per checked run, in order: lets the JUnit report stream. */
  onRun?: (v: RunVerdict) => void;
}

export interface Drift {
  entity: string;
  mlmdId: number | string;
  field: string;
  expected: unknown;
  found: unknown;
  /** `DRIFT`, or the structural check that failed. */
  code: string;
}

export interface RunVerdict {
  runUuid: string;
  contextId: number;
  pipeline: string | null;
  status: 'matched' | 'drifted' | 'orphan';
  drift: Drift[];
  /** Documented lossy differences by code. */
  lossy: Record<string, number>;
  /** The same differences by entity (execution, artifact, event, …). */
  lossyByEntity?: Record<string, number>;
  /** The self-check of the run's stored fingerprints. */
  fingerprints?: FingerprintTally;
  /** Non-empty tasks.Fingerprint values the recomputation expects, and how many the rows hold. */
  fingerprintColumns?: { checked: number; matched: number };
  seconds: number;
}

export interface VerifyReport {
  source: string;
  target: string;
  runs: { total: number; checked: number; matched: number; drifted: number; orphan: number };
  /** Per entity (execution, artifact, event, context, …, structural): differences that were drift and that were lossy. */
  byEntity: Record<string, { drift: number; lossy: number }>;
  byCode: Record<string, number>;
  /**
   * The stored fingerprints' self-check, and the written tasks.Fingerprint values (KFP 3 keys, or
   * MLMD copies) compared with their recomputation under the options the database recorded.
   */
  fingerprints: FingerprintTally & { options: MappingOptions; columnsChecked: number; columnsMatched: number };
  drifted: RunVerdict[];
  structural: Finding[];
  rowsCompared: number;
  seconds: number;
}

export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const kfpTarget = kfpDatabaseTarget(opts.kfpUrl);
  const source = await openMlmdSource(opts.mlmdUrl);
  let kfp: Db | undefined;
  try {
    kfp = await openKfpDatabase(kfpTarget, { readOnly: true });
    if (!(await tableExists(kfp, 'mlmd_bridge_runs')) || !(await tableExists(kfp, 'tasks'))) {
      throw new BridgeError('NOT_MIGRATED', `${kfp.target.display} holds no mlmd-bridge migration`, 'run mlmd-bridge migrate first');
    }
    return await run(source, kfp, opts, started);
  } finally {
    await source.close().catch(() => undefined);
    await kfp?.close().catch(() => undefined);
  }
}

/**
 * The runs to check, batch by batch. All of them are read a page at a time, as migrate does: listed
 * up front they took ~150 bytes each for the whole run (150,000 runs: ~22 MiB of live heap, and
 * V8 lets the heap grow to a multiple of that). --runs and --sample need the whole list to pick from.
 */
async function runsToCheck(source: MlmdSource, opts: VerifyOptions, batchSize: number): Promise<{ total: number; toCheck: number; selected: Set<string> | null; batches: AsyncIterable<RunContextRef[]> }> {
  const wantsSome = (opts.runs && opts.runs.length > 0) || opts.sample !== undefined;
  if (!wantsSome) {
    const total = await countRunContexts(source.db);
    return { total, toCheck: total, selected: null, batches: runContextPages(source.db, batchSize) };
  }
  let contexts = await source.listRunContexts();
  const total = contexts.length;
  if (opts.runs && opts.runs.length > 0) {
    const wanted = new Set(opts.runs);
    const known = new Set(contexts.map((c) => c.name));
    const unknown = opts.runs.filter((r) => !known.has(r));
    if (unknown.length > 0) {
      throw new BridgeError('USAGE', `--runs names runs the MLMD database does not have: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`, 'pass run UUIDs (run_details.UUID)');
    }
    contexts = contexts.filter((c) => wanted.has(c.name));
  } else if (opts.sample !== undefined && opts.sample < contexts.length) {
    const step = contexts.length / opts.sample;
    contexts = Array.from({ length: opts.sample }, (_, i) => contexts[Math.floor(i * step)]!);
  }
  const chosen = contexts.map(({ id, name }) => ({ id, name }));
  async function* slices(): AsyncIterable<RunContextRef[]> {
    for (let i = 0; i < chosen.length; i += batchSize) yield chosen.slice(i, i + batchSize);
  }
  return { total, toCheck: chosen.length, selected: chosen.length === total ? null : new Set(chosen.map((c) => c.name)), batches: slices() };
}

async function run(source: MlmdSource, kfp: Db, opts: VerifyOptions, started: number): Promise<VerifyReport> {
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const mapping = (await recordedMappingOptions(kfp)) ?? { fingerprints: 'mlmd', publishLogs: true };
  const { total, toCheck, selected, batches } = await runsToCheck(source, opts, batchSize);

  const report: VerifyReport = {
    source: redact(opts.mlmdUrl),
    target: kfp.target.display,
    runs: { total, checked: 0, matched: 0, drifted: 0, orphan: 0 },
    byEntity: {},
    byCode: {},
    fingerprints: { ...emptyTally(), options: mapping, columnsChecked: 0, columnsMatched: 0 },
    drifted: [],
    structural: [],
    rowsCompared: 0,
    seconds: 0,
  };
  const count = (entity: string, code: string) => {
    const e = (report.byEntity[entity] ??= { drift: 0, lossy: 0 });
    if (code === 'DRIFT' || !isLossy(code)) e.drift++;
    else e.lossy++;
    report.byCode[code] = (report.byCode[code] ?? 0) + 1;
  };

  // Whole-database invariants are a few long queries on the KFP tables: they run beside the run
  // checks (on 2 cores they otherwise left Node idle for a quarter of the run). Their findings join
  // each run's verdict, so verdicts wait for them — at most HELD_VERDICTS of them; beyond that the
  // checks wait.
  const findingsByRun = new Map<string, Finding[]>();
  const structural = structuralFindings(kfp, selected).then((findings) => {
    report.structural = findings;
    for (const f of findings) findingsByRun.set(f.runUuid ?? '', [...(findingsByRun.get(f.runUuid ?? '') ?? []), f]);
  });
  structural.catch(() => undefined); // awaited below
  const asDrift = (f: Finding): Drift => ({ entity: 'structural', mlmdId: f.id, field: f.field, expected: f.expected, found: f.found, code: f.check });

  // Checking is CPU-bound: batches go round the main thread and the worker threads, and are recorded
  // in order. Workers only where a core is left beside the main thread and a local database server:
  // on 2 cores a worker measured no faster and a third heavier.
  const batchCount = Math.ceil(toCheck / batchSize);
  const workers = batchCount > 1 ? workerCount(batchCount - 1, 2) : 0;
  const pool = workers > 0 ? await startWorkerPool<CheckSetup, RunContextRef[], BatchVerdicts>(workerEntry(import.meta.url, 'check-worker'), { mlmdUrl: opts.mlmdUrl, kfpUrl: opts.kfpUrl, mapping }, workers) : null;
  try {
    const lanes = 1 + workers;
    let done = 0;
    const settle = (result: BatchVerdicts) => {
      for (const verdict of result.verdicts) {
        const findings = findingsByRun.get(verdict.runUuid) ?? [];
        findingsByRun.delete(verdict.runUuid);
        if (findings.length > 0) {
          verdict.drift.push(...findings.map(asDrift));
          verdict.status = 'drifted';
        }
        report.runs.checked++;
        record(verdict);
      }
      report.rowsCompared += result.rowsCompared;
    };
    const held = new HeldResults<BatchVerdicts>(structural, opts.holdVerdicts ?? HELD_VERDICTS, (r) => r.verdicts.length, settle);
    const consume = async (result: BatchVerdicts) => {
      done += 1;
      opts.onProgress?.(Math.min(done * batchSize, toCheck), toCheck);
      await held.push(result);
    };
    // Two batches more than lanes: the main thread reads the next ones while it compares one.
    await consumeInOrder(batches, lanes + 1, (batch, b) => (b % lanes === 0 || !pool ? checkBatch(source, kfp, batch, mapping) : pool.run(batch)), consume);
    await held.drain();
  } finally {
    await pool?.close();
  }
  // Findings about runs the source does not have (e.g. tasks of a run with no run_details row).
  for (const [runUuid, findings] of findingsByRun) {
    record({ runUuid: runUuid || '(database)', contextId: 0, pipeline: null, status: 'drifted', drift: findings.map(asDrift), lossy: {}, seconds: 0 });
  }

  function record(verdict: RunVerdict): void {
    if (verdict.status === 'orphan') report.runs.orphan++;
    else if (verdict.status === 'matched') report.runs.matched++;
    else report.runs.drifted++;
    for (const d of verdict.drift) count(d.entity, d.code);
    if (verdict.fingerprints) addTally(report.fingerprints, verdict.fingerprints);
    report.fingerprints.columnsChecked += verdict.fingerprintColumns?.checked ?? 0;
    report.fingerprints.columnsMatched += verdict.fingerprintColumns?.matched ?? 0;
    for (const [code, n] of Object.entries(verdict.lossy)) report.byCode[code] = (report.byCode[code] ?? 0) + n;
    for (const [entity, n] of Object.entries(verdict.lossyByEntity ?? {})) (report.byEntity[entity] ??= { drift: 0, lossy: 0 }).lossy += n;
    if (verdict.status === 'drifted') report.drifted.push(verdict);
    opts.onRun?.(verdict);
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/** Verdicts kept back while the whole-database checks still run: bounds the memory they take. */
const HELD_VERDICTS = 20_000;

/** Documented losses are not drift; everything else (DRIFT, count and reject mismatches, failed invariants) is. */
function isLossy(code: string): boolean {
  return Object.hasOwn(LOSSY_CODES, code);
}

