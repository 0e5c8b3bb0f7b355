/**
 * Entry point of a prepare worker thread (see prepare-pool.ts). It opens its own read-only
 * connections and answers each batch of run references with the batch's mapped runs, so the
 * CPU-bound transform runs beside the main thread's writes instead of in front of them.
 */
import { serveRequests } from '../workers/pool.ts';
import { openReaders, type ReaderSetup } from '../workers/readers.ts';
import { prepareBatch, type PreparedBatch, type RunRef } from './prepare.ts';

serveRequests<ReaderSetup, RunRef[], PreparedBatch>(async (setup) => {
  const { source, kfp, close } = await openReaders(setup);
  return { handle: (batch) => prepareBatch(source, kfp, batch), close };
});
