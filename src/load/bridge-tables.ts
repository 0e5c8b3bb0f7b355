/**
 * mlmd-bridge's own bookkeeping inside the KFP database: the id map the shim needs for legacy
 * integer ids, the per-run checkpoints that make `migrate` resumable, and a small key/value table
 * of facts `status` and `rollback` rely on (design.md §3). None of these tables is known to KFP.
 */
import { targetDialect } from './kfp-database.ts';
import type { Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';

export const BRIDGE_TABLES = ['mlmd_id_map', 'mlmd_bridge_runs', 'mlmd_bridge_state', 'mlmd_bridge_rejects', 'mlmd_bridge_run_details'] as const;

/** Bumped when the shape of the bookkeeping tables changes; stored under STATE_KEYS.schemaVersion. */
export const BRIDGE_SCHEMA_VERSION = '1';

/** The names under which facts are kept in mlmd_bridge_state. */
export const STATE_KEYS = {
  schemaVersion: 'schema_version',
  /** JSON array of the KFP 3 tables that mlmd-bridge created (rollback drops only these). */
  createdTargetTables: 'created_target_tables',
  /** JSON array of {name, clause}: the FK clauses of the v1 tasks table as the database printed them. */
  v1TasksForeignKeys: 'v1_tasks_foreign_keys',
  /** The full CREATE TABLE text of the v1 tasks table before it was moved, to prove the restore exact. */
  v1TasksCreateTable: 'v1_tasks_create_table',
  startedAt: 'migration_started_at',
  finishedAt: 'migration_finished_at',
  /** The MLMD URL with its password redacted. */
  sourceUrl: 'source_url',
  /** JSON {execution, artifact, context, type}: the highest MLMD ids, so the shim's ids for KFP-3-native rows stay above them. */
  mlmdMaxIds: 'mlmd_max_ids',
  /** How the ids of migrated rows were derived (transform/identity.ts); a migration never mixes two schemes. */
  idScheme: 'id_scheme',
  /** `kfp3` or `mlmd`: what tasks.Fingerprint holds (migrate --fingerprints); every later run keeps it. */
  fingerprints: 'fingerprints',
  /** `true` or `false`: the target's PUBLISH_LOGS the KFP 3 keys were computed for (migrate --publish-logs). */
  publishLogs: 'publish_logs',
  /** When the first `stage` of the staged upgrade started, and when its last true-up finished. */
  stageStartedAt: 'stage_started_at',
  stageFinishedAt: 'stage_finished_at',
  /** JSON {updateMs, eventId}: the MLMD high-water marks read at the start of the last finished true-up. */
  stageWatermark: 'stage_watermark',
  /** JSON {seconds, runs}: the wall time and the runs of the last finished true-up (plan and status estimate the outage from it). */
  stageLastTrueUp: 'stage_last_true_up',
  /** How many imported artifacts held their IdentityKey when the keys were last settled (a true-up that wrote nothing reports it). */
  identityKeys: 'identity_keys',
  /** JSON {context, execution}: the highest MLMD ids when the non-KFP records were last listed (a true-up lists those above). */
  nonKfpListedUpTo: 'non_kfp_listed_up_to',
  /** When `cutover` swapped the staged table in. */
  cutoverAt: 'cutover_at',
} as const;

const MYSQL_DDL = [
  `CREATE TABLE IF NOT EXISTS \`mlmd_id_map\` (
  \`kind\` varchar(32) NOT NULL,
  \`mlmd_id\` bigint NOT NULL,
  \`kfp_uuid\` varchar(191) NOT NULL,
  \`run_uuid\` varchar(191) NULL,
  \`extra\` text NULL,
  PRIMARY KEY (\`kind\`,\`mlmd_id\`,\`kfp_uuid\`),
  INDEX \`idx_mlmd_id_map_kfp_uuid\` (\`kfp_uuid\`),
  INDEX \`idx_mlmd_id_map_run_uuid\` (\`run_uuid\`)
)`,
  `CREATE TABLE IF NOT EXISTS \`mlmd_bridge_runs\` (
  \`run_uuid\` varchar(191) NOT NULL,
  \`context_id\` bigint NOT NULL,
  \`source_version\` varchar(64) NOT NULL,
  \`tasks\` int NOT NULL DEFAULT 0,
  \`artifacts\` int NOT NULL DEFAULT 0,
  \`links\` int NOT NULL DEFAULT 0,
  \`rejects\` int NOT NULL DEFAULT 0,
  \`migrated_at\` bigint NOT NULL,
  \`tool_version\` varchar(32) NOT NULL,
  PRIMARY KEY (\`run_uuid\`)
)`,
  `CREATE TABLE IF NOT EXISTS \`mlmd_bridge_state\` (
  \`name\` varchar(64) NOT NULL,
  \`value\` text NOT NULL,
  PRIMARY KEY (\`name\`)
)`,
  // Every skipped, degraded or adjusted record, kept so that a resumed migration still reports all of them.
  // run_key is the run UUID, or '' for records that belong to no KFP run (TFX, KFP v1).
  `CREATE TABLE IF NOT EXISTS \`mlmd_bridge_rejects\` (
  \`run_key\` varchar(191) NOT NULL,
  \`seq\` int NOT NULL,
  \`code\` varchar(64) NOT NULL,
  \`disposition\` varchar(16) NOT NULL,
  \`entity\` varchar(16) NOT NULL,
  \`mlmd_id\` bigint NOT NULL,
  \`reason\` text NOT NULL,
  PRIMARY KEY (\`run_key\`,\`seq\`)
)`,

  // `stage`: a digest of each run's run_details row as the last true-up read it; a row that differs, appears or goes marks a changed run.
  `CREATE TABLE IF NOT EXISTS \`mlmd_bridge_run_details\` (
  \`run_uuid\` varchar(191) NOT NULL,
  \`digest\` varchar(64) NOT NULL,
  PRIMARY KEY (\`run_uuid\`)
)`,
];

// SQLite index names are global to the database, hence the table prefix in them.
const SQLITE_DDL = [
  `CREATE TABLE IF NOT EXISTS "mlmd_id_map" (
  "kind" varchar(32) NOT NULL,
  "mlmd_id" bigint NOT NULL,
  "kfp_uuid" varchar(191) NOT NULL,
  "run_uuid" varchar(191) NULL,
  "extra" text NULL,
  PRIMARY KEY ("kind","mlmd_id","kfp_uuid")
)`,
  'CREATE INDEX IF NOT EXISTS "idx_mlmd_id_map_kfp_uuid" ON "mlmd_id_map" ("kfp_uuid")',
  'CREATE INDEX IF NOT EXISTS "idx_mlmd_id_map_run_uuid" ON "mlmd_id_map" ("run_uuid")',
  `CREATE TABLE IF NOT EXISTS "mlmd_bridge_runs" (
  "run_uuid" varchar(191) NOT NULL,
  "context_id" bigint NOT NULL,
  "source_version" varchar(64) NOT NULL,
  "tasks" int NOT NULL DEFAULT 0,
  "artifacts" int NOT NULL DEFAULT 0,
  "links" int NOT NULL DEFAULT 0,
  "rejects" int NOT NULL DEFAULT 0,
  "migrated_at" bigint NOT NULL,
  "tool_version" varchar(32) NOT NULL,
  PRIMARY KEY ("run_uuid")
)`,
  `CREATE TABLE IF NOT EXISTS "mlmd_bridge_state" (
  "name" varchar(64) NOT NULL,
  "value" text NOT NULL,
  PRIMARY KEY ("name")
)`,
  `CREATE TABLE IF NOT EXISTS "mlmd_bridge_rejects" (
  "run_key" varchar(191) NOT NULL,
  "seq" int NOT NULL,
  "code" varchar(64) NOT NULL,
  "disposition" varchar(16) NOT NULL,
  "entity" varchar(16) NOT NULL,
  "mlmd_id" bigint NOT NULL,
  "reason" text NOT NULL,
  PRIMARY KEY ("run_key","seq")
)`,

  `CREATE TABLE IF NOT EXISTS "mlmd_bridge_run_details" (
  "run_uuid" varchar(191) NOT NULL,
  "digest" varchar(64) NOT NULL,
  PRIMARY KEY ("run_uuid")
)`,
];

/** Creates whichever bookkeeping tables are missing and records the bookkeeping schema version. */
export async function ensureBridgeTables(db: Queryable): Promise<void> {
  for (const sql of targetDialect(db) === 'mysql' ? MYSQL_DDL : SQLITE_DDL) await db.run(sql);
  if ((await getState(db, STATE_KEYS.schemaVersion)) === undefined) {
    await setState(db, STATE_KEYS.schemaVersion, BRIDGE_SCHEMA_VERSION);
  }
}

export async function getState(db: Queryable, name: string): Promise<string | undefined> {
  const rows = await db.all<{ value: string }>('SELECT value FROM mlmd_bridge_state WHERE name = ?', [name]);
  return rows[0]?.value;
}

/**
 * A bookkeeping value stored as JSON. Malformed state stops the command (STATE_CORRUPT, exit 3) rather
 * than being read as empty: guessing would, say, make rollback keep tables it created.
 */
export async function getJsonState<T>(db: Queryable, name: string, valid: (v: unknown) => v is T, shape: string, hint?: string): Promise<T | undefined> {
  const raw = await getState(db, name);
  return raw === undefined ? undefined : parseJsonState(name, raw, valid, shape, hint);
}

/** The value of the bookkeeping row `name` whose text is `raw`; STATE_CORRUPT when it is not `shape`. `hint` says what to do instead of the default. */
export function parseJsonState<T>(name: string, raw: string, valid: (v: unknown) => v is T, shape: string, hint?: string): T {
  let value: unknown;
  let problem = `is not ${shape}`;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    problem = `is not JSON (${(e as Error).message})`;
  }
  if (value !== undefined && valid(value)) return value;
  const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  throw new BridgeError(
    'STATE_CORRUPT',
    `the bookkeeping row mlmd_bridge_state "${name}" ${problem}: ${JSON.stringify(shown)}`,
    hint ?? `restore that row from the backup of the KFP database taken before migrating, or set it by hand to ${shape}`,
  );
}

export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export async function setState(db: Queryable, name: string, value: string): Promise<void> {
  const sql =
    targetDialect(db) === 'mysql'
      ? 'INSERT INTO mlmd_bridge_state (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)'
      : 'INSERT INTO mlmd_bridge_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value';
  await db.run(sql, [name, value]);
}

export async function deleteState(db: Queryable, name: string): Promise<void> {
  await db.run('DELETE FROM mlmd_bridge_state WHERE name = ?', [name]);
}

export async function dropBridgeTables(db: Queryable): Promise<void> {
  for (const name of BRIDGE_TABLES) await db.run(`DROP TABLE IF EXISTS ${name}`);
}
