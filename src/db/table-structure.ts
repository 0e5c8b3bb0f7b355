/**
 * The structure of a table as the catalog of its database tells it (columns, primary key, indexes,
 * FKs), normalized so that the three dialects read alike, and compared with what a table spec
 * (table-spec.ts) says it must be: the check that KFP's AutoMigrate will find nothing to change.
 */
import { tableExists } from './catalog.ts';
import type { Queryable } from './connection.ts';
import { storedType, type TableSpec } from './table-spec.ts';
import type { Dialect } from './url.ts';
import { BridgeError } from '../errors.ts';

export interface ColumnInfo {
  name: string;
  /** Lower case, without integer display widths; MariaDB's JSON alias (longtext + json_valid check) reads as `json`. */
  type: string;
  nullable: boolean;
  /** The default as a plain value ('0', '-1', '' …); null when there is none or it is NULL. */
  default: string | null;
}

export interface IndexInfo {
  name: string;
  unique: boolean;
  /** Key parts in order; descending parts end in ' DESC'. */
  columns: string[];
}

export interface ForeignKeyInfo {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface TableStructure {
  name: string;
  /** In physical order. */
  columns: ColumnInfo[];
  primaryKey: string[];
  /** Sorted by name; the primary key is not listed here. */
  indexes: IndexInfo[];
  /** Sorted by name. */
  foreignKeys: ForeignKeyInfo[];
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function unquoteDefault(raw: string | null): string | null {
  if (raw === null || raw.toUpperCase() === 'NULL') return null;
  const m = /^'(.*)'$/s.exec(raw);
  return m ? m[1]!.replace(/''/g, "'") : raw;
}

/** What a table described by `spec` must look like in `dialect`, in the normalized form describeTable returns. */
export function expectedStructure(spec: TableSpec, dialect: Dialect): TableStructure {
  return {
    name: spec.name,
    columns: spec.columns.map((c) => ({
      name: c.name,
      type: storedType(c.type, dialect),
      nullable: !c.notNull,
      default: unquoteDefault(c.default ?? null),
    })),
    primaryKey: [...spec.primaryKey],
    indexes: spec.indexes.map((ix) => ({ name: ix.name, unique: ix.unique, columns: [...ix.columns] })).sort(byName),
    foreignKeys: spec.foreignKeys
      .map((fk) => ({ ...fk, columns: [...fk.columns], refColumns: [...fk.refColumns], onDelete: 'CASCADE', onUpdate: 'CASCADE' }))
      .sort(byName),
  };
}

/** Reads the structure of an existing table; throws if there is no such table. */
export async function describeTable(db: Queryable, name: string): Promise<TableStructure> {
  if (!(await tableExists(db, name))) throw new BridgeError('INTERNAL', `describeTable: there is no table ${name}`);
  switch (db.dialect) {
    case 'mysql':
      return describeMysqlTable(db, name);
    case 'postgres':
      return describePostgresTable(db, name);
    case 'sqlite':
      return describeSqliteTable(db, name);
  }
}

async function describeMysqlTable(db: Queryable, name: string): Promise<TableStructure> {
  const [showRow] = await db.all<Record<string, string>>(`SHOW CREATE TABLE \`${name.replace(/`/g, '``')}\``);
  const createText = showRow?.['Create Table'] ?? '';
  const [versionRow] = await db.all<{ v: string }>('SELECT VERSION() AS v');
  // MariaDB quotes string defaults and spells a NULL default 'NULL' in information_schema; MySQL does neither.
  const mariadb = /mariadb/i.test(versionRow?.v ?? '');

  const columnRows = await db.all<{ name: string; type: string; nullable: string; dflt: string | null }>(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [name],
  );
  const columns = columnRows.map((r) => ({
    name: r.name,
    type: normalizeMysqlType(r.type, r.name, createText),
    nullable: r.nullable === 'YES',
    default: mariadb ? unquoteDefault(r.dflt) : r.dflt,
  }));

  const statRows = await db.all<{ idx: string; nonUnique: number | string; col: string; collation: string | null; subPart: number | null }>(
    `SELECT INDEX_NAME AS idx, NON_UNIQUE AS nonUnique, COLUMN_NAME AS col, COLLATION AS collation, SUB_PART AS subPart
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [name],
  );
  let primaryKey: string[] = [];
  const indexes = new Map<string, IndexInfo>();
  for (const r of statRows) {
    const part = `${r.col}${r.subPart ? `(${r.subPart})` : ''}${r.collation === 'D' ? ' DESC' : ''}`;
    if (r.idx === 'PRIMARY') {
      primaryKey = [...primaryKey, r.col];
      continue;
    }
    const ix = indexes.get(r.idx) ?? { name: r.idx, unique: Number(r.nonUnique) === 0, columns: [] };
    ix.columns.push(part);
    indexes.set(r.idx, ix);
  }

  const fkRows = await db.all<{ name: string; refTable: string; onDelete: string; onUpdate: string; col: string; refCol: string }>(
    `SELECT rc.CONSTRAINT_NAME AS name, rc.REFERENCED_TABLE_NAME AS refTable, rc.DELETE_RULE AS onDelete,
            rc.UPDATE_RULE AS onUpdate, k.COLUMN_NAME AS col, k.REFERENCED_COLUMN_NAME AS refCol
       FROM information_schema.REFERENTIAL_CONSTRAINTS rc
       JOIN information_schema.KEY_COLUMN_USAGE k
         ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME AND k.TABLE_NAME = rc.TABLE_NAME
      WHERE rc.CONSTRAINT_SCHEMA = DATABASE() AND rc.TABLE_NAME = ?
      ORDER BY rc.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [name],
  );
  const fks = new Map<string, ForeignKeyInfo>();
  for (const r of fkRows) {
    const fk = fks.get(r.name) ?? { name: r.name, columns: [], refTable: r.refTable, refColumns: [], onDelete: r.onDelete, onUpdate: r.onUpdate };
    fk.columns.push(r.col);
    fk.refColumns.push(r.refCol);
    fks.set(r.name, fk);
  }

  return { name, columns, primaryKey, indexes: [...indexes.values()].sort(byName), foreignKeys: [...fks.values()].sort(byName) };
}

function normalizeMysqlType(columnType: string, column: string, createText: string): string {
  const t = columnType.toLowerCase().replace(/^(tinyint|smallint|mediumint|int|bigint)\(\d+\)/, '$1');
  if (t === 'longtext') {
    // MariaDB stores JSON as longtext with a json_valid() check named after the column.
    const escaped = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`^\\s*\`${escaped}\` longtext\\b.*CHECK \\(json_valid\\(\`${escaped}\`\\)\\)`, 'm').test(createText)) return 'json';
  }
  return t;
}

/** PostgreSQL's catalog: `character varying(n)` reads as varchar(n), and a default loses its cast (`'-1'::integer` → -1). */
async function describePostgresTable(db: Queryable, name: string): Promise<TableStructure> {
  const stored = db.storedName(name);
  const columnRows = await db.all<{ name: string; type: string; len: number | null; nullable: string; dflt: string | null }>(
    `SELECT column_name AS name, data_type AS type, character_maximum_length AS len, is_nullable AS nullable, column_default AS dflt
       FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
    [stored],
  );
  const columns = columnRows.map((r) => ({
    name: r.name,
    type: r.type === 'character varying' ? (r.len === null ? 'varchar' : `varchar(${r.len})`) : r.type,
    nullable: r.nullable === 'YES',
    default: postgresDefault(r.dflt),
  }));
  // Key parts in order, with DESC from indoption's first bit; the primary key's index gives the primary key.
  const indexRows = await db.all<{ name: string; isUnique: boolean; isPrimary: boolean; col: string; descending: boolean }>(
    `SELECT i.relname AS name, x.indisunique AS "isUnique", x.indisprimary AS "isPrimary", a.attname AS col,
            (x.indoption[k.ord - 1] & 1) = 1 AS descending
       FROM pg_catalog.pg_index x
       JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
       CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
      WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ?
      ORDER BY i.relname, k.ord`,
    [stored],
  );
  let primaryKey: string[] = [];
  const indexes = new Map<string, IndexInfo>();
  for (const r of indexRows) {
    if (r.isPrimary) {
      primaryKey = [...primaryKey, r.col];
      continue;
    }
    const ix = indexes.get(r.name) ?? { name: r.name, unique: r.isUnique, columns: [] };
    ix.columns.push(`${r.col}${r.descending ? ' DESC' : ''}`);
    indexes.set(r.name, ix);
  }
  const fkRows = await db.all<{ name: string; refTable: string; onDelete: string; onUpdate: string; col: string; refCol: string }>(
    `SELECT c.conname AS name, rt.relname AS "refTable", c.confdeltype AS "onDelete", c.confupdtype AS "onUpdate",
            a.attname AS col, ra.attname AS "refCol"
       FROM pg_catalog.pg_constraint c
       JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
       JOIN pg_catalog.pg_class rt ON rt.oid = c.confrelid
       CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refattnum, ord)
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
       JOIN pg_catalog.pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refattnum
      WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ?
      ORDER BY c.conname, k.ord`,
    [stored],
  );
  const fks = new Map<string, ForeignKeyInfo>();
  for (const r of fkRows) {
    const fk = fks.get(r.name) ?? { name: r.name, columns: [], refTable: r.refTable, refColumns: [], onDelete: PG_FK_ACTION[r.onDelete] ?? r.onDelete, onUpdate: PG_FK_ACTION[r.onUpdate] ?? r.onUpdate };
    fk.columns.push(r.col);
    fk.refColumns.push(r.refCol);
    fks.set(r.name, fk);
  }
  return { name, columns, primaryKey, indexes: [...indexes.values()].sort(byName), foreignKeys: [...fks.values()].sort(byName) };
}

/** pg_constraint's one-letter referential actions. */
const PG_FK_ACTION: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/** A PostgreSQL column default without its cast: `0`, `'-1'::integer` and `''::character varying` read as 0, -1 and ''. */
function postgresDefault(raw: string | null): string | null {
  if (raw === null) return null;
  const cast = /^(.*?)::[a-z][a-z0-9 _]*(\(\d+\))?$/s.exec(raw);
  const value = cast ? cast[1]! : raw;
  return unquoteDefault(value.replace(/^\((.*)\)$/s, '$1'));
}

async function describeSqliteTable(db: Queryable, name: string): Promise<TableStructure> {
  const cols = await db.all<{ name: string; type: string; not_null: number; dflt_value: string | null; pk: number }>(
    'SELECT name, type, "notnull" AS not_null, dflt_value, pk FROM pragma_table_info(?) ORDER BY cid',
    [name],
  );
  const columns = cols.map((c) => ({ name: c.name, type: c.type.toLowerCase(), nullable: c.not_null === 0, default: unquoteDefault(c.dflt_value) }));
  const primaryKey = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);

  const indexList = await db.all<{ name: string; unique: number; origin: string }>(
    'SELECT name, "unique" AS "unique", origin FROM pragma_index_list(?)',
    [name],
  );
  const indexes: IndexInfo[] = [];
  for (const ix of indexList) {
    if (ix.origin === 'pk') continue;
    const parts = await db.all<{ name: string | null; desc: number }>(
      'SELECT name, "desc" AS "desc" FROM pragma_index_xinfo(?) WHERE "key" = 1 ORDER BY seqno',
      [ix.name],
    );
    indexes.push({ name: ix.name, unique: ix.unique === 1, columns: parts.map((p) => `${p.name ?? '<expr>'}${p.desc ? ' DESC' : ''}`) });
  }

  // SQLite keeps FK names only in the CREATE TABLE text, so they are read back from there.
  const [master] = await db.all<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [name]);
  const namesByColumns = sqliteForeignKeyNames(master?.sql ?? '');
  const fkRows = await db.all<{ id: number; table: string; from: string; to: string | null; on_update: string; on_delete: string }>(
    'SELECT id, "table" AS "table", "from" AS "from", "to" AS "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq',
    [name],
  );
  const byId = new Map<number, ForeignKeyInfo>();
  for (const r of fkRows) {
    const fk = byId.get(r.id) ?? { name: '', columns: [], refTable: r.table, refColumns: [], onDelete: r.on_delete, onUpdate: r.on_update };
    fk.columns.push(r.from);
    fk.refColumns.push(r.to ?? '');
    byId.set(r.id, fk);
  }
  const foreignKeys = [...byId.values()].map((fk) => ({ ...fk, name: namesByColumns.get(fk.columns.join(',')) ?? `<unnamed ${fk.columns.join(',')}>` }));
  return { name, columns, primaryKey, indexes: indexes.sort(byName), foreignKeys: foreignKeys.sort(byName) };
}

/** Maps the column list of each named table-level FK (`CONSTRAINT x FOREIGN KEY (a,b)`) to its name. */
function sqliteForeignKeyNames(createSql: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /CONSTRAINT\s+("[^"]+"|`[^`]+`|\[[^\]]+\]|\w+)\s+FOREIGN\s+KEY\s*\(([^)]*)\)/gi;
  const bare = (s: string) => s.trim().replace(/^["`[]|["`\]]$/g, '');
  for (const m of createSql.matchAll(re)) {
    out.set(m[2]!.split(',').map(bare).join(','), bare(m[1]!));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

const show = (v: string | null) => (v === null ? 'none' : `'${v}'`);

/** Every way `actual` differs from `expected`, as sentences that start with the table name. */
export function diffTableStructure(expected: TableStructure, actual: TableStructure): string[] {
  const t = expected.name;
  const out: string[] = [];
  const actualCols = new Map(actual.columns.map((c) => [c.name, c]));
  const expectedCols = new Set(expected.columns.map((c) => c.name));
  for (const e of expected.columns) {
    const a = actualCols.get(e.name);
    if (!a) {
      out.push(`${t}: column ${e.name} is missing (expected ${e.type}${e.nullable ? '' : ' NOT NULL'})`);
      continue;
    }
    if (a.type !== e.type) out.push(`${t}: column ${e.name} has type ${a.type}, expected ${e.type}`);
    if (a.nullable !== e.nullable) out.push(`${t}: column ${e.name} is ${a.nullable ? 'NULL' : 'NOT NULL'}, expected ${e.nullable ? 'NULL' : 'NOT NULL'}`);
    if (a.default !== e.default) out.push(`${t}: column ${e.name} has default ${show(a.default)}, expected ${show(e.default)}`);
  }
  for (const a of actual.columns) if (!expectedCols.has(a.name)) out.push(`${t}: unexpected column ${a.name} (${a.type})`);

  if (a2s(actual.primaryKey) !== a2s(expected.primaryKey)) {
    out.push(`${t}: primary key is (${a2s(actual.primaryKey)}), expected (${a2s(expected.primaryKey)})`);
  }

  const describeIx = (ix: IndexInfo) => `${ix.unique ? 'UNIQUE ' : ''}(${a2s(ix.columns)})`;
  const actualIx = new Map(actual.indexes.map((ix) => [ix.name, ix]));
  for (const e of expected.indexes) {
    const a = actualIx.get(e.name);
    if (!a) out.push(`${t}: index ${e.name} ${describeIx(e)} is missing`);
    else if (describeIx(a) !== describeIx(e)) out.push(`${t}: index ${e.name} is ${describeIx(a)}, expected ${describeIx(e)}`);
  }
  const expectedIx = new Set(expected.indexes.map((ix) => ix.name));
  for (const a of actual.indexes) if (!expectedIx.has(a.name)) out.push(`${t}: unexpected index ${a.name} ${describeIx(a)}`);

  const describeFk = (fk: ForeignKeyInfo) =>
    `(${a2s(fk.columns)}) → ${fk.refTable}(${a2s(fk.refColumns)}) ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`;
  const actualFk = new Map(actual.foreignKeys.map((fk) => [fk.name, fk]));
  for (const e of expected.foreignKeys) {
    const a = actualFk.get(e.name);
    if (!a) out.push(`${t}: foreign key ${e.name} ${describeFk(e)} is missing`);
    else if (describeFk(a) !== describeFk(e)) out.push(`${t}: foreign key ${e.name} is ${describeFk(a)}, expected ${describeFk(e)}`);
  }
  const expectedFk = new Set(expected.foreignKeys.map((fk) => fk.name));
  for (const a of actual.foreignKeys) if (!expectedFk.has(a.name)) out.push(`${t}: unexpected foreign key ${a.name} ${describeFk(a)}`);
  return out;
}

function a2s(xs: string[]): string {
  return xs.join(', ');
}

