/**
 * Entry point of a prepare worker thread (see prepare-pool.ts). It opens its own read-only
 * connections and answers each batch of run references with the batch's mapped runs, so the
 * CPU-bound transform runs beside the main thread's writes instead of in front of them.
 */
import { openDb } from '../db/connection.ts';
import { openMlmdSource } from '../extract/index.ts';
import { serveRequests } from '../workers/pool.ts';
import { prepareBatch, type PreparedBatch, type RunRef } from './prepare.ts';

export interface PrepareSetup {
  mlmdUrl: string;
  kfpUrl: string;
}

serveRequests<PrepareSetup, RunRef[], PreparedBatch>(async (setup) => {
  const source = await openMlmdSource(setup.mlmdUrl);
  const kfp = await openDb(setup.kfpUrl, { readOnly: true, role: 'KFP database', poolSize: 3 });
  return {
    handle: (batch) => prepareBatch(source, kfp, batch),
    close: async () => {
      await Promise.allSettled([source.close(), kfp.close()]);
    },
  };
});
