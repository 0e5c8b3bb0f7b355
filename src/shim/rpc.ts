/** The shape every RPC implementation has, whichever transport carries it. */
import type { CallContext } from './call-context.ts';
import type { Message } from './messages.ts';

/** A decoded request as @grpc/proto-loader produces it (absent fields are undefined). */
export type Request = Record<string, any>;

/** Answers one request; `call` carries its cancellation, deadline and limits. */
export type RpcHandler = (request: Request, call: CallContext) => Promise<Message>;

export type RpcHandlers = Record<string, RpcHandler>;

/**
 * The ids of a repeated int64 field (decimal strings), refused beyond the call's limit; ids that do
 * not fit a JS number cannot exist in MLMD tables and are skipped, as missing ids are.
 */
export function ids(call: CallContext, values: unknown, field: string): number[] {
  return call.list<unknown>(values, field).map((v) => Number(v)).filter((n) => Number.isSafeInteger(n));
}

export function int64(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
