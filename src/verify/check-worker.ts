/** Entry point of a verify worker thread (see verifier.ts): checks the batches it is sent on its own read-only connections. */
import { openDb } from '../db/connection.ts';
import { openMlmdSource } from '../extract/index.ts';
import { serveRequests } from '../workers/pool.ts';
import { checkBatch, type BatchVerdicts, type RunContextRef } from './run-checker.ts';

export interface CheckSetup {
  mlmdUrl: string;
  kfpUrl: string;
}

serveRequests<CheckSetup, RunContextRef[], BatchVerdicts>(async (setup) => {
  const source = await openMlmdSource(setup.mlmdUrl);
  const kfp = await openDb(setup.kfpUrl, { readOnly: true, role: 'KFP database', poolSize: 3 });
  return {
    handle: (batch) => checkBatch(source, kfp, batch),
    close: async () => {
      await Promise.allSettled([source.close(), kfp.close()]);
    },
  };
});
