/**
 * The KFP 3 target tables (`artifacts`, `tasks`, `artifact_tasks`) as the API server of the
 * `mlmd-removal` branch creates them with GORM AutoMigrate, on MySQL, PostgreSQL and SQLite: their
 * one description is db/kfp-tables.ts; here they are created and the existing ones checked.
 *
 * Why exact: when KFP 3 starts on a database mlmd-bridge prepared, its AutoMigrate must find
 * nothing to change (design.md §2).
 */
import { tableExists } from '../db/catalog.ts';
import type { Queryable } from '../db/connection.ts';
import { ARTIFACT_TASKS, ARTIFACTS, TASKS } from '../db/kfp-tables.ts';
import { createTableStatements as specStatements, type TableSpec } from '../db/table-spec.ts';
import { describeTable, diffTableStructure, expectedStructure as specStructure, type TableStructure } from '../db/table-structure.ts';
import type { Dialect } from '../db/url.ts';
import { BridgeError } from '../errors.ts';

export type TargetTable = 'artifacts' | 'tasks' | 'artifact_tasks';

/** Parents before children: artifact_tasks references both others. */
export const TARGET_TABLES: readonly TargetTable[] = ['artifacts', 'tasks', 'artifact_tasks'];

const SPECS: Record<TargetTable, TableSpec> = { artifacts: ARTIFACTS, tasks: TASKS, artifact_tasks: ARTIFACT_TASKS };

/** The columns of a KFP 3 table typed JSON: MySQL 8 hands them back re-serialized (keys sorted, spaces added). */
export function jsonColumns(name: TargetTable): ReadonlySet<string> {
  return new Set(SPECS[name].columns.filter((c) => c.type === 'json').map((c) => c.name));
}

/** The statements that create one KFP 3 table in `dialect`, as GORM writes them there. */
export function createTableStatements(name: TargetTable, dialect: Dialect): string[] {
  return specStatements(SPECS[name], dialect);
}

/** What a KFP 3 table must look like in the given dialect, in the normalized form describeTable returns. */
export function expectedStructure(name: TargetTable, dialect: Dialect): TableStructure {
  return specStructure(SPECS[name], dialect);
}

export type { ColumnInfo, ForeignKeyInfo, IndexInfo, TableStructure } from '../db/table-structure.ts';
/** Live with the database layer; re-exported for the modules that import them from here. */
export { describeTable, diffTableStructure, tableExists };

/** A KFP database is recognised by its `run_details` table, which every KFP 3 FK points at. */
export async function isKfpDatabase(db: Queryable): Promise<boolean> {
  return tableExists(db, 'run_details');
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
    const diff = diffTableStructure(expectedStructure(name, db.dialect), await describeTable(db, name));
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
      // Raw SQL: DDL equal to GORM's, rendered from the one table spec (db/table-spec.ts); drizzle-orm has no builder for it.
      for (const sql of createTableStatements(name, db.dialect)) await db.run(sql);
      created.push(name);
    } catch (e) {
      // Nothing half-made stays behind: the tables this call created go again, newest first (raw SQL: DDL, which drizzle-orm cannot build).
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
