/**
 * drizzle-orm over the project's own connections. drizzle's proxy drivers hand every statement to a
 * callback, which sends it through a Queryable: the pool, transaction, session, retry, cancellation
 * and PostgreSQL rendering of connection.ts stay the one way to a database, and drizzle builds and
 * maps the statements.
 *
 * One code path serves three dialects: queries are written against the PostgreSQL flavour of the
 * tables and of drizzle's builder (`Orm`, db/table-spec.ts), and on MySQL or SQLite the same calls
 * run on that dialect's builder and tables, which offer the same select/insert/update/delete
 * methods. What differs between the dialects (upserts) goes through helpers here.
 */
import { DrizzleQueryError, type SQL, sql } from 'drizzle-orm';
import { drizzle as mysqlProxy, type MySqlRemoteDatabase } from 'drizzle-orm/mysql-proxy';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { PgRemoteDatabase } from 'drizzle-orm/pg-proxy';
import { drizzle as pgProxy } from 'drizzle-orm/pg-proxy';
import { drizzle as sqliteProxy } from 'drizzle-orm/sqlite-proxy';
import type { Param, Queryable } from './connection.ts';

/**
 * The error a statement failed with, as the connection layer threw it. drizzle wraps every failure of
 * its statements in a DrizzleQueryError whose message is the SQL text and whose `code` is gone;
 * whoever decides by the error (a lock conflict to retry, a lost connection, a BridgeError to report)
 * reads the one beneath.
 */
export function statementError(e: unknown): unknown {
  return e instanceof DrizzleQueryError && e.cause !== undefined ? e.cause : e;
}

/** drizzle's query builder on one Queryable, typed as PostgreSQL's (see above). */
export type Orm = PgRemoteDatabase;

const cache = new WeakMap<Queryable, Orm>();

/** The drizzle database that sends its statements through `q` (a pool, a transaction or a session). */
export function orm(q: Queryable): Orm {
  let db = cache.get(q);
  if (!db) {
    db = build(q);
    cache.set(q, db);
  }
  return db;
}

function build(q: Queryable): Orm {
  const params = (p: unknown[]) => p as Param[];
  switch (q.dialect) {
    case 'postgres':
      return pgProxy(async (text, p, method) => ({ rows: method === 'all' ? await q.values(text, params(p)) : await q.all(text, params(p)) }));
    case 'mysql':
      return mysqlProxy(async (text, p, method) => {
        if (method === 'all') return { rows: await q.values(text, params(p)) };
        const { changes } = await q.run(text, params(p));
        // drizzle's MySQL session reads the outcome from the first row, as mysql2 returns a ResultSetHeader.
        return { rows: [{ insertId: 0, affectedRows: changes }] };
      }) as unknown as Orm;
    case 'sqlite':
      return sqliteProxy(async (text, p, method) => {
        switch (method) {
          case 'run':
            await q.run(text, params(p));
            return { rows: [] };
          case 'get':
            return { rows: (await q.values(text, params(p)))[0] ?? [] };
          default:
            return { rows: await q.values(text, params(p)) };
        }
      }) as unknown as Orm;
  }
}

/**
 * `INSERT … ON DUPLICATE KEY UPDATE` (MySQL) or `ON CONFLICT (key) DO UPDATE` (PostgreSQL, SQLite)
 * as the SET list of an upsert: each column takes the value the insert proposed.
 */
export function proposed(q: Pick<Queryable, 'dialect'>, column: string): SQL {
  return q.dialect === 'mysql' ? sql`values(${sql.identifier(column)})` : sql`excluded.${sql.identifier(column)}`;
}

type AnyTable = Parameters<Orm['insert']>[0];
type Row<T extends AnyTable> = T['$inferInsert'];

/**
 * Inserts `rows`, leaving out those whose primary or unique key is taken already (no error):
 * MySQL's INSERT IGNORE, ON CONFLICT DO NOTHING elsewhere.
 */
export async function insertOrIgnore<T extends AnyTable>(q: Queryable, table: T, rows: Row<T>[]): Promise<void> {
  if (rows.length === 0) return;
  const db = orm(q);
  if (q.dialect === 'mysql') await (db as unknown as MySqlRemoteDatabase).insert(table as never).ignore().values(rows as never);
  else await db.insert(table).values(rows).onConflictDoNothing();
}

/** Inserts `rows`; a row whose `key` exists takes the values of `set` instead (proposed(q, column) names the row's own). */
export async function upsert<T extends AnyTable>(q: Queryable, table: T, rows: Row<T>[], key: PgColumn[], set: Record<string, SQL>): Promise<void> {
  if (rows.length === 0) return;
  const db = orm(q);
  if (q.dialect === 'mysql') await (db as unknown as MySqlRemoteDatabase).insert(table as never).values(rows as never).onDuplicateKeyUpdate({ set });
  else await db.insert(table).values(rows).onConflictDoUpdate({ target: key, set });
}
