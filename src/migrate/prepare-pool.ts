/**
 * Where batches are read and mapped: in worker threads when the machine has a core to spare for
 * them, else in the main thread. The transform is CPU-bound; in the main thread it would stall
 * the writer and every in-flight query callback with it.
 */
import type { Db } from '../db/connection.ts';
import type { MlmdSource } from '../extract/index.ts';
import { startWorkerPool, workerCount as poolWorkerCount, workerEntry } from '../workers/pool.ts';
import { prepareBatch, type PreparedBatch, type RunRef } from './prepare.ts';
import type { ReaderSetup } from '../workers/readers.ts';
import type { MappingOptions } from '../transform/fingerprints.ts';

/** What a prepare worker opens and maps with. */
export interface PrepareSetup extends ReaderSetup {
  mapping: MappingOptions;
}

export interface Preparer {
  prepare(batch: RunRef[]): Promise<PreparedBatch>;
  close(): Promise<void>;
  /** Worker threads in use (0: the main thread prepares). */
  readonly workers: number;
}

/**
 * One worker per core beyond two — one for the main thread's writes and one for the database
 * server, which is often on the same machine — and at most one per batch in flight. Measured on 2
 * cores with a local MariaDB, a worker only added its start-up, cloning and memory: the server
 * needs the second core.
 */
export const workerCount = (concurrency: number) => poolWorkerCount(concurrency, 2);

export function inThreadPreparer(source: MlmdSource, kfp: Db, mapping: MappingOptions): Preparer {
  return { workers: 0, prepare: (batch) => prepareBatch(source, kfp, batch, mapping), close: async () => undefined };
}

export async function startWorkerPreparers(setup: PrepareSetup, count: number): Promise<Preparer> {
  const pool = await startWorkerPool<PrepareSetup, RunRef[], PreparedBatch>(workerEntry(import.meta.url, 'prepare-worker'), setup, count);
  return { workers: pool.workers, prepare: (batch) => pool.run(batch), close: () => pool.close() };
}
