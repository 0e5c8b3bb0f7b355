/**
 * What PostgreSQL says about a table, in the forms the schema-shape tests compare: columns from
 * information_schema (`name type [NOT NULL] [DEFAULT x] [KEY n]`, a SERIAL id as `KEY AUTO`), and
 * every index, primary keys and constraints' own included (`name [PRIMARY|UNIQUE] (cols) [WHERE p]`),
 * and the foreign keys as the server prints them.
 */
import type { Queryable } from '../../src/db/connection.ts';

export async function pgColumns(db: Queryable, table: string): Promise<string[]> {
  const name = db.storedName(table);
  const cols = await db.all<{ n: string; t: string; len: number | null; nul: string; d: string | null; k: number | null }>(
    'SELECT c.column_name AS n, c.data_type AS t, c.character_maximum_length AS len, c.is_nullable AS nul, c.column_default AS d, ' +
      "(SELECT u.ordinal_position FROM information_schema.table_constraints k JOIN information_schema.key_column_usage u ON u.constraint_name = k.constraint_name AND u.table_schema = k.table_schema AND u.table_name = k.table_name " +
      "WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name AND k.constraint_type = 'PRIMARY KEY' AND u.column_name = c.column_name) AS k " +
      'FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = ? ORDER BY c.ordinal_position',
    [name],
  );
  return cols.map((c) => {
    const type = c.len === null ? c.t : `${c.t}(${c.len})`;
    if (c.d === `nextval('${name}_${c.n}_seq'::regclass)` && c.k !== null) return `${c.n} ${type} KEY AUTO`;
    return [c.n, type, c.nul === 'NO' ? 'NOT NULL' : '', c.d === null ? '' : `DEFAULT ${c.d}`, c.k === null ? '' : `KEY ${c.k}`].filter(Boolean).join(' ');
  });
}

export async function pgIndexes(db: Queryable, table: string): Promise<string[]> {
  const rows = await db.all<{ name: string; u: boolean; p: boolean; w: string | null; cols: string }>(
    'SELECT i.relname AS name, x.indisunique AS u, x.indisprimary AS p, pg_get_expr(x.indpred, x.indrelid) AS w, ' +
      '(SELECT string_agg(a.attname, \', \' ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ' +
      'JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS cols ' +
      'FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid ' +
      'WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ?',
    [db.storedName(table)],
  );
  return rows
    .map((r) => `${r.name}${r.p ? ' PRIMARY' : r.u ? ' UNIQUE' : ''} (${r.cols})${r.w ? ` WHERE ${r.w.replace(/^\((.*)\)$/, '$1')}` : ''}`)
    .sort();
}

export async function pgForeignKeys(db: Queryable, table: string): Promise<string[]> {
  const rows = await db.all<{ name: string; def: string }>(
    "SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid " +
      "WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ? ORDER BY c.conname",
    [db.storedName(table)],
  );
  return rows.map((r) => `${r.name} ${r.def}`);
}
