/** migrate's defaults, apart so that the CLI can show them without loading the migration. */

/** Batches written at once, each on its own connection (see migrateRuns). */
export const WRITERS = 2;

/**
 * Batches in flight by default: one more than WRITERS, so that a batch is read and mapped while two
 * are written. With two, both were often being written and nothing was read meanwhile (15,000 runs:
 * 6–12 % slower, for 15–20 MiB less memory).
 */
export const DEFAULT_CONCURRENCY = WRITERS + 1;

/** How long cutover's swap waits for a table lock by default (`--lock-wait`), in seconds: long enough for a short statement to end, short enough to be noticed. */
export const DEFAULT_LOCK_WAIT_SECONDS = 30;
