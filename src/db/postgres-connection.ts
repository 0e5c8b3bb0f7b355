/**
 * A PostgreSQL database through node-postgres: a pool whose sessions start read-only when asked,
 * values parsed as the other dialects give them, and every statement rendered from the project's
 * backtick/? spelling (postgres-text.ts).
 */
import pg from 'pg';
import type { Db, OpenOptions, Param, Queryable } from './connection.ts';
import { BridgeError } from '../errors.ts';
import { connectionError } from './connection-error.ts';
import { pooledDb } from './pooled-db.ts';
import { trackPool } from './pool-use.ts';
import { foldName, renderForPostgres } from './postgres-text.ts';
import type { DbTarget } from './url.ts';

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

const ignoreHeldConnectionError = (): void => undefined;

/**
 * mlmd-bridge never cancels a statement on PostgreSQL itself, so 57014 (query_canceled) is the server's
 * doing: the role's or database's statement_timeout, or someone's pg_cancel_backend. Either stops the
 * command, with the setting to change named; any other error passes unchanged.
 */
function cancelledByServer(e: unknown, target: Extract<DbTarget, { dialect: 'postgres' }>): unknown {
  const err = e as { code?: string; message?: string };
  if (err.code !== '57014') return e;
  const timeout = /statement timeout/i.test(err.message ?? '');
  return new BridgeError(
    'CONNECTION',
    `the PostgreSQL server at ${target.display} cancelled a statement (57014: ${err.message})`,
    timeout
      ? `the statement_timeout set for the role or database is shorter than mlmd-bridge's statements take: lift it for this role (ALTER ROLE "${target.user}" SET statement_timeout = 0) or run as a role without one, then run the command again`
      : 'someone cancelled it on the server (pg_cancel_backend); run the command again',
    { cause: e },
  );
}

export async function openPostgres(target: Extract<DbTarget, { dialect: 'postgres' }>, options: OpenOptions): Promise<Db> {
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
  const max = options.poolSize ?? 4;
  const untrackPool = trackPool(() => ({ role, max, open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }));
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    untrackPool();
    await pool.end().catch(() => undefined);
    throw connectionError(role, target, e);
  }
  const fold = options.foldIdentifiers ?? false;
  const query = (c: pg.Pool | pg.PoolClient, config: pg.QueryConfig | pg.QueryArrayConfig) => c.query(config as pg.QueryConfig).catch((e: unknown) => Promise.reject(cancelledByServer(e, target)));
  const on = (c: pg.Pool | pg.PoolClient): Queryable => ({
    dialect: 'postgres',
    storedName: fold ? foldName : (name) => name,
    async all<T>(sql: string, params: readonly Param[] = []) {
      const res = await query(c, { text: renderForPostgres(sql, fold), values: params as unknown[] });
      return res.rows as T[];
    },
    async values(sql: string, params: readonly Param[] = []) {
      const res = await query(c, { text: renderForPostgres(sql, fold), values: params as unknown[], rowMode: 'array' });
      return res.rows as unknown[][];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const res = await query(c, { text: renderForPostgres(sql, fold), values: params as unknown[] });
      return { changes: res.rowCount ?? 0 };
    },
  });
  return pooledDb(target, on(pool), on, {
    acquire: async () => {
      const c = await pool.connect();
      // The pool listens for errors only on idle connections. One held by a transaction or a session
      // (the migration lock's) that the server ends between statements (pg_terminate_backend, a
      // restart) would otherwise end the process; its next statement fails with the reason instead.
      c.on('error', ignoreHeldConnectionError);
      return c;
    },
    query: (c, sql) => c.query(sql),
    // release(true) closes the connection instead of handing it to the next caller.
    release: (c, broken) => {
      c.off('error', ignoreHeldConnectionError);
      c.release(broken);
    },
    end: () => {
      untrackPool();
      return pool.end();
    },
  });
}

/**
 * CREATE DATABASE, from the server's maintenance database `postgres`, unless the database can be
 * connected to already (a role may own its database and still not be let into `postgres`).
 */
async function createPostgresDatabase(base: pg.ClientConfig, target: Extract<DbTarget, { dialect: 'postgres' }>, role: string): Promise<void> {
  const probe = new pg.Client({ ...base, database: target.database });
  const exists = await probe.connect().then(
    () => true,
    (e: { code?: string }) => {
      if (e.code === '3D000') return false; // invalid_catalog_name: no such database
      throw connectionError(role, target, e);
    },
  );
  await probe.end().catch(() => undefined);
  if (exists) return;
  const c = new pg.Client({ ...base, database: 'postgres' });
  try {
    await c.connect();
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
