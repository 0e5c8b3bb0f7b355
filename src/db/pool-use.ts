/**
 * How busy each open MySQL/PostgreSQL connection pool is, for the metrics endpoint: every pool
 * registers a reader when it opens and removes it when it closes, so the metrics layer reads
 * them without the database layer knowing about metrics.
 */
export interface PoolUse {
  /** "KFP database", "MLMD database". */
  role: string;
  /** Most connections the pool opens. */
  max: number;
  /** Connections open now. */
  open: number;
  /** Open connections not lent out. */
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

const readers = new Set<() => PoolUse>();

/** Registers a pool's reader; returns the function that removes it (call it when the pool closes). */
export function trackPool(read: () => PoolUse): () => void {
  readers.add(read);
  return () => readers.delete(read);
}

export function poolUses(): PoolUse[] {
  return [...readers].map((read) => read());
}

/**
 * mysql2's Pool has no public counts: these are its own fields (stable since mysql2 1.x), read
 * defensively so a release that renames them reports zeros rather than failing a scrape.
 */
export function mysqlPoolUse(pool: object, role: string, max: number): PoolUse {
  // mysql2/promise's pool wraps the callback pool that holds the connections.
  const p = ((pool as { pool?: object }).pool ?? pool) as { _allConnections?: { length: number }; _freeConnections?: { length: number }; _connectionQueue?: { length: number } };
  return { role, max, open: p._allConnections?.length ?? 0, idle: p._freeConnections?.length ?? 0, waiting: p._connectionQueue?.length ?? 0 };
}
