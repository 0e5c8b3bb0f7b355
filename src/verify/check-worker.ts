/** Entry point of a verify worker thread (see verifier.ts): checks the batches it is sent on its own read-only connections. */
import { serveRequests } from '../workers/pool.ts';
import { openReaders, type ReaderSetup } from '../workers/readers.ts';
import { checkBatch, type BatchVerdicts, type RunContextRef } from './run-checker.ts';

serveRequests<ReaderSetup, RunContextRef[], BatchVerdicts>(async (setup) => {
  const { source, kfp, close } = await openReaders(setup);
  return { handle: (batch) => checkBatch(source, kfp, batch), close };
});
