/**
 * Stored data the shim cannot read as it should — a KFP row whose JSON column is corrupt, an MLMD
 * type whose ArtifactStructType text is not JSON, a bookkeeping row that is not what migrate
 * writes. The shim serves around it (docs/shim.md says how for each) and logs it once per row, with
 * the row's id, so that an operator hears of every such row without one log line per call.
 */
import type { LogFields, ShimLogger } from './logger.ts';

/** Rows remembered as already reported; past this the memory starts over (a row may then be reported again). */
const MAX_REMEMBERED = 100_000;

export interface ProblemReporter {
  /** Logs `message` with `fields` unless a problem with the same `key` was logged before. */
  report(key: string, fields: LogFields, message: string): void;
}

export class DataProblems implements ProblemReporter {
  private readonly seen = new Set<string>();

  constructor(private readonly logger: ShimLogger) {}

  report(key: string, fields: LogFields, message: string): void {
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.add(key);
    this.logger.warn(fields, message);
  }
}

/** For backends opened outside a server (tests, tools): problems are served around and not logged. */
export const UNREPORTED: ProblemReporter = { report() {} };
