import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BridgeError } from '../errors.ts';
import { foldName, renderForPostgres } from './postgres-text.ts';
import { type DbTarget, type Dialect, parseDbUrl } from './url.ts';

export type Row = Record<string, unknown>;
export type Param = string | number | bigint | null | Buffer | boolean;

/** What every query surface offers: a pooled handle, a pinned session and a transaction alike. */
export interface Queryable {
  readonly dialect: Dialect;
  /** How the database stores the name a statement writes as `name` (lower case where PostgreSQL folds it). */
  storedName(name: string): string;
  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  run(sql: string, params?: readonly Param[]): Promise<{ changes: number }>;
}

export interface Db extends Queryable {
  readonly target: DbTarget;
  /** Runs fn on one connection inside BEGIN/COMMIT; rolls back if fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs fn on one pinned connection (session state such as advisory locks lives there). */
  session<T>(fn: (s: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The MLMD source is opened read-only: the database itself refuses writes. */
  readOnly?: boolean;
  /** Create the database (MySQL, PostgreSQL) or file (SQLite) when missing. Only `seed` and tests ask for this. */
  create?: boolean;
  /** Connections in the MySQL or PostgreSQL pool. */
  poolSize?: number;
  /**
   * PostgreSQL only: the schema was created with unquoted names, which PostgreSQL stores in lower
   * case, so the statements' backtick-quoted names are sent lower-cased (postgres-text.ts).
   */
  foldIdentifiers?: boolean;
  /** A name for messages ("MLMD database", "KFP database"). */
  role?: string;
}

const asWritten = (name: string) => name;

/** The one connection factory. */
export async function openDb(url: string | DbTarget, options: OpenOptions = {}): Promise<Db> {
  const target = typeof url === 'string' ? parseDbUrl(url, options.role ? `${options.role} URL` : undefined) : url;
  switch (target.dialect) {
    case 'sqlite':
      return openSqlite(target, options);
    case 'mysql':
      return openMysql(target, options);
    case 'postgres':
      return openPostgres(target, options);
  }
}

function openSqlite(target: Extract<DbTarget, { dialect: 'sqlite' }>, options: OpenOptions): Db {
  const role = options.role ?? 'database';
  if (!options.create && !existsSync(target.path)) {
    throw new BridgeError('CONNECTION', `the ${role} file ${target.path} does not exist`, 'check the path in the sqlite: URL');
  }
  if (options.create) mkdirSync(dirname(target.path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(target.path, { readonly: options.readOnly ?? false, fileMustExist: !options.create });
    db.pragma('busy_timeout = 10000');
    if (!options.readOnly) {
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL still never corrupts the database; a power cut may lose the last commits,
      // which a re-run of the (resumable) migration writes again.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    }
  } catch (e) {
    throw new BridgeError('CONNECTION', `cannot open the ${role} ${target.display}: ${(e as Error).message}`, undefined, { cause: e });
  }
  // One connection: concurrent transactions take turns instead of interleaving their statements.
  let queue: Promise<unknown> = Promise.resolve();
  const q: Queryable = {
    dialect: 'sqlite',
    storedName: asWritten,
    async all<T>(sql: string, params: readonly Param[] = []) {
      return db.prepare(sql).all(...params.map(sqliteParam)) as T[];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const stmt = db.prepare(sql);
      if (!stmt.reader) return { changes: stmt.run(...params.map(sqliteParam)).changes };
      stmt.all(...params.map(sqliteParam));
      return { changes: 0 };
    },
  };
  return {
    ...q,
    target,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const run = async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(q);
          db.exec('COMMIT');
          return out;
        } catch (e) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw e;
        }
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    async session<T>(fn: (s: Queryable) => Promise<T>) {
      return fn(q);
    },
    async close() {
      db.close();
    },
  };
}

function sqliteParam(p: Param): unknown {
  return typeof p === 'boolean' ? (p ? 1 : 0) : p;
}

async function openMysql(target: Extract<DbTarget, { dialect: 'mysql' }>, options: OpenOptions): Promise<Db> {
  const role = options.role ?? 'database';
  const base = {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    // JSON columns come back as their text (MySQL 8 and MariaDB's JSON alias would be parsed),
    // dates as strings, BIGINTs as numbers: ids and epoch seconds fit in 2^53.
    jsonStrings: true,
    dateStrings: true,
    multipleStatements: false,
    charset: 'utf8mb4_unicode_ci',
    // A statement without values (insertMany's bulk inserts, whose values are literals) goes as it
    // is: mysql2 would scan each of its megabytes for placeholders to fill.
    queryFormat: (sql: string, values: unknown): string => (values === undefined || (Array.isArray(values) && values.length === 0) ? sql : mysql.format(sql, values as mysql.SqlValue[])),
  } as const;
  if (options.create) {
    try {
      const c = await mysql.createConnection(base);
      await c.query(`CREATE DATABASE IF NOT EXISTS \`${target.database.replace(/`/g, '``')}\` CHARACTER SET utf8mb4`);
      await c.end();
    } catch (e) {
      throw connectionError(role, target, e);
    }
  }
  const pool = mysql.createPool({ ...base, database: target.database, connectionLimit: options.poolSize ?? 4, waitForConnections: true });
  try {
    const c = await pool.getConnection();
    if (options.readOnly) await c.query('SET SESSION TRANSACTION READ ONLY');
    c.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw connectionError(role, target, e);
  }
  if (options.readOnly) {
    pool.on('connection', (c) => {
      // Every pooled connection refuses writes: the MLMD source must never change.
      c.query('SET SESSION TRANSACTION READ ONLY');
    });
  }
  const on = (c: mysql.Pool | mysql.PoolConnection): Queryable => ({
    dialect: 'mysql',
    storedName: asWritten,
    async all<T>(sql: string, params: readonly Param[] = []) {
      const [rows] = await c.query(sql, params as unknown[]);
      return rows as T[];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const [res] = await c.query(sql, params as unknown[]);
      return { changes: (res as { affectedRows?: number }).affectedRows ?? 0 };
    },
  });
  return {
    ...on(pool),
    target,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const c = await pool.getConnection();
      try {
        await c.beginTransaction();
        try {
          const out = await fn(on(c));
          await c.commit();
          return out;
        } catch (e) {
          await c.rollback().catch(() => undefined);
          throw e;
        }
      } finally {
        c.release();
      }
    },
    async session<T>(fn: (s: Queryable) => Promise<T>) {
      const c = await pool.getConnection();
      try {
        return await fn(on(c));
      } finally {
        c.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

const PG_TYPE = { INT8: 20, NUMERIC: 1700, JSON: 114, JSONB: 3802, DATE: 1082, TIMESTAMP: 1114, TIMESTAMPTZ: 1184 } as const;

/** A BIGINT as a number when it is one exactly, else its text. */
function pgBigint(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** A NUMERIC (SUM's result type, KFP's decimal) as a number when the number reads back as the same value, else its text. */
function pgNumeric(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (Number.isInteger(n)) return Number.isSafeInteger(n) ? n : text;
  const canonical = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  return String(n) === canonical ? n : text;
}

/**
 * Values come back as the other dialects give them: integers and decimals as numbers where they
 * fit, JSON and dates as their text (as mysql2 is asked to), booleans as booleans, BYTEA as Buffers.
 */
const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    switch (oid) {
      case PG_TYPE.INT8:
        return pgBigint;
      case PG_TYPE.NUMERIC:
        return pgNumeric;
      case PG_TYPE.JSON:
      case PG_TYPE.JSONB:
      case PG_TYPE.DATE:
      case PG_TYPE.TIMESTAMP:
      case PG_TYPE.TIMESTAMPTZ:
        return (text: string) => text;
      default:
        return pg.types.getTypeParser(oid, format ?? 'text');
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
};

async function openPostgres(target: Extract<DbTarget, { dialect: 'postgres' }>, options: OpenOptions): Promise<Db> {
  const role = options.role ?? 'database';
  const base: pg.ClientConfig = {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ssl: target.sslmode === 'disable' ? false : { rejectUnauthorized: target.sslmode !== 'require', ...(target.sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}) },
    types: PG_TYPES,
    connectionTimeoutMillis: 30_000,
    application_name: 'mlmd-bridge',
  };
  if (options.create) await createPostgresDatabase(base, target, role);
  const pool = new pg.Pool({
    ...base,
    database: target.database,
    max: options.poolSize ?? 4,
    // Every session of the pool refuses writes from its first statement: the MLMD source must never change.
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  // A pooled connection the server closed while idle is dropped from the pool; the next query opens
  // another. Without a listener the event would end the process.
  pool.on('error', () => undefined);
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw connectionError(role, target, e);
  }
  const fold = options.foldIdentifiers ?? false;
  const on = (c: pg.Pool | pg.PoolClient): Queryable => ({
    dialect: 'postgres',
    storedName: fold ? foldName : asWritten,
    async all<T>(sql: string, params: readonly Param[] = []) {
      const res = await c.query(renderForPostgres(sql, fold), params as unknown[]);
      return res.rows as T[];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const res = await c.query(renderForPostgres(sql, fold), params as unknown[]);
      return { changes: res.rowCount ?? 0 };
    },
  });
  return {
    ...on(pool),
    target,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const c = await pool.connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        try {
          const out = await fn(on(c));
          await c.query('COMMIT');
          return out;
        } catch (e) {
          // A connection that cannot even roll back is closed rather than handed to the next caller.
          await c.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
          throw e;
        }
      } finally {
        c.release(broken);
      }
    },
    async session<T>(fn: (s: Queryable) => Promise<T>) {
      const c = await pool.connect();
      try {
        return await fn(on(c));
      } finally {
        c.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** CREATE DATABASE from the server's maintenance database, unless the database exists. */
async function createPostgresDatabase(base: pg.ClientConfig, target: Extract<DbTarget, { dialect: 'postgres' }>, role: string): Promise<void> {
  const c = new pg.Client({ ...base, database: 'postgres' });
  try {
    await c.connect();
    const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database]);
    if (rows.length > 0) return;
    // template0 so that concurrent creations do not wait on each other's connections to template1.
    await c.query(`CREATE DATABASE "${target.database.replace(/"/g, '""')}" TEMPLATE template0 ENCODING 'UTF8'`).catch((e: { code?: string }) => {
      // Created meanwhile by someone else: 42P04 duplicate_database, or the catalog's unique index.
      if (e.code !== '42P04' && e.code !== '23505') throw e;
    });
  } catch (e) {
    throw connectionError(role, target, e);
  } finally {
    await c.end().catch(() => undefined);
  }
}

function connectionError(role: string, target: DbTarget, e: unknown): BridgeError {
  const err = e as { code?: string; errno?: number; message?: string };
  const why = err.code ? `${err.code}: ${err.message}` : String(err.message ?? e);
  return new BridgeError('CONNECTION', `cannot connect to the ${role} at ${target.display} (${why})`, connectionHint(target, err), { cause: e });
}

function connectionHint(target: DbTarget, err: { code?: string; errno?: number }): string {
  switch (err.code) {
    case 'ER_BAD_DB_ERROR':
    case '3D000': // invalid_catalog_name
      return 'check the database name in the URL';
    case 'ER_ACCESS_DENIED_ERROR':
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification: no such role, or pg_hba.conf turns it away
      return 'check the user and password in the URL';
    case '42501': // insufficient_privilege: the role may not connect to this database
      if (target.dialect === 'postgres') return `let the role connect: GRANT CONNECT ON DATABASE "${target.database}" TO "${target.user}"`;
  }
  if (err.errno === 1698) return 'check the user and password in the URL';
  return 'check that the server is running and the host and port are right';
}
