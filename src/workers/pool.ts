/**
 * Worker threads that take requests and answer them, for CPU-bound work that would otherwise hold
 * the main thread's event loop (and every query callback with it). Each worker opens its own
 * connections from the URLs in its setup; requests and answers are structured-cloned.
 *
 * A worker imports its entry, which calls `serveRequests`. The compiled build (dist/) runs
 * JavaScript entries directly; run from the TypeScript sources (the tests), a worker registers
 * tsx's loader first, since a worker thread does not inherit the loader of its parent.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { deserializeError, serializeError, type SerializedError } from './errors.ts';

type ToWorker<Req> = { type: 'request'; id: number; request: Req } | { type: 'close' };
type FromWorker<Res> = { type: 'ready' } | { type: 'done'; id: number; result: Res } | { type: 'failed'; id: number; error: SerializedError };

export interface WorkerPool<Req, Res> {
  run(request: Req): Promise<Res>;
  close(): Promise<void>;
  readonly workers: number;
}

/**
 * How many workers to start: MLMD_BRIDGE_WORKERS when set (0 turns them off); else one per core
 * beyond `reserved` (cores kept for the main thread and for a database server on the same
 * machine), and at most `max`.
 */
export function workerCount(max: number, reserved: number): number {
  const forced = process.env.MLMD_BRIDGE_WORKERS;
  const byCores = Math.max(0, Math.min(max, availableParallelism() - reserved));
  if (forced === undefined || forced.trim() === '') return byCores;
  const n = Number(forced);
  if (Number.isInteger(n) && n >= 0) return n;
  // As MLMD_BRIDGE_HEAP_GROWING_PERCENT: a value that cannot be used is said once, not silently replaced.
  if (!warnedAboutWorkers) {
    warnedAboutWorkers = true;
    process.stderr.write(`mlmd-bridge: ignoring MLMD_BRIDGE_WORKERS=${JSON.stringify(forced)} (expected a whole number ≥ 0); using the default, ${byCores} here (one per core beyond ${reserved})\n`);
  }
  return byCores;
}
let warnedAboutWorkers = false;

/**
 * The worker entry `name` beside the module `from` (its import.meta.url), with that module's own
 * extension: `.js` in the compiled build, `.ts` when the sources run. A `new URL('./x.ts', …)`
 * would name a file the build does not have; tsc rewrites import specifiers, not URLs.
 */
export function workerEntry(from: string, name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(from))}`, from);
}

export async function startWorkerPool<Setup, Req, Res>(entry: URL, setup: Setup, count: number): Promise<WorkerPool<Req, Res>> {
  const workers = await Promise.all(Array.from({ length: count }, () => startWorker<Setup, Req, Res>(entry, setup)));
  let next = 0;
  return {
    workers: workers.length,
    run(request) {
      // Least busy first; ties go round-robin.
      let best = workers[next % workers.length]!;
      for (let i = 1; i < workers.length; i++) {
        const w = workers[(next + i) % workers.length]!;
        if (w.busy() < best.busy()) best = w;
      }
      next++;
      return best.run(request);
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/**
 * The worker side: `open` makes the handler from the setup (connections and all), `close` releases
 * what it opened. Requests are served concurrently, in the order they arrive.
 */
export function serveRequests<Setup, Req, Res>(open: (setup: Setup) => Promise<{ handle(request: Req): Promise<Res>; close(): Promise<void> }>): void {
  const port = parentPort!;
  open(workerData as Setup).then(
    (server) => {
      port.on('message', (msg: ToWorker<Req>) => {
        if (msg.type === 'close') {
          void server.close().finally(() => port.close());
          return;
        }
        server.handle(msg.request).then(
          (result) => port.postMessage({ type: 'done', id: msg.id, result } satisfies FromWorker<Res>),
          (e: unknown) => port.postMessage({ type: 'failed', id: msg.id, error: serializeError(e) } satisfies FromWorker<Res>),
        );
      });
      port.postMessage({ type: 'ready' } satisfies FromWorker<Res>);
    },
    (e: unknown) => port.postMessage({ type: 'failed', id: -1, error: serializeError(e) } satisfies FromWorker<Res>),
  );
}

interface PoolWorker<Req, Res> {
  busy(): number;
  run(request: Req): Promise<Res>;
  close(): Promise<void>;
}

function bootstrapSource(entry: URL): string {
  if (!entry.pathname.endsWith('.ts')) return `import(${JSON.stringify(entry.href)});`;
  const tsxApi = resolveEsm('tsx/esm/api');
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
}

/** The ESM entry of a package export (createRequire alone would give its CommonJS twin). */
function resolveEsm(specifier: string): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === 'function') return resolve(specifier);
  return pathToFileURL(createRequire(import.meta.url).resolve(specifier).replace(/\.cjs$/, '.mjs')).href;
}

function startWorker<Setup, Req, Res>(entry: URL, setup: Setup): Promise<PoolWorker<Req, Res>> {
  const worker = new Worker(bootstrapSource(entry), { eval: true, workerData: setup });
  const waiting = new Map<number, { resolve: (r: Res) => void; reject: (e: Error) => void }>();
  let ids = 0;
  let dead: Error | undefined;
  const failAll = (e: Error) => {
    dead ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  return new Promise((resolve, reject) => {
    worker.on('message', (msg: FromWorker<Res>) => {
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
      const e = new Error(`a worker thread stopped (exit code ${code})`);
      failAll(e);
      reject(e);
    });
    const handle: PoolWorker<Req, Res> = {
      busy: () => waiting.size,
      run(request) {
        if (dead) return Promise.reject(dead);
        const id = ids++;
        return new Promise<Res>((res, rej) => {
          waiting.set(id, { resolve: res, reject: rej });
          worker.postMessage({ type: 'request', id, request } satisfies ToWorker<Req>);
        });
      },
      async close() {
        if (dead) return;
        dead = new Error('the worker threads are closed');
        const exited = new Promise<void>((r) => worker.once('exit', () => r()));
        worker.postMessage({ type: 'close' } satisfies ToWorker<Req>);
        // Connections close in the worker first; a worker that hangs is cut off.
        const timer = setTimeout(() => void worker.terminate(), 5_000);
        await exited;
        clearTimeout(timer);
      },
    };
  });
}
