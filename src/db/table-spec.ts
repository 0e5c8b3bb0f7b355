/**
 * A table written down once, dialect-neutral: its columns (name, logical type, nullability,
 * default), primary key, indexes and foreign keys. From that one description come, for MySQL,
 * PostgreSQL and SQLite alike: the CREATE TABLE statements, the structure the table must have when
 * read back from the catalog (table-structure.ts), and the drizzle-orm table the queries use (orm.ts).
 */
import { sql } from 'drizzle-orm';
import { customType as mysqlCustomType, mysqlTable } from 'drizzle-orm/mysql-core';
import { customType as pgCustomType, type PgColumn, pgTable, type PgTableWithColumns } from 'drizzle-orm/pg-core';
import { customType as sqliteCustomType, sqliteTable } from 'drizzle-orm/sqlite-core';
import type { Dialect } from './url.ts';

/** Go's int32 and int64, float64, a JSON document, unbounded text, bounded text. */
export type ColumnType = 'int32' | 'int64' | 'float64' | 'json' | 'text' | `varchar(${number})`;

/** The literal after DEFAULT, as a GORM tag gives it. */
export type ColumnDefault = 'NULL' | '0' | '-1' | "''";

export interface ColumnSpec<N extends string = string, T extends ColumnType = ColumnType, NN extends boolean = boolean, D extends ColumnDefault | undefined = ColumnDefault | undefined> {
  readonly name: N;
  readonly type: T;
  readonly notNull: NN;
  readonly default: D;
}

export interface IndexSpec {
  readonly name: string;
  readonly unique: boolean;
  /** In priority order; a trailing ' DESC' marks a descending key part. */
  readonly columns: readonly string[];
}

export interface ForeignKeySpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly refTable: string;
  readonly refColumns: readonly string[];
}

export interface TableSpec<N extends string = string, C extends readonly ColumnSpec[] = readonly ColumnSpec[]> {
  readonly name: N;
  readonly columns: C;
  readonly primaryKey: readonly string[];
  /** In the order the statements create them. */
  readonly indexes: readonly IndexSpec[];
  /** Every one ON DELETE CASCADE ON UPDATE CASCADE. */
  readonly foreignKeys: readonly ForeignKeySpec[];
}

export function col<N extends string, T extends ColumnType, NN extends boolean, D extends ColumnDefault | undefined = undefined>(
  name: N,
  type: T,
  notNull: NN,
  dflt?: D,
): ColumnSpec<N, T, NN, D> {
  return { name, type, notNull, default: dflt as D };
}

// ---------------------------------------------------------------------------------------------
// SQL types
// ---------------------------------------------------------------------------------------------

/**
 * The column type each dialect's DDL writes, as GORM renders a Go field there: MySQL int32 → int,
 * float64 → double; PostgreSQL (`pgx`) int32 → integer, float64 → decimal; SQLite keeps MySQL's
 * names (they only set affinity), JSON as text.
 */
export function sqlType(type: ColumnType, dialect: Dialect): string {
  switch (type) {
    case 'int32':
      return dialect === 'postgres' ? 'integer' : 'int';
    case 'int64':
      return 'bigint';
    case 'float64':
      return dialect === 'postgres' ? 'decimal' : 'double';
    case 'json':
      return dialect === 'sqlite' ? 'text' : 'json';
    default:
      return type;
  }
}

/** The type as the catalog reads it back (table-structure.ts): PostgreSQL stores `decimal` as `numeric`. */
export function storedType(type: ColumnType, dialect: Dialect): string {
  const t = sqlType(type, dialect);
  return t === 'decimal' ? 'numeric' : t;
}

const isNumeric = (type: ColumnType) => type === 'int32' || type === 'int64' || type === 'float64';

// ---------------------------------------------------------------------------------------------
// DDL
// ---------------------------------------------------------------------------------------------

function quoter(dialect: Dialect): (s: string) => string {
  return dialect === 'mysql' ? (s) => `\`${s.replace(/`/g, '``')}\`` : (s) => `"${s.replace(/"/g, '""')}"`;
}

/**
 * The statements that create one table. MySQL: one CREATE TABLE with its indexes and FKs, in the
 * order GORM writes them. PostgreSQL (as GORM's pgx dialect) and SQLite: CREATE TABLE with the FKs
 * inline, then one CREATE INDEX each. `ifNotExists` for tables that may be there already.
 */
export function createTableStatements(spec: TableSpec, dialect: Dialect, options: { ifNotExists?: boolean } = {}): string[] {
  const q = quoter(dialect);
  const part = (c: string) => (c.endsWith(' DESC') ? `${q(c.slice(0, -5))} DESC` : q(c));
  const list = (cols: readonly string[]) => cols.map(part).join(',');
  const lines = spec.columns.map((c) => {
    let line = `${q(c.name)} ${sqlType(c.type, dialect)}`;
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
  const ine = options.ifNotExists ? 'IF NOT EXISTS ' : '';
  const statements = [`CREATE TABLE ${ine}${q(spec.name)} (\n  ${lines.join(',\n  ')}\n)`];
  if (dialect !== 'mysql') {
    for (const ix of spec.indexes) {
      statements.push(`CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${ine}${q(ix.name)} ON ${q(spec.name)} (${list(ix.columns)})`);
    }
  }
  return statements;
}

// ---------------------------------------------------------------------------------------------
// drizzle-orm tables
// ---------------------------------------------------------------------------------------------

type DataOf<T extends ColumnType> = T extends 'int32' | 'int64' | 'float64' ? number : string;

/** The drizzle column type of one column spec (PostgreSQL's flavour: see orm.ts). */
type PgColumnOf<TableName extends string, C extends ColumnSpec> = PgColumn<
  {
    name: C['name'];
    tableName: TableName;
    dataType: 'custom';
    columnType: 'PgCustomColumn';
    data: DataOf<C['type']>;
    driverParam: unknown;
    notNull: C['notNull'];
    hasDefault: C['default'] extends undefined ? false : true;
    isPrimaryKey: false;
    isAutoincrement: false;
    hasRuntimeDefault: false;
    enumValues: undefined;
    baseColumn: never;
    identity: undefined;
    generated: undefined;
  },
  {},
  {}
>;

/** The drizzle table of a spec, its columns keyed by their names. */
export type OrmTable<S extends TableSpec> = PgTableWithColumns<{
  name: S['name'];
  schema: undefined;
  dialect: 'pg';
  columns: { [C in S['columns'][number] as C['name']]: PgColumnOf<S['name'], C> };
}>;

/** Numbers come back as numbers whatever the driver made of them (a BIGINT or DECIMAL may come as text). */
const fromDriver = (type: ColumnType) => (v: unknown) => {
  if (v === null || v === undefined) return v;
  if (isNumeric(type)) return typeof v === 'number' ? v : Number(v);
  return Buffer.isBuffer(v) ? v.toString('utf8') : v;
};

const CUSTOM_TYPE = { mysql: mysqlCustomType, postgres: pgCustomType, sqlite: sqliteCustomType } as const;
const TABLE = { mysql: mysqlTable, postgres: pgTable, sqlite: sqliteTable } as const;

interface ColumnBuilderLike {
  notNull(): ColumnBuilderLike;
  default(v: unknown): ColumnBuilderLike;
}

/** The drizzle table of `spec` in `dialect`; typed as PostgreSQL's whatever the dialect (orm.ts). */
export function ormTable<S extends TableSpec>(spec: S, dialect: Dialect): OrmTable<S> {
  const makeType = CUSTOM_TYPE[dialect] as unknown as (config: { dataType: () => string; fromDriver: (v: unknown) => unknown }) => (name: string) => ColumnBuilderLike;
  const columns: Record<string, ColumnBuilderLike> = {};
  for (const c of spec.columns) {
    let builder = makeType({ dataType: () => sqlType(c.type, dialect), fromDriver: fromDriver(c.type) })(c.name);
    if (c.notNull) builder = builder.notNull();
    if (c.default !== undefined) builder = builder.default(sql.raw(c.default));
    columns[c.name] = builder;
  }
  const makeTable = TABLE[dialect] as unknown as (name: string, columns: Record<string, ColumnBuilderLike>) => unknown;
  return makeTable(spec.name, columns) as OrmTable<S>;
}

/** A spec's drizzle table per dialect, built once. */
export function ormTables<S extends TableSpec>(spec: S): Record<Dialect, OrmTable<S>> {
  return { mysql: ormTable(spec, 'mysql'), postgres: ormTable(spec, 'postgres'), sqlite: ormTable(spec, 'sqlite') };
}
