/**
 * What tables and columns the connected database has, and which of its tables the connection may
 * read: in the current schema on PostgreSQL, the connected database on MySQL, the file on SQLite.
 */
import type { Queryable } from './connection.ts';

/**
 * PostgreSQL's own catalog rather than information_schema, which lists only what the role has
 * privileges on: a role that may not read a table would see it as missing.
 */
const PG_TABLES = "c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')";

export async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const stored = db.storedName(name);
  let rows: unknown[];
  switch (db.dialect) {
    case 'mysql':
      rows = await db.all(
        "SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'",
        [stored],
      );
      break;
    case 'postgres':
      rows = await db.all(`SELECT 1 AS present FROM pg_catalog.pg_class c WHERE ${PG_TABLES} AND c.relname = ?`, [stored]);
      break;
    case 'sqlite':
      rows = await db.all("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = ?", [stored]);
      break;
  }
  return rows.length > 0;
}

/** Every column of every table, in no particular order. */
export async function listColumns(db: Queryable): Promise<{ table: string; column: string }[]> {
  switch (db.dialect) {
    case 'sqlite': {
      const tables = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
      const out: { table: string; column: string }[] = [];
      for (const { name } of tables) {
        for (const c of await db.all<{ name: string }>('SELECT name FROM pragma_table_info(?)', [name])) out.push({ table: name, column: c.name });
      }
      return out;
    }
    case 'mysql':
      return db.all('SELECT table_name AS `table`, column_name AS `column` FROM information_schema.columns WHERE table_schema = DATABASE()');
    case 'postgres':
      return db.all(
        'SELECT c.relname AS "table", a.attname AS "column" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid ' +
          `WHERE ${PG_TABLES} AND a.attnum > 0 AND NOT a.attisdropped`,
      );
  }
}

/**
 * The tables of `names` (as statements write them) that exist but that the connection may not
 * SELECT from. Only PostgreSQL is asked: there a role sees every table of the schema whatever it may
 * read, while MySQL refuses the connection or hides the tables instead.
 */
export async function unreadableTables(db: Queryable, names: readonly string[]): Promise<string[]> {
  if (db.dialect !== 'postgres' || names.length === 0) return [];
  const stored = names.map((n) => db.storedName(n));
  const rows = await db.all<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_class c WHERE ${PG_TABLES} AND c.relname IN (${stored.map(() => '?').join(', ')}) ` +
      "AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY c.relname",
    stored,
  );
  return rows.map((r) => r.name);
}

/** The schema unqualified names resolve to (PostgreSQL), for messages that tell what to grant. */
export async function currentSchema(db: Queryable): Promise<string | null> {
  if (db.dialect !== 'postgres') return null;
  const [row] = await db.all<{ s: string }>('SELECT current_schema() AS s');
  return row?.s ?? null;
}

/**
 * The tables of `names` that exist but on which the connection lacks one of `privileges`
 * (PostgreSQL's has_table_privilege: 'SELECT', 'INSERT', 'REFERENCES' …). Only PostgreSQL is asked,
 * as in unreadableTables.
 */
export async function tablesLacking(db: Queryable, names: readonly string[], privileges: readonly string[]): Promise<string[]> {
  if (db.dialect !== 'postgres' || names.length === 0) return [];
  const stored = names.map((n) => db.storedName(n));
  const rows = await db.all<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_class c WHERE ${PG_TABLES} AND c.relname IN (${stored.map(() => '?').join(', ')}) ` +
      `AND NOT (${privileges.map(() => 'has_table_privilege(c.oid, ?)').join(' AND ')}) ORDER BY c.relname`,
    [...stored, ...privileges],
  );
  return rows.map((r) => r.name);
}

/** Whether the connection may create tables in the current schema (PostgreSQL; elsewhere the server tells at CREATE time). */
export async function mayCreateTables(db: Queryable): Promise<boolean> {
  if (db.dialect !== 'postgres') return true;
  const [row] = await db.all<{ ok: boolean | null }>("SELECT has_schema_privilege(current_schema(), 'CREATE') AS ok");
  return row?.ok === true;
}

/**
 * PostgreSQL: which of `names` a relation of the current schema holds (tables, indexes, sequences
 * and views share one namespace there), leaving out the table `except` and its indexes.
 */
export async function relationNamesTaken(db: Queryable, names: readonly string[], except?: string): Promise<string[]> {
  if (db.dialect !== 'postgres' || names.length === 0) return [];
  const inSchema = 'relnamespace = current_schema()::regnamespace';
  const rows = await db.all<{ name: string }>(
    `SELECT c.relname AS name FROM pg_catalog.pg_class c WHERE c.${inSchema} AND c.relname IN (${names.map(() => '?').join(', ')}) ` +
      `AND c.oid NOT IN (SELECT t.oid FROM pg_catalog.pg_class t WHERE t.${inSchema} AND t.relname = ? ` +
      `UNION ALL SELECT x.indexrelid FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class t ON t.oid = x.indrelid WHERE t.${inSchema} AND t.relname = ?) ORDER BY c.relname`,
    [...names, except ?? '', except ?? ''],
  );
  return rows.map((r) => r.name);
}
