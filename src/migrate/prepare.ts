/**
 * The read-and-map half of a migration batch: which runs changed since their checkpoint, their
 * MLMD records, and their KFP rows. It only reads, so it can run beside the writer, in a worker
 * thread or in the main thread alike.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { statementError } from '../db/orm.ts';
import { readRunDetails, readRunVersions, versionOfBundle, type MlmdSource } from '../extract/index.ts';
import { FAILED_VERSION, readCheckpointsOf, type RunWrite } from '../load/writer.ts';
import { mapRun } from '../transform/forward.ts';
import type { MappingOptions } from '../transform/fingerprints.ts';
import { giveWay } from '../workers/give-way.ts';
import type { KfpRunDetails, Reject, RunBundle, RunMigration } from '../transform/model.ts';

export interface RunRef {
  /** The `system.PipelineRun` context id. */
  id: number;
  /** Its name: the KFP run UUID. */
  name: string;
}

export interface PreparedBatch {
  runs: RunWrite[];
  /** Runs whose checkpoint matched their source: nothing to write. */
  unchanged: number;
}

/**
 * Mapping a batch takes tens of milliseconds of CPU. The writer's statements wait for the event loop
 * between round trips, so mapping gives way every few milliseconds: the write of the previous batch
 * (the migration's critical path) then never waits for the mapping of the next one.
 */
const GIVE_WAY_AFTER_MS = 2;

export async function prepareBatch(source: MlmdSource, kfp: Db, batch: RunRef[], mapping: MappingOptions): Promise<PreparedBatch> {
  const names = batch.map((c) => c.name);
  const [details, checkpoints] = await Promise.all([readRunDetails(kfp, names), readCheckpointsOf(kfp, names)]);
  // Only a run migrated before has a checkpoint to compare: a batch of new runs (a first migration)
  // skips the fingerprint queries and fingerprints each run from the records it reads anyway.
  const versions = checkpoints.size > 0 ? await readRunVersions(source.db, batch.map((c) => c.id)) : null;
  const todo = versions ? batch.filter((c) => checkpoints.get(c.name) !== combineVersion(versions.get(c.id) ?? '', details.get(c.name))) : batch;
  const runs: RunWrite[] = [];
  if (todo.length > 0) {
    const pause = giveWay(GIVE_WAY_AFTER_MS);
    for (const bundle of await source.readRunBundles(todo.map((c) => c.id), details)) {
      await pause();
      const mapped = mapOrFail(bundle, mapping);
      const failed = mapped.rejects.some((r) => r.code === 'RUN_FAILED');
      const mlmdVersion = versions ? (versions.get(bundle.runContext.id) ?? '') : versionOfBundle(bundle);
      runs.push({
        mapped,
        sourceVersion: failed ? FAILED_VERSION : combineVersion(mlmdVersion, details.get(bundle.runContext.name)),
        replacing: !failed && checkpoints.has(mapped.runUuid),
      });
    }
  }
  return { runs, unchanged: batch.length - todo.length };
}

/** A run is re-migrated when its MLMD records or its run_details row changed. */
export function combineVersion(mlmdVersion: string, run: KfpRunDetails | undefined): string {
  const rd = run ? `${run.state}|${run.finishedAtInSec}|${run.displayName}|${run.experimentNamespace ?? run.namespace}` : 'orphan';
  return createHash('sha256').update(`${mlmdVersion}|${rd}`).digest('hex').slice(0, 40);
}

/** A run whose records break the mapping must not stop the others: it becomes a RUN_FAILED reject, retried next time. */
export function mapOrFail(bundle: RunBundle, mapping: MappingOptions): RunMigration {
  try {
    return mapRun(bundle, mapping);
  } catch (e) {
    return failedRun(bundle.runContext.name, bundle.runContext.id, `mapping failed: ${errorText(e)}`);
  }
}

/** A run that could not be migrated: no rows, one RUN_FAILED reject naming the error. */
export function failedRun(runUuid: string, contextId: number, reason: string): RunMigration {
  return { runUuid, contextId, namespace: '', tasks: [], artifacts: [], links: [], idMap: [], rejects: [runFailedReject(runUuid, contextId, reason)] };
}

export function runFailedReject(runUuid: string, contextId: number, reason: string): Reject {
  return { code: 'RUN_FAILED', disposition: 'skipped', entity: 'run', mlmdId: contextId, runUuid, reason: `${reason}; nothing of this run was written, the next migrate tries it again` };
}

export function errorText(e: unknown): string {
  const err = statementError(e) as { code?: string; message?: string };
  return `${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`.slice(0, 2000);
}
