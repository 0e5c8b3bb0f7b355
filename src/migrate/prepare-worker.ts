/**
 * Entry point of a prepare worker thread (see prepare-pool.ts). It opens its own read-only
 * connections and answers each batch of run references with the batch's mapped runs, so the
 * CPU-bound transform runs beside the main thread's writes instead of in front of them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from '../db/connection.ts';
import { openMlmdSource } from '../extract/index.ts';
import { prepareBatch } from './prepare.ts';
import { serializeError, type FromWorker, type ToWorker, type WorkerSetup } from './prepare-protocol.ts';

const port = parentPort!;
const setup = workerData as WorkerSetup;

async function start(): Promise<void> {
  const source = await openMlmdSource(setup.mlmdUrl);
  const kfp = await openDb(setup.kfpUrl, { readOnly: true, role: 'KFP database', poolSize: 3 });
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'close') {
      void Promise.allSettled([source.close(), kfp.close()]).then(() => port.close());
      return;
    }
    prepareBatch(source, kfp, msg.batch).then(
      (result) => port.postMessage({ type: 'done', id: msg.id, result } satisfies FromWorker),
      (e: unknown) => port.postMessage({ type: 'failed', id: msg.id, error: serializeError(e) } satisfies FromWorker),
    );
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

start().catch((e: unknown) => port.postMessage({ type: 'failed', id: -1, error: serializeError(e) } satisfies FromWorker));
