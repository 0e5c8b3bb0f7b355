/**
 * mlmd-bridge's own bookkeeping inside the KFP database: the id map the shim needs for legacy
 * integer ids, the per-run checkpoints that make `migrate` resumable, and a small key/value table
 * of facts `status` and `rollback` rely on (design.md §3). None of these tables is known to KFP.
 */
import { targetDialect } from './kfp-database.ts';
import type { Queryable } from '../db/connection.ts';
import { tableExists } from '../db/catalog.ts';
import { BRIDGE_REJECTS, BRIDGE_RUN_DETAILS, BRIDGE_RUNS, BRIDGE_STATE, kfpTables, MLMD_ID_MAP } from '../db/kfp-tables.ts';
import { createTableStatements } from '../db/table-spec.ts';
import { eq } from 'drizzle-orm';
import { orm, proposed, upsert } from '../db/orm.ts';
import { BridgeError } from '../errors.ts';

/** Their columns and keys are described in db/kfp-tables.ts. */
const BRIDGE_TABLE_SPECS = [MLMD_ID_MAP, BRIDGE_RUNS, BRIDGE_STATE, BRIDGE_REJECTS, BRIDGE_RUN_DETAILS] as const;
export const BRIDGE_TABLES = BRIDGE_TABLE_SPECS.map((t) => t.name);

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

/** Creates whichever bookkeeping tables are missing and records the bookkeeping schema version. */
export async function ensureBridgeTables(db: Queryable): Promise<void> {
  // Raw SQL: DDL, rendered from the one table spec (db/table-spec.ts); drizzle-orm has no builder for it.
  for (const spec of BRIDGE_TABLE_SPECS) for (const sql of createTableStatements(spec, targetDialect(db), { ifNotExists: true })) await db.run(sql);
  if ((await getState(db, STATE_KEYS.schemaVersion)) === undefined) {
    await setState(db, STATE_KEYS.schemaVersion, BRIDGE_SCHEMA_VERSION);
  }
}

export async function getState(db: Queryable, name: string): Promise<string | undefined> {
  const { bridgeState: t } = kfpTables(db);
  const rows = await orm(db).select({ value: t.value }).from(t).where(eq(t.name, name));
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
  const { bridgeState: t } = kfpTables(db);
  await upsert(db, t, [{ name, value }], [t.name], { value: proposed(db, 'value') });
}

/** Adds `names` to the tables mlmd-bridge created, the ones rollback drops. */
export async function recordCreatedTables(db: Queryable, names: readonly string[]): Promise<void> {
  const before = (await getJsonState(db, STATE_KEYS.createdTargetTables, isStringArray, 'a JSON array of table names')) ?? [];
  const after = [...new Set([...before, ...names])];
  if (after.length !== before.length) await setState(db, STATE_KEYS.createdTargetTables, JSON.stringify(after));
}

/**
 * Records those of `names` that do not exist yet, before they are created: MySQL commits each
 * CREATE TABLE by itself, and a command killed between the CREATE and a record written after it
 * would leave a table rollback does not know it made.
 */
export async function recordTablesAboutToBeCreated(db: Queryable, names: readonly string[]): Promise<void> {
  const absent: string[] = [];
  for (const name of names) if (!(await tableExists(db, name))) absent.push(name);
  await recordCreatedTables(db, absent);
}

export async function deleteState(db: Queryable, name: string): Promise<void> {
  const { bridgeState: t } = kfpTables(db);
  await orm(db).delete(t).where(eq(t.name, name));
}

export async function dropBridgeTables(db: Queryable): Promise<void> {
  // mlmd_bridge_state last: while it exists, rollback knows there is a migration to undo, so a
  // rollback killed between these drops (each its own statement on MySQL) is finished by the next.
  const order = [...BRIDGE_TABLES.filter((t) => t !== BRIDGE_STATE.name), BRIDGE_STATE.name];
  // Raw SQL: DDL, for which drizzle-orm has no builder.
  for (const name of order) await db.run(`DROP TABLE IF EXISTS ${name}`);
}
