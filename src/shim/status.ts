/**
 * The error an RPC answers with. Handlers throw it; both transports (gRPC and gRPC-Web) turn it
 * into a status code and message, so MLMD's error contract lives in one place.
 */
import { isLockConflict } from '../db/retry.ts';
import { statementError } from '../db/orm.ts';
import { BridgeError, EXIT } from '../errors.ts';

/** gRPC status codes (the numbers are the wire contract; absl and gRPC share them). */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GRPC_STATUS;

/**
 * The most UTF-8 bytes of a status message sent to a client. Both transports put the message in a
 * header or trailer, percent-encoded (up to 3 bytes per byte), and clients refuse metadata above
 * 8 KiB (grpc-js, grpcio) or headers above 16 KiB (Node's HTTP client, which the KFP UI's proxy is):
 * a message that echoed a 64 KB filter made the call fail with RESOURCE_EXHAUSTED or never finish.
 */
export const MAX_STATUS_MESSAGE_BYTES = 1000;

/** `text` cut to at most `maxBytes` of UTF-8 (never inside a character), marked with how much was left out. */
export function clipText(text: string, maxBytes: number): string {
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = (n: number) => `… (${n} more characters)`;
  let bytes = 0;
  let end = 0;
  const budget = maxBytes - 40; // room for the marker
  while (end < text.length) {
    const code = text.codePointAt(end)!;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > budget) break;
    bytes += size;
    end += code >= 0x10000 ? 2 : 1;
  }
  return `${text.slice(0, end)}${marker(text.length - end)}`;
}

export class RpcError extends Error {
  readonly status: GrpcStatusName;

  constructor(status: GrpcStatusName, message: string) {
    super(clipText(message, MAX_STATUS_MESSAGE_BYTES));
    this.name = 'RpcError';
    this.status = status;
  }

  get code(): number {
    return GRPC_STATUS[this.status];
  }
}

export const invalidArgument = (message: string): RpcError => new RpcError('INVALID_ARGUMENT', message);
export const notFound = (message: string): RpcError => new RpcError('NOT_FOUND', message);
export const unimplemented = (message: string): RpcError => new RpcError('UNIMPLEMENTED', message);
export const resourceExhausted = (message: string): RpcError => new RpcError('RESOURCE_EXHAUSTED', message);
export const failedPrecondition = (message: string): RpcError => new RpcError('FAILED_PRECONDITION', message);

/**
 * What a handler's failure answers. A database that cannot be reached (after the connection layer
 * retried a dropped connection once) is UNAVAILABLE, which clients retry; a database that is not
 * what the shim needs (a precondition, exit code 3 on the command line) is FAILED_PRECONDITION.
 * A lock conflict is ABORTED, as in MLMD: the Python client retries ABORTED calls and raises the
 * rest. Anything else (a bug, an unexpected SQL error) is INTERNAL, as MLMD maps unexpected SQL
 * errors; the message is kept because operators read it in client logs.
 */
export function toRpcError(thrown: unknown): RpcError {
  const e = statementError(thrown);
  if (e instanceof RpcError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof BridgeError) {
    if (e.code === 'CONNECTION') return new RpcError('UNAVAILABLE', message);
    if (e.exitCode === EXIT.BLOCKED) return new RpcError('FAILED_PRECONDITION', `${message}${e.hint ? `; ${e.hint}` : ''}`);
  }
  return new RpcError(isLockConflict(e) ? 'ABORTED' : 'INTERNAL', message);
}

