/**
 * Multi-row INSERTs in bounded chunks. Seeding tens of thousands of executions one statement per
 * row is far too slow on MariaDB; one statement per chunk keeps both the placeholder count (SQLite,
 * MySQL 65535) and the packet size (max_allowed_packet) well inside server limits.
 */
import type { Param, Queryable } from '../db/connection.ts';

const MAX_PARAMS = 8000;
const MAX_BYTES = 2_000_000;

function approxBytes(p: Param): number {
  if (typeof p === 'string') return p.length * 3 + 4;
  if (p instanceof Buffer) return p.length * 2 + 4;
  return 12;
}

export async function insertRows(q: Queryable, table: string, columns: readonly string[], rows: readonly (readonly Param[])[]): Promise<void> {
  const head = `INSERT INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const maxRows = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  let chunk: Param[] = [];
  let count = 0;
  let bytes = 0;
  const flush = async () => {
    if (count === 0) return;
    await q.run(head + Array.from({ length: count }, () => tuple).join(', '), chunk);
    chunk = [];
    count = 0;
    bytes = 0;
  };
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`insertRows(${table}): row has ${row.length} values for ${columns.length} columns`);
    const rowBytes = row.reduce<number>((n, p) => n + approxBytes(p), 0);
    if (count >= maxRows || (count > 0 && bytes + rowBytes > MAX_BYTES)) await flush();
    chunk.push(...row);
    count += 1;
    bytes += rowBytes;
  }
  await flush();
}
