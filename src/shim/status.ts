/**
 * The error an RPC answers with. Handlers throw it; both transports (gRPC and gRPC-Web) turn it
 * into a status code and message, so MLMD's error contract lives in one place.
 */
import { isLockConflict } from '../db/retry.ts';

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

export class RpcError extends Error {
  readonly status: GrpcStatusName;

  constructor(status: GrpcStatusName, message: string) {
    super(message);
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

/**
 * Anything else a handler throws (a lost database connection, a bug) is INTERNAL, as MLMD maps
 * unexpected SQL errors; the message is kept because operators read it in client logs. A lock
 * conflict is ABORTED, as in MLMD: the Python client retries ABORTED calls and raises the rest.
 */
export function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new RpcError(isLockConflict(e) ? 'ABORTED' : 'INTERNAL', message);
}

