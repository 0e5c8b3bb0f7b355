/**
 * Which abort signal the statements of the current asynchronous task obey. A server that answers
 * calls (the shim) runs each call inside `withQuerySignal(callSignal, …)`; when the call is
 * cancelled or runs out of time, statements still running on its behalf are stopped (KILL QUERY on
 * MySQL/MariaDB) and no new ones start. It travels with the async context rather than as an
 * argument so that every reader below the call (extract, the shim's backends) obeys it unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal | undefined>();

/** Runs `fn` so that the statements it issues (directly or through awaited helpers) stop when `signal` aborts. */
export function withQuerySignal<T>(signal: AbortSignal | undefined, fn: () => T): T {
  return current.run(signal, fn);
}

/** The signal the statements issued here obey, if any. */
export function querySignal(): AbortSignal | undefined {
  return current.getStore();
}

/** Throws the signal's reason when it has aborted: a cancelled caller starts no new statement. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the statement was cancelled');
}
