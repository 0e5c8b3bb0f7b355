/**
 * Recognises an MLMD database: which schema version `MLMDEnv` records, and which of the columns
 * that came and went between the supported versions are actually present.
 */
import { listColumns } from '../db/catalog.ts';
import type { OpenOptions, Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';

/**
 * How every connection to an MLMD database is opened: MLMD's PostgreSQL DDL names its tables
 * unquoted, so PostgreSQL holds `artifact`, `eventpath`, … where the statements say `Artifact`,
 * `EventPath`. (No effect on MySQL and SQLite, whose MLMD tables have the mixed-case names.)
 */
export const MLMD_IDENTIFIERS = { foldIdentifiers: true } as const satisfies OpenOptions;

/** The 15 tables of every supported schema version, as statements name them. */
export const MLMD_TABLES = [
  'Type',
  'TypeProperty',
  'ParentType',
  'Artifact',
  'ArtifactProperty',
  'Execution',
  'ExecutionProperty',
  'Context',
  'ContextProperty',
  'ParentContext',
  'Event',
  'EventPath',
  'Association',
  'Attribution',
  'MLMDEnv',
] as const;

export const SUPPORTED_SCHEMA_VERSIONS = [8, 9, 10] as const;
export type SupportedSchemaVersion = (typeof SUPPORTED_SCHEMA_VERSIONS)[number];

/** Which table has which columns, by lower-cased table name. */
export class ColumnCatalog {
  private readonly byTable: Map<string, Set<string>>;

  constructor(entries: Iterable<{ table: string; column: string }>) {
    this.byTable = new Map();
    for (const { table, column } of entries) {
      const key = table.toLowerCase();
      let set = this.byTable.get(key);
      if (!set) this.byTable.set(key, (set = new Set()));
      set.add(column.toLowerCase());
    }
  }

  hasTable(table: string): boolean {
    return this.byTable.has(table.toLowerCase());
  }

  has(table: string, column: string): boolean {
    return this.byTable.get(table.toLowerCase())?.has(column.toLowerCase()) ?? false;
  }

  /** `alias.column`, or a NULL of the same name when the column does not exist in this schema. */
  select(alias: string, table: string, column: string): string {
    return `${this.has(table, column) ? `${alias}.\`${column}\`` : 'NULL'} AS \`${column}\``;
  }
}

/** Reads the column list of every table of the connected database. */
export async function readColumnCatalog(db: Queryable): Promise<ColumnCatalog> {
  return new ColumnCatalog(await listColumns(db));
}

const UPGRADE_HINT = 'upgrade the database first by starting the MLMD server once with --enable_database_upgrade';

/**
 * Returns the schema version recorded in `MLMDEnv`, refusing databases that are not MLMD or whose
 * version this tool does not know how to read.
 */
export async function checkSchemaVersion(db: Queryable, catalog: ColumnCatalog, display: string): Promise<SupportedSchemaVersion> {
  const supported = SUPPORTED_SCHEMA_VERSIONS.join(', ');
  // ml-metadata 0.13.2 kept no MLMDEnv; MLMD itself recognises that release by `Type.is_artifact_type`.
  if (!catalog.hasTable('MLMDEnv') && catalog.has('Type', 'is_artifact_type')) {
    throw new BridgeError(
      'SCHEMA_VERSION',
      `MLMD schema version 0 (ml-metadata 0.13.2, which kept no MLMDEnv table) is not supported (supported: ${supported}) in ${display}`,
      UPGRADE_HINT,
    );
  }
  if (!catalog.hasTable('Type') || !catalog.hasTable('MLMDEnv')) {
    throw new BridgeError(
      'NOT_MLMD_DATABASE',
      `${display} is not an MLMD database: it has no ${catalog.hasTable('Type') ? 'MLMDEnv' : 'Type'} table`,
      'point --mlmd at the database the MLMD server uses (KFP calls it metadb)',
    );
  }
  const rows = await db.all<{ schema_version: unknown }>('SELECT `schema_version` FROM `MLMDEnv`');
  if (rows.length === 0) {
    throw new BridgeError('NOT_MLMD_DATABASE', `${display} has an empty MLMDEnv table, so its MLMD schema version is unknown`);
  }
  if (rows.length > 1) {
    const found = rows.map((r) => String(r.schema_version)).join(', ');
    throw new BridgeError('SCHEMA_VERSION', `${display} records several MLMD schema versions (${found}); expected exactly one`);
  }
  const version = Number(rows[0]!.schema_version);
  if (!(SUPPORTED_SCHEMA_VERSIONS as readonly number[]).includes(version)) {
    throw new BridgeError(
      'SCHEMA_VERSION',
      `MLMD schema version ${String(rows[0]!.schema_version)} is not supported (supported: ${supported}) in ${display}`,
      version < SUPPORTED_SCHEMA_VERSIONS[0]
        ? UPGRADE_HINT
        : 'this database was written by a newer MLMD than mlmd-bridge knows; use a newer mlmd-bridge',
    );
  }
  return version as SupportedSchemaVersion;
}
