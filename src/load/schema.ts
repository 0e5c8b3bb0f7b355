/**
 * The KFP 3 target tables (`artifacts`, `tasks`, `artifact_tasks`) exactly as the API server of the
 * `mlmd-removal` branch creates them with GORM AutoMigrate on MySQL (kfp-facts.md §C.1–C.3), plus an
 * equivalent SQLite rendering for the demo and tests.
 *
 * Why byte-for-byte: when KFP 3 starts on a database mlmd-bridge prepared, its AutoMigrate must find
 * nothing to change (design.md §2). So the one table description below drives three things: the
 * CREATE TABLE statements, the structure a table must have, and the check of tables that exist.
 */
import { type TargetDialect, targetDialect } from './kfp-database.ts';
import { tableExists } from '../db/catalog.ts';
import type { Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';

// ---------------------------------------------------------------------------------------------
// The expected tables
// ---------------------------------------------------------------------------------------------

/** MySQL column types as GORM renders them (int32 enums → int, int64 → bigint, float64 → double). */
type MysqlType = 'int' | 'bigint' | 'double' | 'json' | 'text' | `varchar(${number})`;

interface ColumnSpec {
  name: string;
  type: MysqlType;
  notNull: boolean;
  /** The SQL literal after DEFAULT, as the Go tag gives it; undefined when the tag has no default. */
  default?: 'NULL' | '0' | '-1' | "''";
}

interface IndexSpec {
  name: string;
  unique: boolean;
  /** In priority order; a trailing ' DESC' marks a descending key part. */
  columns: string[];
}

interface ForeignKeySpec {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

interface TableSpec {
  name: TargetTable;
  columns: ColumnSpec[];
  primaryKey: string[];
  /** In the order GORM emits them: by the first struct field that names the index. */
  indexes: IndexSpec[];
  /** Every KFP 3 FK is ON DELETE CASCADE ON UPDATE CASCADE. */
  foreignKeys: ForeignKeySpec[];
}

export type TargetTable = 'artifacts' | 'tasks' | 'artifact_tasks';

/** Parents before children: artifact_tasks references both others. */
export const TARGET_TABLES: readonly TargetTable[] = ['artifacts', 'tasks', 'artifact_tasks'];

const col = (name: string, type: MysqlType, notNull: boolean, dflt?: ColumnSpec['default']): ColumnSpec =>
  dflt === undefined ? { name, type, notNull } : { name, type, notNull, default: dflt };

/** `mlmd-removal:backend/src/apiserver/model/artifact.go`. No FKs: artifacts outlive runs. */
const ARTIFACTS: TableSpec = {
  name: 'artifacts',
  columns: [
    col('UUID', 'varchar(191)', true),
    col('Namespace', 'varchar(63)', true),
    col('Type', 'int', false, 'NULL'),
    col('URI', 'varchar(2048)', false),
    col('URIHash', 'varchar(64)', false),
    col('Name', 'varchar(128)', false, 'NULL'),
    col('Description', 'text', false, 'NULL'),
    col('CreatedAtInSec', 'bigint', true, '0'),
    col('LastUpdateInSec', 'bigint', true, '0'),
    col('Metadata', 'json', false, 'NULL'),
    col('NumberValue', 'double', false, 'NULL'),
    col('IdentityKey', 'varchar(64)', false, 'NULL'),
  ],
  primaryKey: ['UUID'],
  indexes: [
    { name: 'idx_type_namespace', unique: false, columns: ['Namespace', 'Type'] },
    { name: 'idx_namespace_urihash', unique: false, columns: ['Namespace', 'URIHash'] },
    { name: 'idx_artifact_identity', unique: true, columns: ['Namespace', 'IdentityKey'] },
    { name: 'idx_artifact_created_timestamp', unique: false, columns: ['CreatedAtInSec'] },
    { name: 'idx_artifact_last_update_timestamp', unique: false, columns: ['LastUpdateInSec'] },
  ],
  foreignKeys: [],
};

/** `mlmd-removal:backend/src/apiserver/model/task.go`. Note the lower-case physical column `pods`. */
const TASKS: TableSpec = {
  name: 'tasks',
  columns: [
    col('UUID', 'varchar(191)', true),
    col('Namespace', 'varchar(63)', true),
    col('RunUUID', 'varchar(191)', true),
    col('pods', 'json', true),
    col('CreatedAtInSec', 'bigint', true),
    col('StartedInSec', 'bigint', false, '0'),
    col('FinishedInSec', 'bigint', false, '0'),
    col('Fingerprint', 'varchar(255)', true),
    col('Name', 'varchar(128)', false, 'NULL'),
    col('DisplayName', 'varchar(128)', false, 'NULL'),
    col('ParentTaskUUID', 'varchar(191)', false, 'NULL'),
    col('State', 'int', true),
    col('StatusMetadata', 'json', false, 'NULL'),
    col('StateHistory', 'json', false),
    col('InputParameters', 'json', false),
    col('OutputParameters', 'json', false),
    col('Type', 'int', true),
    col('TypeAttrs', 'json', true),
    col('ScopePath', 'text', false, 'NULL'),
    col('LogicalKey', 'varchar(64)', false, 'NULL'),
  ],
  primaryKey: ['UUID'],
  indexes: [
    // (UUID, RunUUID) is a candidate key only so that artifact_tasks can reference it.
    { name: 'idx_tasks_uuid_run', unique: true, columns: ['UUID', 'RunUUID'] },
    { name: 'idx_task_cache_lookup', unique: false, columns: ['Fingerprint', 'State', 'Namespace', 'CreatedAtInSec DESC'] },
    { name: 'idx_parent_run', unique: false, columns: ['RunUUID', 'ParentTaskUUID'] },
    { name: 'idx_task_created_timestamp', unique: false, columns: ['CreatedAtInSec'] },
    { name: 'idx_task_started_timestamp', unique: false, columns: ['StartedInSec'] },
    { name: 'idx_task_finished_timestamp', unique: false, columns: ['FinishedInSec'] },
    { name: 'idx_parent_task_uuid', unique: false, columns: ['ParentTaskUUID'] },
    { name: 'idx_task_type', unique: false, columns: ['Type'] },
    { name: 'idx_tasks_logical_key', unique: true, columns: ['LogicalKey'] },
  ],
  foreignKeys: [
    // Same name as the FK of the KFP 2.x tasks table: that is why the old table must lose its FK
    // before this one can be created (MySQL FK names are unique per schema).
    { name: 'tasks_RunUUID_run_details_UUID_foreign', columns: ['RunUUID'], refTable: 'run_details', refColumns: ['UUID'] },
    { name: 'fk_tasks_parent_task', columns: ['ParentTaskUUID'], refTable: 'tasks', refColumns: ['UUID'] },
  ],
};

/** `mlmd-removal:backend/src/apiserver/model/artifact_task.go`. */
const ARTIFACT_TASKS: TableSpec = {
  name: 'artifact_tasks',
  columns: [
    col('UUID', 'varchar(191)', true),
    col('ArtifactID', 'varchar(191)', true),
    col('TaskID', 'varchar(191)', true),
    col('Type', 'int', true),
    col('Iteration', 'bigint', true, '-1'),
    col('RunUUID', 'varchar(191)', true),
    col('Producer', 'json', false, 'NULL'),
    col('ArtifactKey', 'varchar(191)', true, "''"),
  ],
  primaryKey: ['UUID'],
  indexes: [
    { name: 'idx_link_artifact_id', unique: false, columns: ['ArtifactID'] },
    { name: 'UniqueLink', unique: true, columns: ['ArtifactID', 'TaskID', 'Type', 'Iteration', 'ArtifactKey'] },
    { name: 'idx_link_task_run', unique: false, columns: ['TaskID', 'RunUUID'] },
    { name: 'idx_link_run_id', unique: false, columns: ['RunUUID'] },
  ],
  foreignKeys: [
    { name: 'fk_artifact_tasks_artifacts', columns: ['ArtifactID'], refTable: 'artifacts', refColumns: ['UUID'] },
    // The composite FK is what forces a link's RunUUID to equal its task's RunUUID.
    { name: 'fk_artifact_tasks_task_run', columns: ['TaskID', 'RunUUID'], refTable: 'tasks', refColumns: ['UUID', 'RunUUID'] },
    { name: 'fk_artifact_tasks_runs', columns: ['RunUUID'], refTable: 'run_details', refColumns: ['UUID'] },
  ],
};

const SPECS: Record<TargetTable, TableSpec> = { artifacts: ARTIFACTS, tasks: TASKS, artifact_tasks: ARTIFACT_TASKS };

// ---------------------------------------------------------------------------------------------
// DDL
// ---------------------------------------------------------------------------------------------

/** SQLite has no JSON column type; everything else keeps its declared name (it only sets affinity). */
function columnType(type: MysqlType, dialect: TargetDialect): string {
  return dialect === 'sqlite' && type === 'json' ? 'text' : type;
}

function keyPart(column: string, q: (s: string) => string): string {
  return column.endsWith(' DESC') ? `${q(column.slice(0, -5))} DESC` : q(column);
}

/** The columns of a KFP 3 table typed JSON: MySQL 8 hands them back re-serialized (keys sorted, spaces added). */
export function jsonColumns(name: TargetTable): ReadonlySet<string> {
  return new Set(SPECS[name].columns.filter((c) => c.type === 'json').map((c) => c.name));
}

/**
 * The statements that create one table. MySQL: one CREATE TABLE with its indexes and FKs, in the
 * order GORM writes them. SQLite: CREATE TABLE with the FKs inline, then one CREATE INDEX each.
 */
export function createTableStatements(name: TargetTable, dialect: TargetDialect): string[] {
  const spec = SPECS[name];
  const q = dialect === 'mysql' ? (s: string) => `\`${s}\`` : (s: string) => `"${s}"`;
  const list = (cols: string[]) => cols.map((c) => keyPart(c, q)).join(',');
  const lines = spec.columns.map((c) => {
    let line = `${q(c.name)} ${columnType(c.type, dialect)}`;
    if (c.notNull) line += ' NOT NULL';
    if (c.default !== undefined) line += ` DEFAULT ${c.default}`;
    return line;
  });
  lines.push(`PRIMARY KEY (${list(spec.primaryKey)})`);
  if (dialect === 'mysql') {
    for (const ix of spec.indexes) lines.push(`${ix.unique ? 'UNIQUE ' : ''}INDEX ${q(ix.name)} (${list(ix.columns)})`);
  }
  for (const fk of spec.foreignKeys) {
    lines.push(
      `CONSTRAINT ${q(fk.name)} FOREIGN KEY (${list(fk.columns)}) REFERENCES ${q(fk.refTable)}(${list(fk.refColumns)})` +
        ' ON DELETE CASCADE ON UPDATE CASCADE',
    );
  }
  const statements = [`CREATE TABLE ${q(spec.name)} (\n  ${lines.join(',\n  ')}\n)`];
  if (dialect === 'sqlite') {
    for (const ix of spec.indexes) {
      statements.push(`CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${q(ix.name)} ON ${q(spec.name)} (${list(ix.columns)})`);
    }
  }
  return statements;
}

// ---------------------------------------------------------------------------------------------
// Normalized structure of a table, as read from a database or as expected
// ---------------------------------------------------------------------------------------------

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

/** What a KFP 3 table must look like in the given dialect, in the normalized form describeTable returns. */
export function expectedStructure(name: TargetTable, dialect: TargetDialect): TableStructure {
  const spec = SPECS[name];
  return {
    name: spec.name,
    columns: spec.columns.map((c) => ({
      name: c.name,
      type: columnType(c.type, dialect),
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

/** Lives with the database layer; re-exported for the modules that import it from here. */
export { tableExists };

/** A KFP database is recognised by its `run_details` table, which every KFP 3 FK points at. */
export async function isKfpDatabase(db: Queryable): Promise<boolean> {
  return tableExists(db, 'run_details');
}

/** Reads the structure of an existing table; throws if there is no such table. */
export async function describeTable(db: Queryable, name: string): Promise<TableStructure> {
  if (!(await tableExists(db, name))) throw new BridgeError('INTERNAL', `describeTable: there is no table ${name}`);
  return targetDialect(db) === 'mysql' ? describeMysqlTable(db, name) : describeSqliteTable(db, name);
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

// ---------------------------------------------------------------------------------------------
// Creating and checking
// ---------------------------------------------------------------------------------------------

/** The column only the KFP 2.x `tasks` table has (its cache rows point at MLMD executions). */
export const V1_TASKS_MARKER_COLUMN = 'MLMDExecutionID';

export async function isV1TasksTable(db: Queryable, name = 'tasks'): Promise<boolean> {
  if (!(await tableExists(db, name))) return false;
  const s = await describeTable(db, name);
  return s.columns.some((c) => c.name === V1_TASKS_MARKER_COLUMN);
}

/**
 * Creates the KFP 3 tables that are missing and checks the ones that exist. Nothing is created
 * unless every existing table passes, so a refusal leaves the database as it was.
 */
export async function ensureTargetTables(db: Queryable): Promise<{ created: TargetTable[]; verified: TargetTable[] }> {
  if (!(await isKfpDatabase(db))) {
    throw new BridgeError(
      'NOT_KFP_DATABASE',
      'the target database has no run_details table, so it is not a KFP database',
      'point --kfp at the database of the KFP API server (usually mlpipeline)',
    );
  }
  if (await isV1TasksTable(db)) {
    throw new BridgeError(
      'TARGET_SCHEMA_MISMATCH',
      `the table tasks is still the KFP 2.x (v1) tasks table (it has the column ${V1_TASKS_MARKER_COLUMN}), not the KFP 3 one`,
      'move it aside first: the move-aside step renames it to tasks_v1_backup and drops its foreign key ' +
        '(mlmd-bridge migrate does this before it creates the KFP 3 tables; rollback puts it back)',
    );
  }

  const missing: TargetTable[] = [];
  const verified: TargetTable[] = [];
  const differences: string[] = [];
  for (const name of TARGET_TABLES) {
    if (!(await tableExists(db, name))) {
      missing.push(name);
      continue;
    }
    const diff = diffTableStructure(expectedStructure(name, targetDialect(db)), await describeTable(db, name));
    if (diff.length === 0) verified.push(name);
    else differences.push(...diff);
  }
  if (differences.length > 0) {
    const tables = [...new Set(differences.map((d) => d.slice(0, d.indexOf(':'))))];
    throw new BridgeError(
      'TARGET_SCHEMA_MISMATCH',
      `the existing KFP 3 table(s) ${tables.join(', ')} differ from the mlmd-removal GORM models:\n  ${differences.join('\n  ')}`,
      'mlmd-bridge writes only into tables that KFP 3 would leave as they are; if they were created by another KFP ' +
        'version, upgrade KFP so that its AutoMigrate brings them to the mlmd-removal shape, or drop them while they are empty',
    );
  }

  const created: TargetTable[] = [];
  for (const name of missing) {
    try {
      for (const sql of createTableStatements(name, targetDialect(db))) await db.run(sql);
      created.push(name);
    } catch (e) {
      // Nothing half-made stays behind: the tables this call created go again, newest first.
      for (const done of [name, ...created.reverse()]) await db.run(`DROP TABLE IF EXISTS ${done}`).catch(() => undefined);
      const message = (e as Error).message;
      const fk = /errno: 150|foreign key constraint is incorrectly formed|incompatible/i.test(message);
      throw new BridgeError(
        'TARGET_SCHEMA_MISMATCH',
        `creating the KFP 3 table ${name} failed: ${message}`,
        fk
          ? 'its foreign keys point at run_details (and tasks), which must have the same character set and collation as ' +
              'the new tables (the database default); check SHOW CREATE TABLE run_details and align the database default with it'
          : 'check that the database user may create tables and that the database default character set is utf8mb4',
        { cause: e },
      );
    }
  }
  return { created, verified };
}
