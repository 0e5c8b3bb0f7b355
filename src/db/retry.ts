/**
 * Lock conflicts between writers: a transaction the database gave up on so that another could go on
 * (MySQL's deadlock victim or lock wait timeout, PostgreSQL's serialization failure, deadlock or
 * lock not available, SQLite's "database is locked"). Trying the same work
 * again is the documented answer; the migration does, and the shim answers ABORTED, which clients retry.
 */
import pRetry from 'p-retry';
import { statementError } from './orm.ts';

/** MySQL error numbers of a lock conflict: deadlock found (1213), lock wait timeout exceeded (1205). */
const MYSQL_LOCK_ERRNOS = new Set([1213, 1205]);

/** PostgreSQL SQLSTATEs of a lock conflict: serialization_failure, deadlock_detected, lock_not_available. */
const POSTGRES_LOCK_STATES = new Set(['40001', '40P01', '55P03']);

/** SQLite's "database is locked" (better-sqlite3 codes, extended ones included), or a MySQL or PostgreSQL lock error. */
export function isLockConflict(thrown: unknown): boolean {
  const e = statementError(thrown);
  if (typeof e !== 'object' || e === null) return false;
  const { code, errno } = e as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'))) return true;
  if (typeof code === 'string' && POSTGRES_LOCK_STATES.has(code)) return true;
  return typeof errno === 'number' && MYSQL_LOCK_ERRNOS.has(errno);
}

/** Runs `work`, again after a lock conflict (up to 4 more times, 20 ms apart at first, doubling); any other error at once. */
export function retryOnLockConflict<T>(work: () => Promise<T>): Promise<T> {
  return pRetry(work, { retries: 4, minTimeout: 20, factor: 2, shouldRetry: ({ error }) => isLockConflict(error) });
}
