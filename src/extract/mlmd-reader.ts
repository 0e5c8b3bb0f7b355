/**
 * The read-only view of an MLMD database that `plan`, `migrate`, `verify` and the shim use.
 * Opening checks that the database is MLMD with a supported schema version and notes which
 * version-dependent columns exist; every read after that tolerates their absence.
 */
import { currentSchema, unreadableTables } from '../db/catalog.ts';
import { type Db, openDb, type OpenOptions } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { latin1ClientSpellings, readingLatin1ClientText } from './latin1-client-text.ts';
import { storableText } from '../db/postgres-text.ts';
import type { KfpRunDetails, MlmdType, RunBundle } from '../transform/model.ts';
import { PIPELINE_RUN_TYPE, readRunBundles } from './run-bundles.ts';
import { type ColumnCatalog, checkSchemaVersion, MLMD_IDENTIFIERS, MLMD_TABLES, readColumnCatalog, type SupportedSchemaVersion } from './schema-version.ts';
import { countSource, listNonKfp, type NonKfpRecord, type SourceCounts } from './source-census.ts';
import { num, textOrNull } from '../db/sql.ts';

export interface RunContextSummary {
  id: number;
  name: string;
  createMs: number;
  updateMs: number;
}

export interface MlmdSource {
  readonly schemaVersion: SupportedSchemaVersion;
  /** The read-only connection; writes through it fail. */
  readonly db: Db;
  /** Which tables and columns this database has. */
  readonly catalog: ColumnCatalog;
  close(): Promise<void>;
  /** Every type, ascending by id (the nine `mlmd.*` simple types included). */
  readTypes(): Promise<MlmdType[]>;
  /** The `system.PipelineRun` contexts, ascending by id. */
  listRunContexts(): Promise<RunContextSummary[]>;
  /** One batch of runs; ids that are not contexts are skipped; order follows `contextIds`. */
  readRunBundles(contextIds: number[], runDetails: Map<string, KfpRunDetails>): Promise<RunBundle[]>;
  countSource(): Promise<SourceCounts>;
  /** `above`: only the records with larger ids. */
  listNonKfp(above?: { context: number; execution: number }): AsyncIterable<NonKfpRecord>;
  /** The highest id of each node table and of Type: ids handed out later must stay above them. */
  maxIds(): Promise<{ execution: number; artifact: number; context: number; type: number }>;
  /** Every stored string that reads as `text`: what a lookup by a text value must match. */
  spellings(text: string): string[];
}

export async function openMlmdSource(url: string, opts: Pick<OpenOptions, 'onAvailability'> = {}): Promise<MlmdSource> {
  const opened = await openDb(url, { ...MLMD_IDENTIFIERS, readOnly: true, role: 'MLMD database', onAvailability: opts.onAvailability });
  // MLMD's own MySQL client stores text as latin1 characters (latin1-client-text.ts); SQLite and PostgreSQL get UTF-8.
  const db = opened.dialect === 'mysql' ? readingLatin1ClientText(opened) : opened;
  try {
    await refuseUnreadable(db);
    const catalog = await readColumnCatalog(db);
    const schemaVersion = await checkSchemaVersion(db, catalog, `the MLMD database ${db.target.display}`);
    return new MlmdSourceImpl(db, catalog, schemaVersion);
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
}

/**
 * PostgreSQL: a role that sees the MLMD tables but may not read them is told what to grant, rather
 * than failing at the first read; so is one that may use no schema of its search_path (PostgreSQL
 * then shows it no tables at all, and the database would pass for no MLMD database). MySQL turns
 * such a user away when it connects.
 */
async function refuseUnreadable(db: Db): Promise<void> {
  if (db.target.dialect !== 'postgres') return;
  const user = db.target.user;
  const schema = await currentSchema(db);
  if (schema === null) {
    throw new BridgeError(
      'INSUFFICIENT_PRIVILEGE',
      `the role "${user}" may use no schema of its search_path in ${db.target.display}`,
      `grant it the schema of the MLMD tables: GRANT USAGE ON SCHEMA public TO "${user}" (or set its search_path to that schema)`,
    );
  }
  const denied = await unreadableTables(db, MLMD_TABLES);
  if (denied.length === 0) return;
  throw new BridgeError(
    'INSUFFICIENT_PRIVILEGE',
    `the role "${user}" may not read the MLMD table${denied.length > 1 ? 's' : ''} ${denied.join(', ')} of ${db.target.display}`,
    `grant it read access: GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO "${user}"`,
  );
}

class MlmdSourceImpl implements MlmdSource {
  constructor(
    readonly db: Db,
    readonly catalog: ColumnCatalog,
    readonly schemaVersion: SupportedSchemaVersion,
  ) {}

  close(): Promise<void> {
    return this.db.close();
  }

  async readTypes(): Promise<MlmdType[]> {
    const rows = await this.db.all<Record<string, unknown>>('SELECT `id`, `name`, `type_kind`, `version` FROM `Type` ORDER BY `id`');
    return rows.map((r) => ({ id: num(r.id), name: String(r.name), typeKind: num(r.type_kind), version: textOrNull(r.version) }));
  }

  async listRunContexts(): Promise<RunContextSummary[]> {
    const rows = await this.db.all<Record<string, unknown>>(
      'SELECT c.`id`, c.`name`, c.`create_time_since_epoch`, c.`last_update_time_since_epoch` FROM `Context` c ' +
        'JOIN `Type` t ON t.`id` = c.`type_id` WHERE t.`name` = ? AND t.`type_kind` = 2 ORDER BY c.`id`',
      [PIPELINE_RUN_TYPE],
    );
    return rows.map((r) => ({
      id: num(r.id),
      name: String(r.name),
      createMs: num(r.create_time_since_epoch),
      updateMs: num(r.last_update_time_since_epoch),
    }));
  }

  readRunBundles(contextIds: number[], runDetails: Map<string, KfpRunDetails>): Promise<RunBundle[]> {
    return readRunBundles(this.db, this.catalog, contextIds, runDetails);
  }

  async countSource(): Promise<SourceCounts> {
    return countSource(this.db, await this.readTypes());
  }

  listNonKfp(above?: { context: number; execution: number }): AsyncIterable<NonKfpRecord> {
    return listNonKfp(this.db, undefined, above);
  }

  async maxIds(): Promise<{ execution: number; artifact: number; context: number; type: number }> {
    const max = async (table: string) => num((await this.db.all<Record<string, unknown>>(`SELECT COALESCE(MAX(\`id\`), 0) AS m FROM \`${table}\``))[0]?.m ?? 0);
    return { execution: await max('Execution'), artifact: await max('Artifact'), context: await max('Context'), type: await max('Type') };
  }

  spellings(text: string): string[] {
    if (this.db.dialect === 'mysql') return latin1ClientSpellings(text);
    return storableText(this.db.dialect, text) ? [text] : [];
  }
}
