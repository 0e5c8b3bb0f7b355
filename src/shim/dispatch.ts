/**
 * Runs the calls of both transports (gRPC and gRPC-Web): each call gets its budget (signal,
 * limits, work counter), runs with its signal governing its database statements, and ends in one
 * structured log line. The runner also knows every call in flight, so shutdown can refuse new
 * calls, wait for the running ones, and cancel those that outlast the grace period.
 */
import { withQuerySignal } from '../db/cancel.ts';
import { abortReason, CallContext } from './call-context.ts';
import type { ShimLimits } from './limits.ts';
import type { ShimLogger } from './logger.ts';
import type { Message } from './messages.ts';
import { REQUEST_PROBLEM } from './request-guard.ts';
import type { Request, RpcHandlers } from './rpc.ts';
import { type RpcError, toRpcError, unimplemented } from './status.ts';

export type Outcome = { ok: true; response: Message } | { ok: false; error: RpcError };

export type Transport = 'grpc' | 'grpc-web';

export class CallRunner {
  private readonly inflight = new Set<AbortController>();
  private idleWaiters: (() => void)[] = [];
  private refusal: RpcError | null = null;

  constructor(
    private readonly handlers: RpcHandlers,
    private readonly logger: ShimLogger,
    readonly limits: ShimLimits,
    /** Told of every call as it ends (the metrics): its gRPC status name and how long it took. */
    private readonly onCallEnd?: (rpc: string, transport: Transport, code: string, seconds: number) => void,
  ) {}

  /** Calls running now. */
  get active(): number {
    return this.inflight.size;
  }

  /**
   * Runs one call. `controller` is the transport's: it aborts the call when the client cancels or
   * its deadline passes (with the status to answer as the reason).
   */
  async run(rpc: string, request: Request, transport: Transport, controller: AbortController): Promise<Outcome> {
    const started = performance.now();
    let outcome: Outcome;
    if (this.refusal) {
      outcome = { ok: false, error: this.refusal };
    } else {
      this.inflight.add(controller);
      const call = new CallContext(controller.signal, this.limits);
      try {
        const problem = (request as Record<symbol, RpcError | undefined>)[REQUEST_PROBLEM];
        if (problem) throw problem;
        const handler = this.handlers[rpc];
        if (!handler) throw unimplemented(`Method not found: ${rpc}`);
        outcome = { ok: true, response: await withQuerySignal(controller.signal, () => handler(request, call)) };
      } catch (e) {
        outcome = { ok: false, error: controller.signal.aborted ? abortReason(controller.signal) : toRpcError(e) };
      } finally {
        this.inflight.delete(controller);
        if (this.inflight.size === 0) this.wakeIdle();
      }
    }
    const elapsedMs = performance.now() - started;
    this.onCallEnd?.(rpc, transport, outcome.ok ? 'OK' : outcome.error.status, elapsedMs / 1000);
    const fields = { rpc, transport, ms: Math.round(elapsedMs * 10) / 10 };
    if (outcome.ok) this.logger.info({ ...fields, code: 'OK' }, 'rpc');
    else if (outcome.error.status === 'INTERNAL') this.logger.error({ ...fields, code: outcome.error.status, error: outcome.error.message }, 'rpc failed');
    else this.logger.info({ ...fields, code: outcome.error.status, error: outcome.error.message }, 'rpc');
    return outcome;
  }

  /** From now on every new call is answered with `reason` (UNAVAILABLE while shutting down). */
  refuseNew(reason: RpcError): void {
    this.refusal = reason;
  }

  /** Aborts every call in flight with `reason`: its work stops at the next pause and its statements are killed. */
  abortAll(reason: RpcError): void {
    for (const c of this.inflight) c.abort(reason);
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
