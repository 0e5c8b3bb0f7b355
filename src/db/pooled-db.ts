/**
 * A Db over a database server's connection pool (MySQL, PostgreSQL): plain statements go to any
 * pooled connection, a transaction or a session takes one of its own for its whole length.
 */
import type { Db, Queryable } from './connection.ts';
import type { DbTarget } from './url.ts';

/** What pooledDb needs of a driver's pool whose connections are `C`. */
export interface ServerPool<C> {
  /** A connection of its own, for a transaction or a pinned session. */
  acquire(): Promise<C>;
  /** A statement without values (BEGIN, COMMIT, ROLLBACK). */
  query(c: C, sql: string): Promise<unknown>;
  /** Back to the pool; closed instead when `broken`. */
  release(c: C, broken: boolean): void;
  end(): Promise<void>;
}

export function pooledDb<C>(target: DbTarget, shared: Queryable, on: (c: C) => Queryable, pool: ServerPool<C>): Db {
  return {
    ...shared,
    target,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const c = await pool.acquire();
      let broken = false;
      try {
        await pool.query(c, 'BEGIN');
        try {
          const out = await fn(on(c));
          await pool.query(c, 'COMMIT');
          return out;
        } catch (e) {
          // A connection that cannot even roll back is closed rather than handed to the next caller.
          await pool.query(c, 'ROLLBACK').catch(() => (broken = true));
          throw e;
        }
      } finally {
        pool.release(c, broken);
      }
    },
    async session<T>(fn: (s: Queryable) => Promise<T>) {
      const c = await pool.acquire();
      try {
        return await fn(on(c));
      } finally {
        pool.release(c, false);
      }
    },
    close: () => pool.end(),
  };
}
