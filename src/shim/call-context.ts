/**
 * One call's budget: the signal that ends it (client cancel, deadline, shutdown), the work it has
 * done against the per-call limit, and the point where it lets other calls run. Work is counted in
 * steps — a node examined, an expression node evaluated, a character compared by LIKE, an edge
 * followed — so that the bound is the same on every machine and tests can check it without a clock.
 */
import { type ShimLimits, DEFAULT_LIMITS } from './limits.ts';
import { resourceExhausted, RpcError } from './status.ts';

/** Steps between two chances for other calls to run (a few milliseconds of work). */
export const YIELD_EVERY_STEPS = 50_000;

export class CallContext {
  private done = 0;
  private sinceYield = 0;

  constructor(
    readonly signal: AbortSignal,
    readonly limits: ShimLimits = DEFAULT_LIMITS,
  ) {}

  /** For code that runs a handler outside a transport (tests, embedding): never aborted, default limits. */
  static detached(limits: ShimLimits = DEFAULT_LIMITS): CallContext {
    return new CallContext(new AbortController().signal, limits);
  }

  /** Steps counted so far. */
  get steps(): number {
    return this.done;
  }

  /** Counts `n` steps; past the call's limit the call ends with RESOURCE_EXHAUSTED. */
  work(n: number): void {
    this.done += n;
    this.sinceYield += n;
    if (this.done > this.limits.maxWorkSteps) {
      throw resourceExhausted(
        `this call needs more than ${this.limits.maxWorkSteps} steps of work (the shim's --max-work); ` +
          'narrow the filter_query or the scope, or ask for fewer hops',
      );
    }
  }

  /** True when enough work was done since the last pause for another call to deserve a turn. */
  get pauseDue(): boolean {
    return this.sinceYield >= YIELD_EVERY_STEPS;
  }

  /** Lets other calls run if this one has worked long enough, then stops it if it was cancelled meanwhile. */
  async pause(): Promise<void> {
    if (this.sinceYield >= YIELD_EVERY_STEPS) {
      this.sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.throwIfAborted();
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw abortReason(this.signal);
  }

  /** The values of a repeated request field, refused when there are more than the limit allows. */
  list<T>(values: unknown, field: string): T[] {
    if (!Array.isArray(values)) return [];
    if (values.length > this.limits.maxIdsPerRequest) throw tooMany(field, values.length, this.limits.maxIdsPerRequest);
    return values as T[];
  }
}

/** `count` is null when counting stopped at the limit (the request was refused before it was decoded). */
export function tooMany(field: string, count: number | null, limit: number): RpcError {
  const names = count === null ? `more than ${limit}` : String(count);
  return resourceExhausted(`${field} names ${names} values; the shim answers at most ${limit} per request (its --max-ids); split the request`);
}

/** The error a call ends with once its signal has aborted. */
export function abortReason(signal: AbortSignal): RpcError {
  const r: unknown = signal.reason;
  return r instanceof RpcError ? r : new RpcError('CANCELLED', 'the call was cancelled');
}

/** Why a call ended early, as the status its client is answered with. */
export const cancelled = (): RpcError => new RpcError('CANCELLED', 'the client cancelled the call');
export const deadlineExceeded = (): RpcError => new RpcError('DEADLINE_EXCEEDED', "the call's deadline passed");
export const shuttingDown = (): RpcError => new RpcError('UNAVAILABLE', 'the shim is shutting down; retry (another replica, or this one once it is back)');
