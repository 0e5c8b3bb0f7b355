/**
 * retryOnLockConflict (src/db/retry.ts) with genuine SQLite lock conflicts: another connection holds
 * the write lock, so a writer that may not wait gets SQLITE_BUSY. Counted in attempts, not time.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrizzleQueryError } from 'drizzle-orm';
import { isLockConflict, retryOnLockConflict } from '../src/db/retry.ts';
import { toRpcError } from '../src/shim/status.ts';
import { BridgeError } from '../src/errors.ts';
import { tempSqlite, type TempDatabase } from './helpers/databases.ts';

describe('retryOnLockConflict', () => {
  let temp: TempDatabase;
  let holder: Database.Database;
  let writer: Database.Database;

  beforeAll(async () => {
    temp = await tempSqlite('retry');
    const path = temp.url.slice('sqlite:'.length);
    holder = new Database(path);
    holder.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    writer = new Database(path, { timeout: 0 });
  });
  afterAll(async () => {
    holder.close();
    writer.close();
    await temp.drop();
  });

  it('tries again after a lock conflict, and the work gets done once the lock is free', async () => {
    holder.exec('BEGIN IMMEDIATE');
    const seen: unknown[] = [];
    let attempts = 0;
    const result = await retryOnLockConflict(async () => {
      attempts++;
      if (attempts === 3) holder.exec('COMMIT'); // the other writer finishes meanwhile
      try {
        writer.prepare('INSERT INTO t (id) VALUES (1)').run();
      } catch (e) {
        seen.push(e);
        throw e;
      }
      return 'written';
    });
    expect(result).toBe('written');
    expect(attempts).toBe(3);
    expect(seen.map((e) => (e as { code: string }).code)).toEqual(['SQLITE_BUSY', 'SQLITE_BUSY']);
    expect(seen.every(isLockConflict)).toBe(true);
  });

  it('gives up after five attempts and throws the conflict itself', async () => {
    holder.exec('BEGIN IMMEDIATE');
    let attempts = 0;
    try {
      await expect(
        retryOnLockConflict(async () => {
          attempts++;
          writer.prepare('INSERT INTO t (id) VALUES (2)').run();
        }),
      ).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    } finally {
      holder.exec('ROLLBACK');
    }
    expect(attempts).toBe(5);
  });

  it('throws any other error at once, unchanged', async () => {
    let attempts = 0;
    const duplicate = retryOnLockConflict(async () => {
      attempts++;
      writer.prepare('INSERT INTO t (id) VALUES (1)').run(); // already there
    });
    await expect(duplicate).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(attempts).toBe(1);
  });

  it('knows MySQL lock conflicts by errno, and nothing else', () => {
    expect(isLockConflict(Object.assign(new Error('Deadlock found'), { errno: 1213 }))).toBe(true);
    expect(isLockConflict(Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205 }))).toBe(true);
    expect(isLockConflict(Object.assign(new Error('Duplicate entry'), { errno: 1062 }))).toBe(false);
    expect(isLockConflict(Object.assign(new Error('locked'), { code: 'SQLITE_BUSY_SNAPSHOT' }))).toBe(true);
    expect(isLockConflict('SQLITE_BUSY')).toBe(false);
  });

  it('sees a lock conflict or a lost connection beneath drizzle\'s wrapper, which hides the driver\'s code (PostgreSQL)', () => {
    // What drizzle throws when the statement it sent fails: its own error, the driver's as the cause.
    const wrapped = (cause: unknown) => new DrizzleQueryError('update "tasks" set "State" = $1', ['x'], cause as Error);
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(isLockConflict(wrapped(deadlock))).toBe(true);
    expect(isLockConflict(wrapped(Object.assign(new Error('duplicate key'), { code: '23505' })))).toBe(false);
    expect(toRpcError(wrapped(deadlock)).status).toBe('ABORTED');
    const lost = new BridgeError('CONNECTION', 'the connection to the KFP database was lost');
    expect(toRpcError(wrapped(lost))).toMatchObject({ status: 'UNAVAILABLE', message: lost.message });
  });
});
