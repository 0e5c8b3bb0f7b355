/**
 * The one error type of mlmd-bridge. Every failure an operator can act on carries a stable code
 * and the exit code design.md §5 assigns to its class, so the CLI never has to guess.
 */
export const EXIT = {
  OK: 0,
  DRIFT_OR_REJECTS: 1,
  USAGE_OR_CONNECTION: 2,
  BLOCKED: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const EXIT_BY_CODE = {
  USAGE: EXIT.USAGE_OR_CONNECTION,
  BAD_URL: EXIT.USAGE_OR_CONNECTION,
  CONNECTION: EXIT.USAGE_OR_CONNECTION,
  /** The database user may connect but not read what it must. */
  INSUFFICIENT_PRIVILEGE: EXIT.USAGE_OR_CONNECTION,
  SCHEMA_VERSION: EXIT.BLOCKED,
  NOT_MLMD_DATABASE: EXIT.BLOCKED,
  NOT_KFP_DATABASE: EXIT.BLOCKED,
  TARGET_SCHEMA_MISMATCH: EXIT.BLOCKED,
  LOCK_HELD: EXIT.BLOCKED,
  NOTHING_TO_ROLL_BACK: EXIT.BLOCKED,
  NOT_MIGRATED: EXIT.BLOCKED,
  STATE_CORRUPT: EXIT.BLOCKED,
  OPTION_CONFLICT: EXIT.BLOCKED,
  /** `stage` against a database whose tasks table is KFP 3's already. */
  ALREADY_CUT_OVER: EXIT.BLOCKED,
  /** `migrate` against a database where `stage` built KFP 3's tables beside KFP 2.x's. */
  STAGED_UPGRADE: EXIT.BLOCKED,
  /** `cutover` against a database with nothing staged. */
  NOT_STAGED: EXIT.BLOCKED,
  INTERNAL: EXIT.USAGE_OR_CONNECTION,
} as const;

export type BridgeErrorCode = keyof typeof EXIT_BY_CODE;

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;
  /** What the operator should do next; printed under the message. */
  readonly hint: string | undefined;

  constructor(code: BridgeErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BridgeError';
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): ExitCode {
    return EXIT_BY_CODE[this.code];
  }
}

export function isBridgeError(e: unknown): e is BridgeError {
  return e instanceof BridgeError;
}
