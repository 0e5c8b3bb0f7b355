/**
 * Entry point of a prepare worker thread (see prepare-pool.ts). It opens its own read-only
 * connections and answers each batch of run references with the batch's mapped runs, so the
 * CPU-bound transform runs beside the main thread's writes instead of in front of them.
 */
import { serveRequests } from '../workers/pool.ts';
import { openReaders } from '../workers/readers.ts';
import type { PrepareSetup } from './prepare-pool.ts';
import { prepareBatch, type PreparedBatch, type RunRef } from './prepare.ts';

serveRequests<PrepareSetup, RunRef[], PreparedBatch>(async (setup) => {
  const { source, kfp, close } = await openReaders(setup);
  return { handle: (batch) => prepareBatch(source, kfp, batch, setup.mapping), close };
});
