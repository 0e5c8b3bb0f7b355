/** Entry point of a verify worker thread (see verifier.ts): checks the batches it is sent on its own read-only connections. */
import { serveRequests } from '../workers/pool.ts';
import { openReaders } from '../workers/readers.ts';
import { checkBatch, type BatchVerdicts, type RunContextRef } from './run-checker.ts';
import type { CheckSetup } from './verifier.ts';

serveRequests<CheckSetup, RunContextRef[], BatchVerdicts>(async (setup) => {
  const { source, kfp, close } = await openReaders(setup);
  return { handle: (batch) => checkBatch(source, kfp, batch, setup.mapping), close };
});
