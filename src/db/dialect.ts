/**
 * The few places where SQL text differs between the dialects beyond what all accept: quoting an
 * identifier, pinning the index a statement must use, and writing a value as a literal.
 */
import type { Param, Queryable } from './connection.ts';

/**
 * A name quoted for a statement: backticks on MySQL, and on PostgreSQL too, where the connection
 * renders them (postgres-text.ts: double quotes, lower case where the schema was created unquoted);
 * double quotes on SQLite.
 */
export function quoteIdent(db: Pick<Queryable, 'dialect'>, name: string): string {
  return db.dialect === 'sqlite' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``;
}

/**
 * ` FORCE INDEX (…)` on MySQL, nothing on SQLite and PostgreSQL (whose planners take no hints and
 * have no such blind spot). MySQL picks a plan for an IN list of more than
 * `eq_range_index_dive_limit` (200) values from index statistics, which a bulk load leaves stale,
 * and then scans the whole table.
 */
export function forceIndex(db: Pick<Queryable, 'dialect'>, index: string): string {
  return db.dialect === 'mysql' ? ` FORCE INDEX (${index === 'PRIMARY' ? 'PRIMARY' : quoteIdent(db, index)})` : '';
}

/** What a quoted literal would read differently under NO_BACKSLASH_ESCAPES: the backslash, and NUL (written with one). */
const MODE_DEPENDENT = /[\0\\]/;
const QUOTES = /'/g;

/**
 * A value as MySQL/MariaDB literal text, for statements too large to format through placeholders.
 * A quote is doubled and every other character stands for itself, newlines and double quotes
 * included: JSON columns are full of double quotes, and escaping those too (as general-purpose
 * escapers do) made formatting the bulk inserts one of migrate's largest costs in time and garbage.
 * A string holding a backslash or NUL goes as hex with its character set instead, so that no value
 * depends on whether the server's sql_mode has NO_BACKSLASH_ESCAPES.
 */
export function mysqlLiteral(v: Param): string {
  if (v === null) return 'NULL';
  switch (typeof v) {
    case 'string':
      if (MODE_DEPENDENT.test(v)) return `_utf8mb4 X'${Buffer.from(v, 'utf8').toString('hex')}'`;
      return v.includes("'") ? `'${v.replace(QUOTES, "''")}'` : `'${v}'`;
    case 'number':
      // NaN and the infinities have no SQL literal; a placeholder would have sent them as bare words.
      if (!Number.isFinite(v)) throw new Error(`${v} cannot be written to MySQL (no such SQL number)`);
      return String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'TRUE' : 'FALSE';
    default:
      return `X'${v.toString('hex')}'`;
  }
}
