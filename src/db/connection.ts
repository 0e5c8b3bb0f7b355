import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BridgeError } from '../errors.ts';
import { querySignal, throwIfAborted } from './cancel.ts';
import { connectionError } from './connection-error.ts';
import { pooledDb } from './pooled-db.ts';
import { mysqlPoolUse, trackPool } from './pool-use.ts';
import { type AvailabilityListener, PooledStatements } from './pooled-statements.ts';
import { openPostgres } from './postgres-connection.ts';
import { type DbTarget, type Dialect, parseDbUrl } from './url.ts';

export type Row = Record<string, unknown>;
export type Param = string | number | bigint | null | Buffer | boolean;

/** What every query surface offers: a pooled handle, a pinned session and a transaction alike. */
export interface Queryable {
  readonly dialect: Dialect;
  /** How the database stores the name a statement writes as `name` (lower case where PostgreSQL folds it). */
  storedName(name: string): string;
  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  /** Like `all`, each row as an array of its values in column order (what drizzle's query layer maps, db/orm.ts). */
  values(sql: string, params?: readonly Param[]): Promise<unknown[][]>;
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
  /** Told once when the database becomes unreachable and once when it answers again (MySQL/MariaDB pools). */
  onAvailability?: AvailabilityListener;
}

/** `storedName` where the database keeps every name as a statement writes it. */
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
      // Statements run synchronously here (better-sqlite3 offers no interrupt); a cancelled caller starts none.
      throwIfAborted(querySignal());
      return db.prepare(sql).all(...params.map(sqliteParam)) as T[];
    },
    async values(sql: string, params: readonly Param[] = []) {
      throwIfAborted(querySignal());
      return db.prepare(sql).raw(true).all(...params.map(sqliteParam)) as unknown[][];
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
    // No stack captured per statement (2 % of the shim's CPU); errors keep their message and code.
    trace: false,
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
  const untrackPool = trackPool(() => mysqlPoolUse(pool, role, options.poolSize ?? 4));
  try {
    const c = await pool.getConnection();
    if (options.readOnly) await c.query('SET SESSION TRANSACTION READ ONLY');
    c.release();
  } catch (e) {
    untrackPool();
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
    async values(sql: string, params: readonly Param[] = []) {
      const [rows] = await c.query({ sql, rowsAsArray: true }, params as unknown[]);
      return rows as unknown[][];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const [res] = await c.query(sql, params as unknown[]);
      return { changes: (res as { affectedRows?: number }).affectedRows ?? 0 };
    },
  });
  // Statements on the pool itself (not in a transaction or session) survive dropped connections and obey cancellation.
  const pooled = new PooledStatements(pool, { ...base, database: target.database }, role, target, options.poolSize ?? 4, options.onAvailability);
  const shared: Queryable = {
    dialect: 'mysql',
    storedName: asWritten,
    async all<T>(sql: string, params: readonly Param[] = []) {
      return (await pooled.read(sql, params)) as T[];
    },
    async values(sql: string, params: readonly Param[] = []) {
      return (await pooled.read({ sql, rowsAsArray: true }, params)) as unknown[][];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const res = await pooled.write(sql, params);
      return { changes: (res as { affectedRows?: number }).affectedRows ?? 0 };
    },
  };
  return pooledDb(target, shared, on, {
    acquire: () => pool.getConnection(),
    query: (c, sql) => c.query(sql),
    release: (c, broken) => (broken ? c.destroy() : c.release()),
    end: async () => {
      untrackPool();
      await pooled.close();
      await pool.end();
    },
  });
}
