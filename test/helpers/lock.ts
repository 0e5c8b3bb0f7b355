/** Holding the migration lock as another mlmd-bridge process would, for the tests of LOCK_HELD. */
import { rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import mysql from 'mysql2/promise';
import { parseDbUrl } from '../../src/db/url.ts';
import { lockNameFor } from '../../src/load/lock.ts';

/** MySQL: GET_LOCK on its own connection; SQLite: the lock file naming this (live) process. Returns the release. */
export async function holdLock(kfpUrl: string): Promise<() => Promise<void>> {
  const target = parseDbUrl(kfpUrl);
  if (target.dialect === 'sqlite') {
    const path = `${target.path}.mlmd-bridge.lock`;
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname() }));
    return async () => rmSync(path, { force: true });
  }
  const c = await mysql.createConnection({ host: target.host, port: target.port, user: target.user, password: target.password });
  await c.query('SELECT GET_LOCK(?, 0)', [lockNameFor(target.database)]);
  return async () => {
    await c.end();
  };
}
