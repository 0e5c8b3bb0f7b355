/** Holding the migration lock as another mlmd-bridge process would, for the tests of LOCK_HELD. */
import { rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parseDbUrl } from '../../src/db/url.ts';
import { advisoryKey, lockNameFor } from '../../src/load/lock.ts';

/** MySQL: GET_LOCK on its own connection; PostgreSQL: the advisory lock on its own connection; SQLite: the lock file naming this (live) process. Returns the release. */
export async function holdLock(kfpUrl: string): Promise<() => Promise<void>> {
  const target = parseDbUrl(kfpUrl);
  if (target.dialect === 'sqlite') {
    const path = `${target.path}.mlmd-bridge.lock`;
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname() }));
    return async () => rmSync(path, { force: true });
  }
  if (target.dialect === 'postgres') {
    const c = new pg.Client({ host: target.host, port: target.port, user: target.user, password: target.password, database: target.database });
    await c.connect();
    const got = await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS got', [advisoryKey(lockNameFor(target.database))]);
    if (got.rows[0]?.got !== true) throw new Error('holdLock: the advisory lock was not free');
    return async () => {
      await c.end();
    };
  }
  const c = await mysql.createConnection({ host: target.host, port: target.port, user: target.user, password: target.password });
  await c.query('SELECT GET_LOCK(?, 0)', [lockNameFor(target.database)]);
  return async () => {
    await c.end();
  };
}
