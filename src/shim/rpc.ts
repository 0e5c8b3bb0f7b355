/** The shape every RPC implementation has, whichever transport carries it. */
import type { Message } from './messages.ts';

/** A decoded request as @grpc/proto-loader produces it (absent fields are undefined). */
export type Request = Record<string, any>;

export type RpcHandler = (request: Request) => Promise<Message>;

export type RpcHandlers = Record<string, RpcHandler>;

/** int64 fields arrive as decimal strings; ids that do not fit a JS number cannot exist in MLMD tables. */
export function ids(values: unknown): number[] {
  if (!Array.isArray(values)) return [];
  return values.map((v) => Number(v)).filter((n) => Number.isSafeInteger(n));
}

export function int64(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
