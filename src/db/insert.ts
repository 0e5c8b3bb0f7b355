/**
 * Multi-row INSERT in statements bounded by placeholders and bytes, optionally as an upsert on a
 * key: INSERT … ON DUPLICATE KEY UPDATE (MySQL) or ON CONFLICT DO UPDATE (SQLite, PostgreSQL). Per-statement
 * costs, not row counts, dominate a row-at-a-time load, so every bulk write goes through here.
 * PostgreSQL gets these INSERTs too, not COPY: through a temporary table and INSERT … SELECT, COPY
 * made migrate's writes alone ~30 % faster but migrate no faster (commit 502b16a): the server's time
 * goes to index upkeep, foreign-key checks and conflict probes, which COPY does not spare.
 */
import type { Param, Queryable } from './connection.ts';
import { mysqlLiteral, quoteIdent } from './dialect.ts';

/** Placeholders per statement: well under MySQL's and PostgreSQL's 65,535 and SQLite's 32,766. */
const MAX_PARAMS_PER_STATEMENT = 16_000;
/** Statement text per statement: well under MySQL's default max_allowed_packet (16 MiB; 4 MiB before MySQL 8). */
const MAX_BYTES_PER_STATEMENT = 2_000_000;

/** An upper bound of a value's bytes in the statement: a UTF-16 unit takes up to 3 bytes of UTF-8, escaped binary 2. */
function approxBytes(v: Param): number {
  if (typeof v === 'string') return v.length * 3 + 4;
  if (Buffer.isBuffer(v)) return v.length * 2 + 4;
  return 24;
}

/**
 * Inserts `rows` (values in `columns` order). With a `key`, a row whose key exists updates the other
 * columns, except those in `keep` (written by an insert, left as they are by an update); without a
 * key, a duplicate is an error.
 */
export async function insertMany(
  q: Queryable,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly Param[])[],
  key: readonly string[] | null = null,
  keep: readonly string[] = [],
): Promise<void> {
  if (rows.length === 0) return;
  const quote = (c: string) => quoteIdent(q, c);
  const head = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES `;
  const rowPh = `(${columns.map(() => '?').join(', ')})`;
  const nonKey = key ? columns.filter((c) => !key.includes(c) && !keep.includes(c)) : [];
  let tail = '';
  if (key && nonKey.length > 0) {
    tail =
      q.dialect === 'mysql'
        ? ` ON DUPLICATE KEY UPDATE ${nonKey.map((c) => `${quote(c)} = VALUES(${quote(c)})`).join(', ')}`
        : ` ON CONFLICT(${key.map(quote).join(', ')}) DO UPDATE SET ${nonKey.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`;
  }
  const maxRows = Math.max(1, Math.floor(MAX_PARAMS_PER_STATEMENT / columns.length));
  // MySQL gets the values as literals: mysql2 would otherwise format every placeholder of a
  // multi-megabyte statement through its general escaper. SQLite and PostgreSQL bind them.
  const literal = q.dialect === 'mysql';
  let tuples: string[] = [];
  let params: Param[] = [];
  let bytes = 0;
  const flush = async () => {
    if (tuples.length === 0) return;
    await q.run(`${head}${tuples.join(', ')}${tail}`, params);
    tuples = [];
    params = [];
    bytes = 0;
  };
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`insertMany(${table}): a row has ${row.length} values for ${columns.length} columns`);
    const tuple = literal ? `(${row.map(mysqlLiteral).join(', ')})` : rowPh;
    const rowBytes = literal ? tuple.length * 3 : row.reduce<number>((n, v) => n + approxBytes(v), 0);
    if (tuples.length >= maxRows || (tuples.length > 0 && bytes + rowBytes > MAX_BYTES_PER_STATEMENT)) await flush();
    tuples.push(tuple);
    if (!literal) params.push(...row);
    bytes += rowBytes;
  }
  await flush();
}
