/** Errors made fit to cross threads: structured clone would keep only the message and stack. */
import { BridgeError, type BridgeErrorCode } from '../errors.ts';

/** An error as it crosses: the code, hint and driver errno matter to the receiving side. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  hint?: string;
  errno?: number;
}

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const x = e as Error & { code?: unknown; hint?: unknown; errno?: unknown };
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    ...(typeof x.code === 'string' ? { code: x.code } : {}),
    ...(typeof x.hint === 'string' ? { hint: x.hint } : {}),
    ...(typeof x.errno === 'number' ? { errno: x.errno } : {}),
  };
}

export function deserializeError(s: SerializedError): Error {
  if (s.name === 'BridgeError' && s.code) return new BridgeError(s.code as BridgeErrorCode, s.message, s.hint);
  const e = new Error(s.message) as Error & { code?: string; errno?: number };
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  if (s.code !== undefined) e.code = s.code;
  if (s.errno !== undefined) e.errno = s.errno;
  return e;
}
