/**
 * The few places where SQL text differs between MySQL/MariaDB and SQLite beyond what both accept:
 * quoting an identifier, and pinning the index a statement must use.
 */
import type { Queryable } from './connection.ts';

export function quoteIdent(db: Pick<Queryable, 'dialect'>, name: string): string {
  return db.dialect === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`;
}

/**
 * ` FORCE INDEX (…)` on MySQL, nothing on SQLite (whose planner has no such blind spot). MySQL picks
 * a plan for an IN list of more than `eq_range_index_dive_limit` (200) values from index statistics,
 * which a bulk load leaves stale, and then scans the whole table.
 */
export function forceIndex(db: Pick<Queryable, 'dialect'>, index: string): string {
  return db.dialect === 'mysql' ? ` FORCE INDEX (${index === 'PRIMARY' ? 'PRIMARY' : quoteIdent(db, index)})` : '';
}
