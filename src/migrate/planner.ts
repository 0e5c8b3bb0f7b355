/**
 * The inspector behind `plan`: a read-only forecast. It maps every run exactly as `migrate` would
 * (without writing) so the row counts and rejects it announces are the ones migrate will produce,
 * and it lists what would stop a migration before one starts.
 */
import type { Db } from '../db/connection.ts';
import { openMlmdSource, readRunDetails } from '../extract/index.ts';
import { countRunContexts, runContextPages } from '../extract/run-bundles.ts';
import { kfpDatabaseTarget, openKfpDatabase, targetDialect } from '../load/kfp-database.ts';
import { isMigrationLocked } from '../load/lock.ts';
import { refuseWithoutWritePrivileges } from '../load/kfp-privileges.ts';
import { getState, STATE_KEYS } from '../load/bridge-tables.ts';
import { STAGED_TASKS, stagedName, stagedStructure, upgradePhase } from '../load/staged-tables.ts';
import { upgradeStatus, type UpgradeStatus } from './status.ts';
import { describeTable, diffTableStructure, expectedStructure, isKfpDatabase, isV1TasksTable, tableExists, TARGET_TABLES } from '../load/schema.ts';
import { redact } from '../db/url.ts';
import { outlineRun } from '../transform/forward.ts';
import { consumeInOrder } from '../util/in-order.ts';
import { IdSet } from './id-set.ts';
import { BridgeError } from '../errors.ts';
import { addTally, emptyTally, type FingerprintTally, type MappingOptions } from '../transform/fingerprints.ts';
import { recordedMappingOptions, type RequestedMappingOptions, settleMappingOptions } from './mapping-options.ts';

/** Batches read ahead of the one being mapped. */
const READ_AHEAD = 2;

export interface Plan {
  source: { url: string; schemaVersion: number; executions: number; artifacts: number; events: number; contexts: number };
  runs: { total: number; toMigrate: number; orphan: number; inFlight: number };
  rows: { tasks: number; artifacts: number; artifact_tasks: number };
  rejects: Record<string, number>;
  nonKfp: { kind: string; type: string; count: number }[];
  /** The KFP 2.x self-check of every stored fingerprint, and what tasks.Fingerprint would hold under `options`. */
  fingerprints: FingerprintTally & { options: MappingOptions; recorded: boolean };
  target: { url: string; v1TasksRows: number | null; existingTables: string[] };
  /** The staged upgrade: where it stands, pending runs and the expected cut-over outage (null when never staged or migrated). */
  staged: UpgradeStatus | null;
  blockers: string[];
  warnings: string[];
}

export async function plan(opts: {
  mlmdUrl: string;
  kfpUrl: string;
  batchSize?: number;
  /** As migrate would be given them; the target's recorded options fill in the rest. */
  mapping?: RequestedMappingOptions;
  onProgress?: (done: number, total: number) => void;
}): Promise<Plan> {
  const kfpTarget = kfpDatabaseTarget(opts.kfpUrl);
  const source = await openMlmdSource(opts.mlmdUrl);
  let kfp: Db | undefined;
  try {
    kfp = await openKfpDatabase(kfpTarget, { readOnly: true });
    const blockers: string[] = [];
    const warnings: string[] = [];
    const kfpOk = await isKfpDatabase(kfp);
    if (!kfpOk) blockers.push(`NOT_KFP_DATABASE: ${kfp.target.display} has no run_details table; point --kfp at the KFP API server database (usually mlpipeline)`);

    const existing: string[] = [];
    let v1Rows: number | null = null;
    const phase = kfpOk ? await upgradePhase(kfp) : null;
    if (kfpOk) {
      for (const name of TARGET_TABLES) {
        if (phase === 'staged') {
          // Staged beside KFP 2.x's tasks: the staged tables are checked as stage checks them.
          if (!(await tableExists(kfp, stagedName(name)))) continue;
          existing.push(stagedName(name));
          for (const d of diffTableStructure(stagedStructure(name, targetDialect(kfp)), await describeTable(kfp, stagedName(name)))) blockers.push(`TARGET_SCHEMA_MISMATCH: ${d}`);
          if (name !== 'tasks') continue;
        }
        if (!(await tableExists(kfp, name))) continue;
        if (name === 'tasks' && (await isV1TasksTable(kfp))) {
          // Raw SQL: this is KFP 2.x's tasks table, which no drizzle table declares (kfpTables' tasks is KFP 3's).
          const [row] = await kfp.all<{ n: number }>('SELECT COUNT(*) AS n FROM tasks');
          v1Rows = Number(row?.n ?? 0);
          continue;
        }
        existing.push(name);
        for (const d of diffTableStructure(expectedStructure(name, targetDialect(kfp)), await describeTable(kfp, name))) blockers.push(`TARGET_SCHEMA_MISMATCH: ${d}`);
      }
      if (await isMigrationLocked(kfp)) blockers.push('LOCK_HELD: another mlmd-bridge migration is running against this KFP database');
      // The check migrate and stage run first (catalog reads only): a role that could not write is a blocker too.
      try {
        await refuseWithoutWritePrivileges(kfp);
      } catch (e) {
        if (!(e instanceof BridgeError) || e.code !== 'INSUFFICIENT_PRIVILEGE') throw e;
        blockers.push(`${e.code}: ${e.message}; ${e.hint}`);
      }
    }
    const recorded = kfpOk ? await recordedMappingOptions(kfp) : null;
    let mapping: MappingOptions;
    try {
      mapping = settleMappingOptions(recorded, opts.mapping ?? {});
    } catch (e) {
      if (!(e instanceof BridgeError)) throw e;
      blockers.push(`${e.code}: ${e.message}`);
      mapping = recorded!;
    }
    const fingerprints = emptyTally();

    const counts = await source.countSource();
    // A page of run contexts at a time, as migrate reads them: listing them all took ~150 bytes per run.
    const total = await countRunContexts(source.db);
    let seen = 0;
    const rows = { tasks: 0, artifacts: 0, artifact_tasks: 0 };
    const rejects: Record<string, number> = {};
    // Artifacts are shared between runs: each (namespace, artifact) is counted once, in bits.
    const countedArtifacts = new Map<string, IdSet>();
    let orphan = 0;
    let inFlight = 0;
    const batchSize = Math.max(1, opts.batchSize ?? 100);
    const outlineBatch = async (batch: { id: number; name: string }[]) => {
      const details = kfpOk ? await readRunDetails(kfp!, batch.map((c) => c.name)) : new Map();
      return (await source.readRunBundles(batch.map((c) => c.id), details)).map((bundle) => ({ state: bundle.runDetails?.state ?? null, orphan: !bundle.runDetails, outline: outlineRun(bundle, mapping) }));
    };
    const tally = (outlines: Awaited<ReturnType<typeof outlineBatch>>, runs: number) => {
      seen += runs;
      for (const { state, orphan: noDetails, outline: m } of outlines) {
        if (noDetails) orphan++;
        else if (['RUNNING', 'PENDING', 'PAUSED', 'CANCELING'].includes(state ?? '')) inFlight++;
        rows.tasks += m.tasks;
        rows.artifact_tasks += m.links;
        let counted = countedArtifacts.get(m.namespace);
        if (!counted) countedArtifacts.set(m.namespace, (counted = new IdSet()));
        for (const a of m.artifactRows) if (counted.add(a.mlmdId)) rows.artifacts += a.rows;
        for (const r of m.rejects) rejects[r.code] = (rejects[r.code] ?? 0) + 1;
        addTally(fingerprints, m.fingerprints);
      }
      opts.onProgress?.(Math.min(seen, total), total);
    };
    // The next batches are read while one is mapped: read one after another, plan waited on the
    // database for about half its time.
    await consumeInOrder(runContextPages(source.db, batchSize), READ_AHEAD, outlineBatch, (outlines, batch) => tally(outlines, batch.length));
    const nonKfp = counts.byType.filter((t) => !t.kfp).map((t) => ({ kind: t.kind, type: t.type, count: t.count }));
    for (const t of nonKfp) {
      if (t.kind === 'context') rejects.NON_KFP_CONTEXT = (rejects.NON_KFP_CONTEXT ?? 0) + t.count;
      if (t.kind === 'execution') rejects.NON_KFP_EXECUTION = (rejects.NON_KFP_EXECUTION ?? 0) + t.count;
    }
    if (inFlight > 0) {
      warnings.push(`${inFlight} runs are still in flight (RUNNING/PENDING/PAUSED/CANCELING): drain or terminate them before the cut-over, or re-run migrate afterwards to true them up`);
    }
    if (v1Rows !== null) warnings.push(`the KFP 2.x tasks table (${v1Rows} rows) will be renamed to tasks_v1_backup (by migrate, or by cutover after stage); rollback restores it`);
    if (phase === 'staged') warnings.push(`KFP 3's tables are staged here (${STAGED_TASKS} beside KFP 2.x's tasks): true up with stage, finish with cutover; migrate refuses a staged database (STAGED_UPGRADE)`);
    const staged =
      phase !== null && (await tableExists(kfp, 'mlmd_bridge_state')) ? await upgradeStatus(kfp, phase, (await getState(kfp, STATE_KEYS.finishedAt)) ?? null, source) : null;
    return {
      source: { url: redact(opts.mlmdUrl), schemaVersion: source.schemaVersion, executions: counts.executions, artifacts: counts.artifacts, events: counts.events, contexts: counts.contexts },
      runs: { total: seen, toMigrate: seen - orphan, orphan, inFlight },
      rows,
      rejects,
      nonKfp,
      fingerprints: { ...fingerprints, options: mapping, recorded: recorded !== null },
      target: { url: kfp.target.display, v1TasksRows: v1Rows, existingTables: existing },
      staged,
      blockers,
      warnings,
    };
  } finally {
    await source.close().catch(() => undefined);
    await kfp?.close().catch(() => undefined);
  }
}
