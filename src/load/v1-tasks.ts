/**
 * The KFP 2.x `tasks` table (cache rows and persistence-agent rows, kfp-facts.md §B.1) shares its
 * name with the KFP 3 table, and KFP 3's AutoMigrate cannot turn one into the other (§D.1). So
 * before the KFP 3 tables are created it is renamed to `tasks_v1_backup`, and `rollback` renames it
 * back. On MySQL its FK must also go, because FK names are unique per schema and the KFP 3 `tasks`
 * table uses the very same name; the FK clauses are recorded as the server printed them, so the
 * restore can re-add them and leave SHOW CREATE TABLE exactly as it was.
 */
import type { Queryable } from '../db/connection.ts';
import type { Dialect } from '../db/url.ts';
import { quoteIdent as q } from '../db/dialect.ts';
import { BridgeError } from '../errors.ts';
import { targetDialect } from './kfp-database.ts';
import { deleteState, ensureBridgeTables, getJsonState, getState, isStringArray, setState, STATE_KEYS } from './bridge-tables.ts';
import { describeTable, isV1TasksTable, tableExists } from './schema.ts';

export const V1_TASKS_BACKUP = 'tasks_v1_backup';

/** One FK of the v1 table. `clause` is the exact text the database printed; the rest is parsed from it. */
export interface RecordedForeignKey {
  name: string;
  clause: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

/**
 * `master:backend/src/apiserver/model/task.go` as GORM creates it on MySQL (DefaultStringSize 255:
 * untyped strings are varchar(255), LargeText is LONGTEXT). The seed command builds KFP 2.x
 * databases with it; `run_details` must exist first.
 */
const V1_TASKS_MYSQL = [
  `CREATE TABLE \`tasks\` (
  \`UUID\` varchar(191) NOT NULL,
  \`Namespace\` varchar(255) NOT NULL,
  \`PipelineName\` varchar(255) NOT NULL,
  \`RunUUID\` varchar(191) NOT NULL,
  \`PodName\` varchar(255) NOT NULL,
  \`MLMDExecutionID\` varchar(255) NOT NULL,
  \`CreatedTimestamp\` bigint NOT NULL,
  \`StartedTimestamp\` bigint DEFAULT 0,
  \`FinishedTimestamp\` bigint DEFAULT 0,
  \`Fingerprint\` varchar(255) NOT NULL,
  \`Name\` varchar(255) DEFAULT NULL,
  \`ParentTaskUUID\` varchar(255) DEFAULT NULL,
  \`State\` varchar(255) DEFAULT NULL,
  \`StateHistory\` LONGTEXT DEFAULT NULL,
  \`MLMDInputs\` LONGTEXT DEFAULT NULL,
  \`MLMDOutputs\` LONGTEXT DEFAULT NULL,
  \`ChildrenPods\` LONGTEXT DEFAULT NULL,
  \`Payload\` LONGTEXT DEFAULT NULL,
  PRIMARY KEY (\`UUID\`),
  INDEX \`tasks_RunUUID_run_details_UUID_foreign\` (\`RunUUID\`),
  CONSTRAINT \`tasks_RunUUID_run_details_UUID_foreign\` FOREIGN KEY (\`RunUUID\`) REFERENCES \`run_details\`(\`UUID\`) ON DELETE CASCADE ON UPDATE CASCADE
)`,
];

// The table name is double-quoted because SQLite rewrites it that way on RENAME; a quoted original
// therefore comes back byte-identical after move-aside and restore.
const V1_TASKS_SQLITE = [
  `CREATE TABLE "tasks" (
  "UUID" varchar(191) NOT NULL,
  "Namespace" varchar(255) NOT NULL,
  "PipelineName" varchar(255) NOT NULL,
  "RunUUID" varchar(191) NOT NULL,
  "PodName" varchar(255) NOT NULL,
  "MLMDExecutionID" varchar(255) NOT NULL,
  "CreatedTimestamp" bigint NOT NULL,
  "StartedTimestamp" bigint DEFAULT 0,
  "FinishedTimestamp" bigint DEFAULT 0,
  "Fingerprint" varchar(255) NOT NULL,
  "Name" varchar(255) DEFAULT NULL,
  "ParentTaskUUID" varchar(255) DEFAULT NULL,
  "State" varchar(255) DEFAULT NULL,
  "StateHistory" text DEFAULT NULL,
  "MLMDInputs" text DEFAULT NULL,
  "MLMDOutputs" text DEFAULT NULL,
  "ChildrenPods" text DEFAULT NULL,
  "Payload" text DEFAULT NULL,
  PRIMARY KEY ("UUID"),
  CONSTRAINT "tasks_RunUUID_run_details_UUID_foreign" FOREIGN KEY ("RunUUID") REFERENCES "run_details"("UUID") ON DELETE CASCADE ON UPDATE CASCADE
)`,
  'CREATE INDEX "tasks_RunUUID_run_details_UUID_foreign" ON "tasks" ("RunUUID")',
];

/**
 * The same model as GORM's `pgx` dialect creates it: no DefaultStringSize there, so untyped strings
 * are `text`; LargeText is TEXT; the RunUUID index keeps the FK's name (an index and a constraint may
 * share a name on PostgreSQL).
 */
const V1_TASKS_POSTGRES = [
  `CREATE TABLE "tasks" ("UUID" varchar(191) NOT NULL,"Namespace" text NOT NULL,"PipelineName" text NOT NULL,` +
    `"RunUUID" varchar(191) NOT NULL,"PodName" text NOT NULL,"MLMDExecutionID" text NOT NULL,"CreatedTimestamp" bigint NOT NULL,` +
    `"StartedTimestamp" bigint DEFAULT 0,"FinishedTimestamp" bigint DEFAULT 0,"Fingerprint" text NOT NULL,"Name" text DEFAULT null,` +
    `"ParentTaskUUID" text DEFAULT null,"State" text DEFAULT null,"StateHistory" TEXT DEFAULT null,"MLMDInputs" TEXT DEFAULT null,` +
    `"MLMDOutputs" TEXT DEFAULT null,"ChildrenPods" TEXT DEFAULT null,"Payload" TEXT DEFAULT null,PRIMARY KEY ("UUID"),` +
    `CONSTRAINT "tasks_RunUUID_run_details_UUID_foreign" FOREIGN KEY ("RunUUID") REFERENCES "run_details"("UUID") ON DELETE CASCADE ON UPDATE CASCADE)`,
  'CREATE INDEX IF NOT EXISTS "tasks_RunUUID_run_details_UUID_foreign" ON "tasks" ("RunUUID")',
];

const V1_TASKS: Record<Dialect, string[]> = { mysql: V1_TASKS_MYSQL, sqlite: V1_TASKS_SQLITE, postgres: V1_TASKS_POSTGRES };

/** Creates the KFP 2.x `tasks` table (for seeding a KFP 2.x database). */
export async function createV1TasksTable(db: Queryable): Promise<void> {
  for (const sql of V1_TASKS[db.dialect]) await db.run(sql);
}

/** The CREATE TABLE text the database itself reports for a table. */
export async function showCreateTable(db: Queryable, name: string): Promise<string> {
  if (db.dialect === 'postgres') return postgresTableDefinition(db, name);
  if (targetDialect(db) === 'mysql') {
    const [row] = await db.all<Record<string, string>>(`SHOW CREATE TABLE \`${name.replace(/`/g, '``')}\``);
    return row?.['Create Table'] ?? '';
  }
  const [row] = await db.all<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [name]);
  return row?.sql ?? '';
}

/**
 * PostgreSQL has no SHOW CREATE TABLE: the columns as the catalog reads them, then each index's and
 * constraint's definition as the server prints it (pg_get_indexdef, pg_get_constraintdef), names included.
 */
async function postgresTableDefinition(db: Queryable, name: string): Promise<string> {
  const columns = (await describeTable(db, name)).columns.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' NOT NULL'}${c.default === null ? '' : ` DEFAULT '${c.default}'`}`);
  const defs = await db.all<{ def: string }>(
    `SELECT pg_get_indexdef(x.indexrelid) AS def FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ?
     UNION ALL
     SELECT 'CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
      WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ?
     ORDER BY 1`,
    [name, name],
  );
  return [`TABLE ${name}`, ...columns, ...defs.map((d) => d.def)].join('\n');
}

const IDENT = String.raw`(?:\x60[^\x60]+\x60|"[^"]+"|\[[^\]]+\]|\w+)`;
const FK_CLAUSE = new RegExp(
  String.raw`CONSTRAINT\s+(${IDENT})\s+FOREIGN\s+KEY\s*\(([^)]*)\)\s*REFERENCES\s*(${IDENT})\s*\(([^)]*)\)` +
    String.raw`(?:\s+ON\s+(?:DELETE|UPDATE)\s+(?:SET\s+NULL|SET\s+DEFAULT|CASCADE|RESTRICT|NO\s+ACTION))*`,
  'gi',
);

const bare = (s: string) => s.trim().replace(/^[`"[]|[`"\]]$/g, '');

/** The table-level FK clauses of a CREATE TABLE text, each exactly as written there. */
export function foreignKeyClauses(createTable: string): RecordedForeignKey[] {
  return [...createTable.matchAll(FK_CLAUSE)].map((m) => ({
    name: bare(m[1]!),
    clause: m[0],
    columns: m[2]!.split(',').map(bare),
    refTable: bare(m[3]!),
    refColumns: m[4]!.split(',').map(bare),
  }));
}

/** The FK clauses recorded when the v1 table was moved aside; STATE_CORRUPT when the record is malformed. */
export async function recordedForeignKeys(db: Queryable): Promise<RecordedForeignKey[] | undefined> {
  if (!(await tableExists(db, 'mlmd_bridge_state'))) return undefined;
  return getJsonState(db, STATE_KEYS.v1TasksForeignKeys, isRecordedForeignKeys, 'a JSON array of {name, clause, columns, refTable, refColumns}');
}

const isRecordedForeignKeys = (v: unknown): v is RecordedForeignKey[] =>
  Array.isArray(v) &&
  v.every((fk: Partial<RecordedForeignKey> | null) => typeof fk?.name === 'string' && typeof fk.clause === 'string' && isStringArray(fk.columns) && typeof fk.refTable === 'string' && isStringArray(fk.refColumns));

/** PostgreSQL's name for the primary key index of a table created with an unnamed PRIMARY KEY, as GORM creates them. */
export const pkeyName = (table: string): string => `${table}_pkey`;

export async function renameTable(db: Queryable, from: string, to: string): Promise<void> {
  await db.run(targetDialect(db) === 'mysql' ? `RENAME TABLE ${q(db, from)} TO ${q(db, to)}` : `ALTER TABLE ${q(db, from)} RENAME TO ${q(db, to)}`);
  await renamePrimaryKeyIndex(db, to, pkeyName(from), pkeyName(to));
}

/**
 * PostgreSQL only: index names are per schema and a table's rename keeps them, so the backup would
 * keep \`tasks_pkey\` and the KFP 3 table's primary key would be named \`tasks_pkey1\` instead of what
 * GORM gets on a fresh database. The backup's primary key index follows the table's name.
 */
async function renamePrimaryKeyIndex(db: Queryable, table: string, from: string, to: string): Promise<void> {
  if (db.dialect !== 'postgres') return;
  const [owned] = await db.all(
    `SELECT 1 AS present FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
      WHERE x.indisprimary AND t.relnamespace = current_schema()::regnamespace AND t.relname = ? AND i.relname = ?`,
    [table, from],
  );
  if (owned) await db.run(`ALTER INDEX ${q(db, from)} RENAME TO ${q(db, to)}`);
}

/** MySQL only: drops the recorded FKs that `table` still has (all of them after a fresh rename). */
async function dropRecordedForeignKeys(db: Queryable, recorded: RecordedForeignKey[], table = V1_TASKS_BACKUP): Promise<void> {
  if (targetDialect(db) !== 'mysql') return;
  const names = await foreignKeyNamesOf(db, table);
  for (const fk of recorded) {
    if (names.has(fk.name)) await db.run(`ALTER TABLE ${q(db, table)} DROP FOREIGN KEY ${q(db, fk.name)}`);
  }
}

/** MySQL: the names of the FKs a table has. */
export async function foreignKeyNamesOf(db: Queryable, table: string): Promise<Set<string>> {
  const present = await db.all<{ name: string }>(
    `SELECT CONSTRAINT_NAME AS name FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [table],
  );
  return new Set(present.map((r) => r.name));
}

/**
 * Records the CREATE TABLE text and FK clauses of the v1 `tasks` table, unless a record is there
 * already: an interrupted cut-over may have dropped the FK, and the record must keep the original.
 */
async function recordV1Tasks(db: Queryable): Promise<RecordedForeignKey[]> {
  await ensureBridgeTables(db);
  const recorded = await recordedForeignKeys(db);
  if (recorded !== undefined && (await getState(db, STATE_KEYS.v1TasksCreateTable)) !== undefined) return recorded;
  const createTable = await showCreateTable(db, 'tasks');
  const fks = foreignKeyClauses(createTable);
  await setState(db, STATE_KEYS.v1TasksCreateTable, createTable);
  await setState(db, STATE_KEYS.v1TasksForeignKeys, JSON.stringify(fks));
  return fks;
}

/**
 * Renames the KFP 2.x `tasks` table to `tasks_v1_backup`, after recording its CREATE TABLE text
 * and FK clauses in mlmd_bridge_state; on MySQL then drops those FKs from the backup. Safe to
 * repeat: a move that was interrupted after the rename is completed by the next call.
 */
export async function moveV1TasksAside(db: Queryable): Promise<'moved' | 'absent' | 'already-moved'> {
  const v1InPlace = await isV1TasksTable(db, 'tasks');
  if (await tableExists(db, V1_TASKS_BACKUP)) {
    if (v1InPlace) {
      throw new BridgeError(
        'TARGET_SCHEMA_MISMATCH',
        `both a KFP 2.x tasks table and ${V1_TASKS_BACKUP} exist, so the old table cannot be moved aside`,
        `find out which copy is current; keep that one as tasks_v1_backup and drop or rename the other`,
      );
    }
    await dropRecordedForeignKeys(db, (await recordedForeignKeys(db)) ?? []);
    await renamePrimaryKeyIndex(db, V1_TASKS_BACKUP, pkeyName('tasks'), pkeyName(V1_TASKS_BACKUP));
    return 'already-moved';
  }
  if (!v1InPlace) return 'absent';

  // Recorded before anything changes, so that an interrupted move can always be undone.
  const fks = await recordV1Tasks(db);
  await renameTable(db, 'tasks', V1_TASKS_BACKUP);
  await dropRecordedForeignKeys(db, fks);
  return 'moved';
}

/**
 * The first half of a cut-over (MySQL): the v1 `tasks` table, still in place, loses its FKs, whose
 * names KFP 3's tasks table needs (FK names are unique per database). Recorded first, so rollback
 * and `restoreV1ForeignKeysInPlace` can put them back. Idempotent.
 */
export async function releaseV1ForeignKeyNames(db: Queryable): Promise<void> {
  const fks = await recordV1Tasks(db);
  await dropRecordedForeignKeys(db, fks, 'tasks');
}

/**
 * Undoes an interrupted cut-over's `releaseV1ForeignKeyNames` while the v1 table is still `tasks`:
 * re-adds the recorded FKs it lacks, so KFP 2.x finds its table as it was. No-op elsewhere.
 */
export async function restoreV1ForeignKeysInPlace(db: Queryable): Promise<void> {
  if (targetDialect(db) !== 'mysql' || !(await isV1TasksTable(db, 'tasks'))) return;
  const recorded = (await recordedForeignKeys(db)) ?? [];
  const present = await foreignKeyNamesOf(db, 'tasks');
  for (const fk of recorded) {
    if (present.has(fk.name)) continue;
    await refuseOrphans(db, fk, 'tasks');
    await db.run(`ALTER TABLE ${q(db, 'tasks')} ADD ${fk.clause}`);
  }
}

/**
 * The inverse of moveV1TasksAside, for `rollback`: renames `tasks_v1_backup` back to `tasks` and
 * re-adds the recorded FK clauses. The KFP 3 `tasks` table must be gone already.
 */
export async function restoreV1Tasks(db: Queryable): Promise<'restored' | 'absent'> {
  if (!(await tableExists(db, V1_TASKS_BACKUP))) return 'absent';
  if (await tableExists(db, 'tasks')) {
    throw new BridgeError(
      'TARGET_SCHEMA_MISMATCH',
      `cannot restore ${V1_TASKS_BACKUP}: a table named tasks exists`,
      'drop the KFP 3 tables (artifact_tasks, tasks, artifacts) first; rollback does this before it restores the old table',
    );
  }
  const recorded = (await recordedForeignKeys(db)) ?? [];
  const toAdd = targetDialect(db) === 'mysql' ? recorded : [];
  for (const fk of toAdd) await refuseOrphans(db, fk);

  await renameTable(db, V1_TASKS_BACKUP, 'tasks');
  for (const fk of toAdd) await db.run(`ALTER TABLE ${q(db, 'tasks')} ADD ${fk.clause}`);

  if (await tableExists(db, 'mlmd_bridge_state')) {
    const before = await getState(db, STATE_KEYS.v1TasksCreateTable);
    const after = await showCreateTable(db, 'tasks');
    if (before !== undefined && before !== after) {
      throw new BridgeError(
        'INTERNAL',
        `the restored tasks table differs from the one that was moved aside.\nbefore:\n${before}\nafter:\n${after}`,
        `the recorded definition is kept in mlmd_bridge_state (${STATE_KEYS.v1TasksCreateTable})`,
      );
    }
    await deleteState(db, STATE_KEYS.v1TasksCreateTable);
    await deleteState(db, STATE_KEYS.v1TasksForeignKeys);
  }
  return 'restored';
}

/**
 * While the FK was dropped nothing cascaded into the backup, so runs deleted in the meantime may
 * have left rows behind; re-adding the FK over them would fail, so stop before changing anything.
 */
async function refuseOrphans(db: Queryable, fk: RecordedForeignKey, table = V1_TASKS_BACKUP): Promise<void> {
  const join = fk.columns.map((c, i) => `p.${q(db, fk.refColumns[i]!)} = b.${q(db, c)}`).join(' AND ');
  const notNull = fk.columns.map((c) => `b.${q(db, c)} IS NOT NULL`).join(' AND ');
  const where = `${notNull} AND NOT EXISTS (SELECT 1 FROM ${q(db, fk.refTable)} p WHERE ${join})`;
  const [row] = await db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q(db, table)} b WHERE ${where}`);
  const n = Number(row?.n ?? 0);
  if (n > 0) {
    throw new BridgeError(
      'TARGET_SCHEMA_MISMATCH',
      `cannot restore the foreign key ${fk.name}: ${n} row(s) of ${V1_TASKS_BACKUP} point at ${fk.refTable} rows that no longer exist`,
      `these rows would have been deleted by the cascade; remove them with DELETE b FROM ${table} b WHERE ${where}`,
    );
  }
}
