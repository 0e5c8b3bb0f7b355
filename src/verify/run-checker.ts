/**
 * Checks batches of runs: reads their MLMD records and KFP rows and gives each run its verdict.
 * Pure reading and comparing, so it runs in the main thread or in a worker thread alike.
 */
import type { Db } from '../db/connection.ts';
import { readKfpRunRows, readRunDetails, type MlmdSource } from '../extract/index.ts';
import { inArray } from 'drizzle-orm';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { chunked } from '../db/sql.ts';
import { compareRun, type Difference } from '../transform/compare.ts';
import { outlineRun } from '../transform/forward.ts';
import type { MappingOptions } from '../transform/fingerprints.ts';
import type { RunBundle } from '../transform/model.ts';
import { reverseRun, type KfpRunRows } from '../transform/reverse.ts';
import { giveWay } from '../workers/give-way.ts';
import type { Drift, RunVerdict } from './verifier.ts';

/** A run to check: its `system.PipelineRun` context. */
export interface RunContextRef {
  id: number;
  name: string;
}

export interface BatchVerdicts {
  verdicts: RunVerdict[];
  /** MLMD records compared (executions, artifacts, events). */
  rowsCompared: number;
}

/** How long comparing may hold the event loop before pending reads get a turn. */
const GIVE_WAY_AFTER_MS = 5;

export async function checkBatch(source: MlmdSource, kfp: Db, batch: RunContextRef[], mapping: MappingOptions): Promise<BatchVerdicts> {
  const details = await readRunDetails(kfp, batch.map((c) => c.name));
  const [bundles, rowsByRun, stored] = await Promise.all([
    source.readRunBundles(batch.map((c) => c.id), details),
    readKfpRunRows(kfp, details),
    storedRejectCodes(kfp, batch.map((c) => c.name)),
  ]);
  const out: BatchVerdicts = { verdicts: [], rowsCompared: 0 };
  const pause = giveWay(GIVE_WAY_AFTER_MS);
  for (const bundle of bundles) {
    await pause();
    const t0 = Date.now();
    const verdict = verifyRun(bundle, rowsByRun.get(bundle.runContext.name) ?? null, stored.get(bundle.runContext.name) ?? [], mapping);
    verdict.seconds = (Date.now() - t0) / 1000;
    out.verdicts.push(verdict);
    out.rowsCompared += bundle.executions.length + bundle.artifacts.length + bundle.events.length;
  }
  return out;
}

/**
 * One run: forward(source) tells what must be there (counted, not rendered); reverse(KFP rows) must
 * give the source back; every tasks.Fingerprint must be what the recomputation gives under the
 * options the database was migrated with.
 */
export function verifyRun(bundle: RunBundle, rows: KfpRunRows | null, storedRejects: string[], mapping: MappingOptions): RunVerdict {
  const runUuid = bundle.runContext.name;
  const verdict: RunVerdict = { runUuid, contextId: bundle.runContext.id, pipeline: bundle.pipelineContext?.name ?? null, status: 'matched', drift: [], lossy: {}, seconds: 0 };
  if (!bundle.runDetails) {
    verdict.status = 'orphan';
    return verdict;
  }
  const expected = outlineRun(bundle, mapping);
  const found = rows ?? { run: bundle.runDetails, tasks: [], links: [], artifacts: [], idMap: [] };
  verdict.fingerprints = expected.fingerprints;

  // Row counts reconcile with what the forward mapping writes and rejects.
  const countDrift = (field: string, want: number, got: number) => {
    if (want !== got) verdict.drift.push({ entity: 'run', mlmdId: bundle.runContext.id, field, expected: want, found: got, code: 'COUNT_MISMATCH' });
  };
  countDrift('tasks', expected.tasks, found.tasks.length);
  countDrift('artifact_tasks', expected.links, found.links.length);
  countDrift('artifacts', new Set(expected.artifactUuids).size, found.artifacts.length);
  const want = expected.rejects.map((r) => r.code).sort();
  const got = [...storedRejects].sort();
  if (want.join(',') !== got.join(',')) {
    verdict.drift.push({ entity: 'run', mlmdId: bundle.runContext.id, field: 'rejects', expected: want, found: got, code: 'REJECTS_MISMATCH' });
  }

  // The written fingerprints, KFP 3 keys or MLMD copies, each against its recomputation.
  const columns = { checked: 0, matched: 0 };
  for (const t of found.tasks) {
    const want = expected.fingerprintColumns[t.UUID] ?? '';
    if (want !== '') columns.checked++;
    if (t.Fingerprint === want) {
      if (want !== '') columns.matched++;
    } else {
      verdict.drift.push({ entity: 'task', mlmdId: t.UUID, field: 'tasks.Fingerprint', expected: want, found: t.Fingerprint, code: 'FINGERPRINT_MISMATCH' });
    }
  }
  verdict.fingerprintColumns = columns;

  // Records the KFP 3 tables cannot name get ids no MLMD record has.
  let next = -1;
  const view = reverseRun(found, () => next--);
  for (const d of compareRun(bundle, view, { rejects: expected.rejects })) {
    if (d.code === 'DRIFT') {
      verdict.drift.push(toDrift(d));
    } else {
      verdict.lossy[d.code] = (verdict.lossy[d.code] ?? 0) + 1;
      const byEntity = (verdict.lossyByEntity ??= {});
      byEntity[d.entity] = (byEntity[d.entity] ?? 0) + 1;
    }
  }
  if (verdict.drift.length > 0) verdict.status = 'drifted';
  return verdict;
}

function toDrift(d: Difference): Drift {
  return { entity: d.entity, mlmdId: d.mlmdId, field: d.field, expected: d.expected, found: d.found, code: 'DRIFT' };
}

async function storedRejectCodes(kfp: Db, runs: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const { bridgeRejects: t } = kfpTables(kfp);
  for (const keys of chunked(runs)) {
    const rows = await orm(kfp).select({ run: t.run_key, code: t.code }).from(t).where(inArray(t.run_key, keys));
    for (const r of rows) out.set(r.run, [...(out.get(r.run) ?? []), r.code]);
  }
  return out;
}
