/**
 * One migration (or rollback) at a time per KFP database (design.md §3). MySQL: a named
 * GET_LOCK on a pinned connection, released by the server if the process dies. PostgreSQL: a
 * session advisory lock (pg_try_advisory_lock, scoped to the database by the server), released the
 * same way. SQLite: a lock file
 * beside the database holding the owner's pid; a lock whose owner is gone is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db, Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { targetDialect } from './kfp-database.ts';

export const LOCK_NAME = 'mlmd_bridge_migration';

/** MySQL lock names are server-wide; the KFP database's name scopes ours (at most 64 characters). */
export function lockNameFor(database: string): string {
  const name = `${LOCK_NAME}:${database}`;
  return name.length <= 64 ? name : `${LOCK_NAME}:${createHash('sha256').update(database).digest('hex').slice(0, 32)}`;
}

/**
 * Runs `fn` while holding the migration lock; refuses at once (exit 3) when another holds it, or,
 * given `waitSeconds` (the shards of a sharded run, which take it in turn for their setup and the
 * final bookkeeping), after waiting that long for it.
 */
export async function withMigrationLock<T>(db: Db, fn: () => Promise<T>, waitSeconds = 0): Promise<T> {
  if (db.target.dialect === 'sqlite') return withLockFile(`${db.target.path}.mlmd-bridge.lock`, db.target.display, fn, waitSeconds);
  return withNamedLock(db, lockNameFor(db.target.database), fn, waitSeconds);
}

/**
 * One shard's lock (`--shard i/N`): held while the shard writes its runs, so the same shard never
 * runs twice at once while the other shards run beside it. A killed shard's lock goes with it.
 */
export async function withShardLock<T>(db: Db, shard: { index: number; count: number }, fn: () => Promise<T>): Promise<T> {
  if (db.target.dialect === 'sqlite') return withLockFile(`${db.target.path}.mlmd-bridge.shard-${shard.index}-of-${shard.count}.lock`, db.target.display, fn, 0);
  return withNamedLock(db, shardLockName(db.target.database, shard), fn, 0);
}

/** True when shard `shard` is running now (its lock is held). */
export async function isShardLocked(db: Db, shard: { index: number; count: number }): Promise<boolean> {
  if (db.target.dialect === 'sqlite') return isFileLockHeld(`${db.target.path}.mlmd-bridge.shard-${shard.index}-of-${shard.count}.lock`);
  return isNamedLockHeld(db, shardLockName(db.target.database, shard));
}

/** Within MySQL's 64 characters whatever the database's name. */
function shardLockName(database: string, shard: { index: number; count: number }): string {
  return `mlmd_bridge_shard:${createHash('sha256').update(database).digest('hex').slice(0, 32)}:${shard.index}/${shard.count}`;
}

async function withNamedLock<T>(db: Db, lockName: string, fn: () => Promise<T>, waitSeconds: number): Promise<T> {
  return db.session(async (s) => {
    await keepSessionOpen(s);
    const got = await getLock(s, lockName, waitSeconds);
    if (!got) {
      throw new BridgeError(
        'LOCK_HELD',
        `another mlmd-bridge migration holds the lock "${lockName}" on ${db.target.display}`,
        'wait for it to finish (mlmd-bridge status shows progress); a killed process releases the lock when its connection closes',
      );
    }
    try {
      return await fn();
    } finally {
      await releaseLock(s, lockName).catch(() => undefined);
    }
  });
}

/**
 * The lock lives exactly as long as its session, which runs no statement while the migration works on
 * other connections. A server setting that ends idle sessions (a role's or database's
 * `idle_session_timeout`, PostgreSQL 14 and later) would end it and release the lock mid-run, so this
 * session opts out of it; other sessions keep the DBA's setting.
 */
async function keepSessionOpen(s: Queryable): Promise<void> {
  if (targetDialect(s) !== 'postgres') return;
  await s.all("SELECT set_config('idle_session_timeout', '0', false) AS v WHERE current_setting('server_version_num')::int >= 140000");
}

async function getLock(s: Queryable, lockName: string, waitSeconds = 0): Promise<boolean> {
  if (targetDialect(s) === 'postgres') {
    // pg_try_advisory_lock never waits: asked again every 100 ms until the deadline.
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const rows = await s.all<{ got: boolean }>('SELECT pg_try_advisory_lock(CAST(? AS bigint)) AS got', [advisoryKey(lockName)]);
      if (rows[0]?.got === true) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const rows = await s.all<{ got: number | null }>('SELECT GET_LOCK(?, ?) AS got', [lockName, waitSeconds]);
  return Number(rows[0]?.got) === 1;
}

async function releaseLock(s: Queryable, lockName: string): Promise<void> {
  if (targetDialect(s) === 'postgres') await s.all('SELECT pg_advisory_unlock(CAST(? AS bigint)) AS r', [advisoryKey(lockName)]);
  else await s.all('SELECT RELEASE_LOCK(?) AS r', [lockName]);
}

/** PostgreSQL advisory locks are keyed by a 64-bit number: the first 8 bytes of the name's SHA-256, signed, as text. */
export function advisoryKey(lockName: string): string {
  return createHash('sha256').update(lockName).digest().readBigInt64BE(0).toString();
}

async function isNamedLockHeld(db: Db, lockName: string): Promise<boolean> {
  if (db.target.dialect === 'postgres') {
    // PostgreSQL has no IS_FREE_LOCK: taking the lock for a moment on a session of our own tells.
    return db.session(async (s) => {
      if (!(await getLock(s, lockName))) return true;
      await releaseLock(s, lockName);
      return false;
    });
  }
  const rows = await db.all<{ free: number | null }>('SELECT IS_FREE_LOCK(?) AS free', [lockName]);
  return Number(rows[0]?.free) === 0;
}

/** True when some process holds the lock right now (for `status`). */
export async function isMigrationLocked(db: Db): Promise<boolean> {
  if (db.target.dialect === 'sqlite') return isFileLockHeld(`${db.target.path}.mlmd-bridge.lock`);
  return isNamedLockHeld(db, lockNameFor(db.target.database));
}

function isFileLockHeld(path: string): boolean {
  const owner = readOwner(path);
  // An owner on another host cannot be checked from here: held, as withLockFile treats it.
  return owner !== null && (owner.host !== hostname() || isAlive(owner.pid));
}

// Kept over proper-lockfile: it sees a dead owner only by mtime (≥ 2 s), and better-sqlite3 holds its refresh timer up to 4 s (commit message).
async function withLockFile<T>(path: string, display: string, fn: () => Promise<T>, waitSeconds: number): Promise<T> {
  const deadline = Date.now() + waitSeconds * 1000;
  let fd: number;
  for (;;) {
    try {
      fd = acquireFile(path, display);
      break;
    } catch (e) {
      if ((e as BridgeError).code !== 'LOCK_HELD' || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

function acquireFile(path: string, display: string): number {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
      return fd;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwner(path);
      if (owner && owner.host === hostname() && !isAlive(owner.pid)) {
        // The previous owner was killed: its lock is stale.
        try {
          unlinkSync(path);
        } catch {
          // someone else removed it first
        }
        continue;
      }
      throw new BridgeError(
        'LOCK_HELD',
        `another mlmd-bridge migration (pid ${owner?.pid ?? '?'} on ${owner?.host ?? '?'}) holds the lock on ${display}`,
        `wait for it to finish; if no such process exists any more, delete ${path}`,
      );
    }
  }
  throw new BridgeError('LOCK_HELD', `could not take the lock file ${path}`);
}

function readOwner(path: string): { pid: number; host: string } | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof v.pid === 'number' ? { pid: v.pid, host: String(v.host ?? '') } : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
