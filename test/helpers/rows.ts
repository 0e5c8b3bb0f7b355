/** Inserts plain objects as rows, for hand-built fixtures in either dialect. */
import type { Param, Queryable } from '../../src/db/connection.ts';

export async function insertRow(db: Queryable, table: string, row: Record<string, Param>): Promise<void> {
  const cols = Object.keys(row);
  await db.run(
    `INSERT INTO \`${table}\` (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    cols.map((c) => row[c] ?? null),
  );
}

export async function insertRows(db: Queryable, table: string, rows: Record<string, Param>[]): Promise<void> {
  for (const row of rows) await insertRow(db, table, row);
}
