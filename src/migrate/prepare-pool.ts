/**
 * Where batches are read and mapped: in worker threads when the machine has a core to spare for
 * them, else in the main thread. The transform is CPU-bound; in the main thread it would stall
 * the writer and every in-flight query callback with it.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from '../db/connection.ts';
import type { MlmdSource } from '../extract/index.ts';
import { prepareBatch, type PreparedBatch, type RunRef } from './prepare.ts';
import { deserializeError, type FromWorker, type ToWorker, type WorkerSetup } from './prepare-protocol.ts';

export interface Preparer {
  prepare(batch: RunRef[]): Promise<PreparedBatch>;
  close(): Promise<void>;
  /** Worker threads in use (0: the main thread prepares). */
  readonly workers: number;
}

/**
 * How many workers to start: MLMD_BRIDGE_WORKERS when set (0 turns them off); else one per core
 * beyond two — one for the main thread's writes and one for the database server, which is often on
 * the same machine — and at most one per batch in flight. Measured on 2 cores with a local MariaDB,
 * a worker only added its start-up, cloning and memory: the server needs the second core.
 */
export function workerCount(concurrency: number): number {
  const forced = process.env.MLMD_BRIDGE_WORKERS;
  if (forced !== undefined && forced !== '' && Number.isInteger(Number(forced)) && Number(forced) >= 0) return Number(forced);
  return Math.max(0, Math.min(concurrency, availableParallelism() - 2));
}

export function inThreadPreparer(source: MlmdSource, kfp: Db): Preparer {
  return { workers: 0, prepare: (batch) => prepareBatch(source, kfp, batch), close: async () => undefined };
}

export async function startWorkerPreparers(setup: WorkerSetup, count: number): Promise<Preparer> {
  const workers = await Promise.all(Array.from({ length: count }, () => startWorker(setup)));
  let next = 0;
  return {
    workers: workers.length,
    prepare(batch) {
      // Least busy first; ties go round-robin.
      let best = workers[next % workers.length]!;
      for (let i = 1; i < workers.length; i++) {
        const w = workers[(next + i) % workers.length]!;
        if (w.busy() < best.busy()) best = w;
      }
      next++;
      return best.prepare(batch);
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

interface PrepareWorker {
  busy(): number;
  prepare(batch: RunRef[]): Promise<PreparedBatch>;
  close(): Promise<void>;
}

/** The worker thread is plain JavaScript until tsx's loader is registered in it; then it imports the TypeScript entry. */
function bootstrapSource(): string {
  const tsxApi = resolveEsm('tsx/esm/api');
  const entry = new URL('./prepare-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
}

/** The ESM entry of a package export (createRequire alone would give its CommonJS twin). */
function resolveEsm(specifier: string): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === 'function') return resolve(specifier);
  return pathToFileURL(createRequire(import.meta.url).resolve(specifier).replace(/\.cjs$/, '.mjs')).href;
}

function startWorker(setup: WorkerSetup): Promise<PrepareWorker> {
  const worker = new Worker(bootstrapSource(), { eval: true, workerData: setup });
  const waiting = new Map<number, { resolve: (r: PreparedBatch) => void; reject: (e: Error) => void }>();
  let ids = 0;
  let dead: Error | undefined;
  const failAll = (e: Error) => {
    dead ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  return new Promise((resolve, reject) => {
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        resolve(handle);
      } else if (msg.type === 'done') {
        waiting.get(msg.id)?.resolve(msg.result);
        waiting.delete(msg.id);
      } else if (msg.id === -1) {
        const e = deserializeError(msg.error);
        failAll(e);
        reject(e);
        void worker.terminate();
      } else {
        waiting.get(msg.id)?.reject(deserializeError(msg.error));
        waiting.delete(msg.id);
      }
    });
    worker.on('error', (e) => {
      failAll(e);
      reject(e);
    });
    worker.on('exit', (code) => {
      const e = new Error(`a prepare worker stopped (exit code ${code})`);
      failAll(e);
      reject(e);
    });
    const handle: PrepareWorker = {
      busy: () => waiting.size,
      prepare(batch) {
        if (dead) return Promise.reject(dead);
        const id = ids++;
        return new Promise<PreparedBatch>((res, rej) => {
          waiting.set(id, { resolve: res, reject: rej });
          worker.postMessage({ type: 'prepare', id, batch } satisfies ToWorker);
        });
      },
      async close() {
        if (dead) return;
        dead = new Error('the prepare workers are closed');
        const exited = new Promise<void>((r) => worker.once('exit', () => r()));
        worker.postMessage({ type: 'close' } satisfies ToWorker);
        // Connections close in the worker first; a worker that hangs is cut off.
        const timer = setTimeout(() => void worker.terminate(), 5_000);
        await exited;
        clearTimeout(timer);
      },
    };
  });
}
