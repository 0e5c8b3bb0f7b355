/**
 * Throw-away databases for integration tests: a uniquely named MariaDB or PostgreSQL database on
 * the local server, or a SQLite file in a fresh temp directory. Each returns its URL and a `drop()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { type Db, openDb, type OpenOptions, type Param, type Queryable } from '../../src/db/connection.ts';
import { MLMD_IDENTIFIERS } from '../../src/extract/schema-version.ts';

export interface TempDatabase {
  url: string;
  drop(): Promise<void>;
}

export const MARIADB_HOST = process.env.MB_TEST_MYSQL_HOST ?? '127.0.0.1';
export const MARIADB_PORT = Number(process.env.MB_TEST_MYSQL_PORT ?? 3306);
export const MARIADB_USER = process.env.MB_TEST_MYSQL_USER ?? 'root';
export const POSTGRES_HOST = process.env.MB_TEST_PG_HOST ?? '127.0.0.1';
export const POSTGRES_PORT = Number(process.env.MB_TEST_PG_PORT ?? 5432);
export const POSTGRES_USER = process.env.MB_TEST_PG_USER ?? 'postgres';

function safePrefix(prefix: string): string {
  const cleaned = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (cleaned === '') throw new Error('a temporary database needs a non-empty prefix');
  return cleaned;
}

/**
 * Creates `mb_<prefix>_<random hex>` on a local server; `drop()` removes it through `dropSql`, on a
 * separate server-level connection (the database itself may already be half gone).
 */
async function tempServerDatabase(prefix: string, urlOf: (name: string) => string, dropSql: (name: string) => Promise<void>): Promise<TempDatabase> {
  const name = `mb_${safePrefix(prefix)}_${randomBytes(4).toString('hex')}`;
  const url = urlOf(name);
  const db = await openDb(url, { create: true, role: 'test database' });
  await db.close();
  return { url, drop: () => dropSql(name) };
}

/** A throw-away database on the local MariaDB. */
export function tempMariaDb(prefix: string): Promise<TempDatabase> {
  return tempServerDatabase(
    prefix,
    (name) => `mysql://${MARIADB_USER}@${MARIADB_HOST}:${MARIADB_PORT}/${name}`,
    async (name) => {
      const c = await mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER });
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  );
}

/** A throw-away database on the local PostgreSQL. */
export function tempPostgres(prefix: string): Promise<TempDatabase> {
  return tempServerDatabase(
    prefix,
    (name) => `postgres://${POSTGRES_USER}@${POSTGRES_HOST}:${POSTGRES_PORT}/${name}`,
    async (name) => {
      const c = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: 'postgres' });
      await c.connect();
      try {
        // WITH (FORCE): a connection a failed test left open must not keep the database alive.
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  );
}

/** Names a SQLite file in a fresh `mb-` temp directory (the file is created by whoever opens it with `create`). */
export async function tempSqlite(prefix: string): Promise<TempDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-'));
  const path = join(dir, `${safePrefix(prefix)}.db`);
  return {
    url: `sqlite:${path}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The dialects the whole tool runs on, MLMD and KFP side alike, for `describe.each`. */
export const DIALECTS = [
  { dialect: 'sqlite' as const, temp: tempSqlite },
  { dialect: 'mysql' as const, temp: tempMariaDb },
];

/** The dialects a KFP database (the target of migrate, verify, rollback, the shim's --kfp) runs on: PostgreSQL too. */
export const KFP_DIALECTS = [...DIALECTS, { dialect: 'postgres' as const, temp: tempPostgres }];

/** The dialects an MLMD database (read by extract, plan, migrate, verify and the shim's archive) and `seed` run on. */
export const MLMD_DIALECTS = [...DIALECTS, { dialect: 'postgres' as const, temp: tempPostgres }];

/** `db` with every read (`all`, and `values`, drizzle's) reported to `onRead` first: for tests that count or pick out the statements a component sends. */
export function watchReads<T extends Pick<Queryable, 'all' | 'values'>>(
  db: T,
  onRead: (sql: string, params: readonly Param[]) => unknown,
): T {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'all' || prop === 'values') {
        const read = prop;
        return async (sql: string, params?: readonly Param[]) => {
          // A watcher may hold a read back (returning a promise) to order concurrent calls in a test.
          await onRead(sql, params ?? []);
          return read === 'all' ? target.all(sql, params) : target.values(sql, params);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** Runs `fn` on a read-only connection to `url`, closed afterwards. */
export function withDb<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  return withReadOnly(url, {}, fn);
}

/** `withDb` for an MLMD database, whose unquoted table names PostgreSQL keeps in lower case (MLMD_IDENTIFIERS). */
export function withMlmdDb<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  return withReadOnly(url, MLMD_IDENTIFIERS, fn);
}

async function withReadOnly<T>(url: string, options: OpenOptions, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(url, { ...options, readOnly: true });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
