/**
 * The SQLite migration lock file (src/load/lock.ts): a lock whose owner on this host is dead is taken
 * over at once, so a killed migration can be re-run straight away; a live owner, or one on another
 * host whose liveness cannot be checked, is refused with LOCK_HELD.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/db/connection.ts';
import { isMigrationLocked, withMigrationLock } from '../src/load/lock.ts';
import { tempSqlite, type TempDatabase } from './helpers/databases.ts';

describe('SQLite migration lock file', () => {
  let temp: TempDatabase;
  let db: Db;
  let lockPath: string;
  /** The pid of a process that has exited. */
  let deadPid: number;

  beforeAll(async () => {
    temp = await tempSqlite('lock');
    db = await openDb(temp.url, { create: true });
    lockPath = `${temp.url.slice('sqlite:'.length)}.mlmd-bridge.lock`;
    deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    expect(() => process.kill(deadPid, 0)).toThrow(); // gone, and (for this test's few milliseconds) not reused
  });
  afterAll(async () => {
    await db.close();
    await temp.drop();
  });

  const owner = (pid: number, host = hostname()) => writeFileSync(lockPath, JSON.stringify({ pid, host }));

  it('is held while the work runs and removed after', async () => {
    expect(await isMigrationLocked(db)).toBe(false);
    const during = await withMigrationLock(db, async () => [existsSync(lockPath), await isMigrationLocked(db)]);
    expect(during).toEqual([true, true]);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('takes over at once from an owner on this host that is dead (a killed migration)', async () => {
    owner(deadPid);
    expect(await isMigrationLocked(db)).toBe(false);
    expect(await withMigrationLock(db, async () => 'ran')).toBe('ran');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('refuses while the owner lives, and leaves its lock alone', async () => {
    owner(process.pid);
    expect(await isMigrationLocked(db)).toBe(true);
    await expect(withMigrationLock(db, async () => 'ran')).rejects.toMatchObject({
      code: 'LOCK_HELD',
      message: `another mlmd-bridge migration (pid ${process.pid} on ${hostname()}) holds the lock on ${db.target.display}`,
    });
    expect(existsSync(lockPath)).toBe(true);
  });

  it('refuses an owner on another host even when the pid means nothing here, and says how to clear it', async () => {
    owner(deadPid, `not-${hostname()}`);
    expect(await isMigrationLocked(db)).toBe(true);
    await expect(withMigrationLock(db, async () => 'ran')).rejects.toMatchObject({ code: 'LOCK_HELD', hint: `wait for it to finish; if no such process exists any more, delete ${lockPath}` });
    expect(existsSync(lockPath)).toBe(true);
  });
});
