/**
 * Runs one RPC for either transport: calls the handler, converts failures into RpcErrors, and
 * writes one structured log line per call.
 */
import type { ShimLogger } from './logger.ts';
import type { Message } from './messages.ts';
import type { Request, RpcHandlers } from './rpc.ts';
import { type RpcError, toRpcError, unimplemented } from './status.ts';

export type Outcome = { ok: true; response: Message } | { ok: false; error: RpcError };

export async function dispatch(
  handlers: RpcHandlers,
  rpc: string,
  request: Request,
  logger: ShimLogger,
  transport: 'grpc' | 'grpc-web',
): Promise<Outcome> {
  const started = performance.now();
  const handler = handlers[rpc];
  let outcome: Outcome;
  try {
    if (!handler) throw unimplemented(`Method not found: ${rpc}`);
    outcome = { ok: true, response: await handler(request) };
  } catch (e) {
    outcome = { ok: false, error: toRpcError(e) };
  }
  const fields = { rpc, transport, ms: Math.round((performance.now() - started) * 10) / 10 };
  if (outcome.ok) logger.info({ ...fields, code: 'OK' }, 'rpc');
  else if (outcome.error.status === 'INTERNAL') logger.error({ ...fields, code: outcome.error.status, error: outcome.error.message }, 'rpc failed');
  else logger.info({ ...fields, code: outcome.error.status, error: outcome.error.message }, 'rpc');
  return outcome;
}
