/**
 * Statements on a MySQL/MariaDB pool, for servers that read for a long time (the shim):
 * - a read that fails because the server dropped its connection (a restart, a KILL, an idle
 *   timeout, a failover) is retried once on a connection that answers a ping;
 * - when that fails too the database is unreachable: the error says so (BridgeError CONNECTION),
 *   and the owner hears of it once when the outage begins and once when it ends, not per statement;
 * - a statement issued under an abort signal (see cancel.ts) is stopped with KILL QUERY when the
 *   signal aborts, and a cancelled caller starts no new statement.
 * Writes are not retried: only a read is known to be safe to send twice.
 */
import mysql from 'mysql2/promise';
import { BridgeError } from '../errors.ts';
import { querySignal, throwIfAborted } from './cancel.ts';
import type { DbTarget } from './url.ts';

export interface AvailabilityChange {
  available: boolean;
  /** Why the database is unreachable (when `available` is false). */
  reason?: string;
}

export type AvailabilityListener = (change: AvailabilityChange) => void;

/** Error codes of a connection that is gone, as opposed to a statement that failed on a live one. */
const LOST_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);
/** 1053 server shutdown, 1927 connection killed (MariaDB), 2006 gone away, 2013 lost during query. */
const LOST_ERRNOS = new Set([1053, 1927, 2006, 2013]);

export function isConnectionLost(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, errno, fatal } = e as { code?: unknown; errno?: unknown; fatal?: unknown };
  if (typeof code === 'string' && LOST_CODES.has(code)) return true;
  if (typeof errno === 'number' && LOST_ERRNOS.has(errno)) return true;
  // mysql2 marks every error that ends a connection fatal ("Can't add new command when connection is in closed state" has no code).
  return fatal === true && (code === undefined || typeof code === 'string');
}

type Rows = unknown;
/** A statement's text, or its text with query options (rowsAsArray for drizzle's reads). */
type Statement = string | mysql.QueryOptions;

export class PooledStatements {
  private down = false;
  private killer: Promise<mysql.Connection> | undefined;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly killerOptions: mysql.ConnectionOptions,
    private readonly role: string,
    private readonly target: DbTarget,
    private readonly poolSize: number,
    private readonly onAvailability?: AvailabilityListener,
  ) {}

  /** A read: retried once on a fresh connection if the server dropped the one it ran on. */
  read(sql: Statement, params: readonly unknown[]): Promise<Rows> {
    return this.statement(sql, params, true);
  }

  /** A write: never retried (it may have been applied before the connection dropped). */
  write(sql: Statement, params: readonly unknown[]): Promise<Rows> {
    return this.statement(sql, params, false);
  }

  private async statement(sql: Statement, params: readonly unknown[], retry: boolean): Promise<Rows> {
    const signal = querySignal();
    throwIfAborted(signal);
    for (let fresh = false; ; fresh = true) {
      try {
        return this.succeeded(await this.once(sql, params, signal, fresh));
      } catch (e) {
        throwIfAborted(signal);
        if (!isConnectionLost(e)) throw e;
        if (fresh || !retry) throw this.unreachable(e);
      }
    }
  }

  async close(): Promise<void> {
    const killer = this.killer;
    this.killer = undefined;
    if (killer) await killer.then((c) => c.end()).catch(() => undefined);
  }

  private succeeded(rows: Rows): Rows {
    if (this.down) {
      this.down = false;
      this.onAvailability?.({ available: true });
    }
    return rows;
  }

  private unreachable(e: unknown): BridgeError {
    const err = e as { code?: string; message?: string };
    const why = err.code ? `${err.code}: ${err.message}` : String(err.message ?? e);
    if (!this.down) {
      this.down = true;
      this.onAvailability?.({ available: false, reason: why });
    }
    return new BridgeError('CONNECTION', `the ${this.role} at ${this.target.display} cannot be reached (${why})`, 'check that the database server is up and reachable', {
      cause: e,
    });
  }

  private async once(statement: Statement, params: readonly unknown[], signal: AbortSignal | undefined, fresh: boolean): Promise<Rows> {
    const sql: mysql.QueryOptions = typeof statement === 'string' ? { sql: statement } : statement;
    // The common case keeps the pool's own one-call path.
    if (!signal && !fresh) return (await this.pool.query(sql, params as unknown[]))[0];
    const c = await this.connection(fresh);
    let kill: Promise<void> | undefined;
    const onAbort = () => {
      kill = this.killQuery(c.threadId);
    };
    try {
      throwIfAborted(signal);
      signal?.addEventListener('abort', onAbort, { once: true });
      const [rows] = await c.query(sql, params as unknown[]);
      // A killed SLEEP or a statement that finished as the kill arrived still returns rows.
      throwIfAborted(signal);
      return rows;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (kill) {
        // Held until the kill has run, so it can never reach a statement of whoever takes the connection next.
        await kill;
        c.destroy();
      } else c.release();
    }
  }

  /** A pooled connection; `fresh` ones have answered a ping (a dropped one is let go and the next tried). */
  private async connection(fresh: boolean): Promise<mysql.PoolConnection> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.pool.getConnection();
      if (!fresh) return c;
      try {
        await c.ping();
        return c;
      } catch (e) {
        c.destroy();
        if (attempt >= this.poolSize || !isConnectionLost(e)) throw e;
      }
    }
  }

  private async killQuery(threadId: number): Promise<void> {
    try {
      this.killer ??= mysql.createConnection(this.killerOptions).then((c) => {
        // An idle side connection the server drops must not become an unhandled 'error' event.
        c.on('error', () => {
          this.killer = undefined;
        });
        return c;
      });
      const killer = await this.killer;
      await killer.query(`KILL QUERY ${Number(threadId)}`);
    } catch {
      // The statement ends by itself anyway; a broken side connection is opened again next time.
      const broken = this.killer;
      this.killer = undefined;
      await broken?.then((c) => c.destroy()).catch(() => undefined);
    }
  }
}
