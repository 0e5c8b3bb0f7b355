/**
 * The KFP 3 tables as `stage` builds them while KFP 2.x still serves (design.md §5b): `artifacts`
 * and `artifact_tasks` under their own names (a KFP 2.x database has neither), KFP 3's `tasks`
 * under STAGED_TASKS, since KFP 2.x's own `tasks` table stays where it is and keeps receiving cache
 * rows. `cutover` swaps the staged table in, after which every name is KFP 3's (schema.ts).
 *
 * MySQL FK names are unique per database, and the v1 table holds KFP 3's RunUUID FK name
 * (kfp-facts §B.1/§C.1), so there the staged table's RunUUID FK has its own name until the cut-over
 * renames it. Index names are per table on MySQL; on SQLite they are global, but none of KFP 3's
 * collides with the v1 table's, and SQLite FK names are only text, so SQLite uses KFP 3's names.
 * On PostgreSQL FK names are per table, so KFP 3's are used; index names are per schema: the staged
 * table's primary key is `tasks_kfp3_staged_pkey` (PostgreSQL names it after the table), none of
 * KFP 3's other index names is one of the v1 table's, and the cut-over renames the primary keys.
 */
import { relationNamesTaken } from '../db/catalog.ts';
import type { Db, Queryable } from '../db/connection.ts';
import { quoteIdent as q } from '../db/dialect.ts';
import { BridgeError } from '../errors.ts';
import { type TargetDialect, targetDialect } from './kfp-database.ts';
import { createTableStatements, describeTable, diffTableStructure, expectedStructure, isV1TasksTable, tableExists, type TableStructure, type TargetTable } from './schema.ts';
import { pkeyName, releaseV1ForeignKeyNames, renameTable, V1_TASKS_BACKUP } from './v1-tasks.ts';

export const STAGED_TASKS = 'tasks_kfp3_staged';
/** KFP 3's name of the tasks → run_details FK, which the v1 tasks table has too. */
export const KFP3_RUN_FK = 'tasks_RunUUID_run_details_UUID_foreign';
/** MySQL: the staged table's RunUUID FK until the cut-over (≤ 64 characters). */
export const STAGED_RUN_FK = 'tasks_kfp3_staged_RunUUID_run_details_UUID_foreign';

/** In the order they are created: parents first (artifact_tasks references the other two). */
export const STAGED_TABLES: readonly TargetTable[] = ['artifacts', 'tasks', 'artifact_tasks'];

/** The physical name of a KFP 3 table while staged. */
export const stagedName = (t: TargetTable): string => (t === 'tasks' ? STAGED_TASKS : t);

const runFkName = (dialect: TargetDialect) => (dialect === 'mysql' ? STAGED_RUN_FK : KFP3_RUN_FK);

/** KFP 3's CREATE statements with `tasks` renamed: every identifier is quoted there, so whole quoted names are replaced. */
export function stagedCreateStatements(name: TargetTable, dialect: TargetDialect): string[] {
  const quote = dialect === 'mysql' ? (s: string) => `\`${s}\`` : (s: string) => `"${s}"`;
  return createTableStatements(name, dialect).map((sql) =>
    sql.split(quote('tasks')).join(quote(STAGED_TASKS)).split(quote(KFP3_RUN_FK)).join(quote(runFkName(dialect))),
  );
}

/** What a staged table must look like, in describeTable's normalized form. */
export function stagedStructure(name: TargetTable, dialect: TargetDialect): TableStructure {
  const s = expectedStructure(name, dialect);
  return {
    ...s,
    name: stagedName(name),
    foreignKeys: s.foreignKeys
      .map((fk) => ({ ...fk, name: fk.name === KFP3_RUN_FK ? runFkName(dialect) : fk.name, refTable: fk.refTable === 'tasks' ? STAGED_TASKS : fk.refTable }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** Where the KFP database stands in the staged upgrade, read from its tables alone. */
export type UpgradePhase =
  /** KFP 2.x's tasks table in place, nothing staged. */
  | 'kfp2'
  /** KFP 3's tasks under STAGED_TASKS, KFP 2.x's tasks in place (or none). */
  | 'staged'
  /** `tasks` is KFP 3's and KFP 2.x's is tasks_v1_backup (or there was none): cut over, or migrated one-shot. */
  | 'kfp3'
  /** Neither tasks table nor a staged one (a one-shot migrate stopped between its steps, or not a KFP 2.x database yet). */
  | 'other';

export async function upgradePhase(db: Queryable): Promise<UpgradePhase> {
  const staged = await tableExists(db, STAGED_TASKS);
  if (await isV1TasksTable(db, 'tasks')) return staged ? 'staged' : 'kfp2';
  if (await tableExists(db, 'tasks')) return 'kfp3';
  // A KFP 2.x database without its tasks table (no run ever cached): the cut-over only renames the staged one.
  return staged ? 'staged' : 'other';
}

/** ALREADY_CUT_OVER (exit 3) when `tasks` is KFP 3's table already: staging would build a second copy beside it. */
export async function refuseCutOver(db: Queryable): Promise<void> {
  const phase = await upgradePhase(db);
  if (phase === 'kfp3' || (phase === 'other' && (await tableExists(db, V1_TASKS_BACKUP)))) {
    throw new BridgeError(
      'ALREADY_CUT_OVER',
      `tasks in this KFP database is already KFP 3's table (the KFP 2.x one is ${V1_TASKS_BACKUP}): it was cut over or migrated one-shot, so there is nothing to stage`,
      'true up once more with `mlmd-bridge migrate` (KFP 2.x must be stopped), or go back to KFP 2.x with `mlmd-bridge rollback` and stage again',
    );
  }
}

/**
 * Creates the staged tables that are missing and checks those that exist; refuses (exit 3) a
 * database whose `tasks` is already KFP 3's. Returns the physical names it created.
 */
export async function ensureStagedTables(db: Queryable): Promise<string[]> {
  await refuseCutOver(db);
  const dialect = targetDialect(db);
  const missing: TargetTable[] = [];
  const differences: string[] = [];
  for (const t of STAGED_TABLES) {
    if (!(await tableExists(db, stagedName(t)))) missing.push(t);
    else differences.push(...diffTableStructure(stagedStructure(t, dialect), await describeTable(db, stagedName(t))));
  }
  if (differences.length > 0) {
    throw new BridgeError(
      'TARGET_SCHEMA_MISMATCH',
      `the staged KFP 3 tables differ from what stage builds:\n  ${differences.join('\n  ')}`,
      `these names belong to mlmd-bridge's staged upgrade; if another tool made them, rename them; if an older stage did, run mlmd-bridge rollback and stage again`,
    );
  }
  const created: string[] = [];
  for (const t of missing) {
    for (const sql of stagedCreateStatements(t, dialect)) await db.run(sql);
    created.push(stagedName(t));
  }
  return created;
}

/**
 * MySQL: renames the staged table's RunUUID FK to KFP 3's name (`back`: the other way, for a
 * staged table whose cut-over was interrupted), in one ALTER: the FK is dropped and added in the
 * same statement, so the table is never without it. With foreign_key_checks off the new FK is added
 * in place, without copying the table: its rows were checked by the old FK. Idempotent. The v1
 * table must have released the name first.
 */
export async function renameStagedRunForeignKey(s: Queryable, direction: 'to-kfp3' | 'back'): Promise<void> {
  if (targetDialect(s) !== 'mysql') return;
  const [from, to] = direction === 'to-kfp3' ? [STAGED_RUN_FK, KFP3_RUN_FK] : [KFP3_RUN_FK, STAGED_RUN_FK];
  const present = await s.all<{ name: string }>(
    'SELECT CONSTRAINT_NAME AS name FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?',
    [STAGED_TASKS, from],
  );
  if (present.length === 0) return;
  await s.run('SET SESSION foreign_key_checks = 0');
  try {
    await s.run(
      `ALTER TABLE ${q(s, STAGED_TASKS)} DROP FOREIGN KEY ${q(s, from)}, ADD CONSTRAINT ${q(s, to)} FOREIGN KEY (${q(s, 'RunUUID')}) ` +
        `REFERENCES ${q(s, 'run_details')} (${q(s, 'UUID')}) ON DELETE CASCADE ON UPDATE CASCADE`,
    );
  } finally {
    await s.run('SET SESSION foreign_key_checks = 1');
  }
}

/**
 * Refuses (TARGET_SCHEMA_MISMATCH, exit 3) a cut-over whose swap would fail on a name something
 * else holds, before anything is changed: `tasks_v1_backup`, and on PostgreSQL, where tables,
 * indexes and sequences share one namespace, every name the swap gives a table or primary key
 * index (the v1 table's own are handed over, so they do not count).
 */
export async function refuseTakenSwapNames(db: Queryable, hasV1: boolean): Promise<void> {
  const tables = hasV1 ? [V1_TASKS_BACKUP, 'tasks'] : ['tasks'];
  const taken =
    targetDialect(db) === 'postgres'
      ? await relationNamesTaken(db, [...tables, ...tables.map(pkeyName)], hasV1 ? 'tasks' : undefined)
      : hasV1 && (await tableExists(db, V1_TASKS_BACKUP))
        ? [V1_TASKS_BACKUP]
        : [];
  if (taken.length === 0) return;
  throw new BridgeError(
    'TARGET_SCHEMA_MISMATCH',
    `the cut-over would rename KFP 2.x's tasks table to ${V1_TASKS_BACKUP} and the staged one to tasks, but ${taken.join(', ')} ${taken.length > 1 ? 'are' : 'is'} already the name of another table or index`,
    'find out what holds the name (a copy left by hand, another tool); rename or drop it, then run mlmd-bridge cutover again',
  );
}

/**
 * The swap itself, in one atomic step: MySQL's multi-table RENAME TABLE, or one transaction on
 * SQLite and PostgreSQL, whose DDL is transactional (ALTER TABLE … RENAME rewrites the references
 * of artifact_tasks and of the table's own parent FK to the new name; FKs follow a renamed table on
 * all three). On PostgreSQL index names are per schema and survive a table's rename, so the same
 * transaction hands the primary keys' names over: the v1 table's `tasks_pkey` becomes
 * `tasks_v1_backup_pkey`, as a one-shot migrate names it (v1-tasks.ts), and the staged table's
 * `tasks_kfp3_staged_pkey` becomes `tasks_pkey`, as on a fresh database. No other index of either
 * table is named after the table (the v1 RunUUID index keeps the FK's name, as migrate leaves it).
 *
 * On MySQL the FK names are handed over first (the v1 table releases KFP 3's, the staged table takes
 * it; both idempotent, both leave the database before the swap), on the same session as the rename.
 *
 * Every statement waits at most `lockWaitSeconds` for a table lock (a session still using `tasks`
 * would otherwise hold the cut-over silently: PostgreSQL waits forever by default, MySQL a year):
 * past it the server's lock error stops the swap before anything is renamed.
 */
export async function swapStagedIn(db: Db, hasV1: boolean, lockWaitSeconds: number): Promise<void> {
  const seconds = Math.max(1, Math.ceil(lockWaitSeconds));
  const dialect = targetDialect(db);
  if (dialect === 'mysql') {
    const t = (n: string) => q(db, n);
    // A pinned session, so that the bound applies to these statements alone and is put back after.
    await db.session(async (s) => {
      const [saved] = await s.all<{ v: number | string }>('SELECT @@SESSION.lock_wait_timeout AS v');
      await s.run(`SET SESSION lock_wait_timeout = ${seconds}`);
      try {
        if (hasV1) await releaseV1ForeignKeyNames(s);
        await renameStagedRunForeignKey(s, 'to-kfp3');
        await s.run(hasV1 ? `RENAME TABLE ${t('tasks')} TO ${t(V1_TASKS_BACKUP)}, ${t(STAGED_TASKS)} TO ${t('tasks')}` : `RENAME TABLE ${t(STAGED_TASKS)} TO ${t('tasks')}`);
      } finally {
        await s.run(`SET SESSION lock_wait_timeout = ${Number(saved?.v ?? 31536000)}`);
      }
    });
    return;
  }
  // SQLite has one connection: its busy timeout (how long BEGIN IMMEDIATE waits for another writer) is set around the transaction.
  const [busy] = dialect === 'sqlite' ? await db.all<{ timeout: number }>('PRAGMA busy_timeout') : [];
  if (dialect === 'sqlite') await db.run(`PRAGMA busy_timeout = ${seconds * 1000}`);
  try {
    // renameTable renames a PostgreSQL table's primary key index with it.
    await db.transaction(async (tx) => {
      // LOCAL: the bound ends with this transaction; a shorter lock_timeout of the role's is kept.
      if (dialect === 'postgres') {
        await tx.all(
          `SELECT set_config('lock_timeout', CASE WHEN current_setting('lock_timeout')::interval > interval '0' AND current_setting('lock_timeout')::interval < interval '${seconds} s' ` +
            `THEN current_setting('lock_timeout') ELSE '${seconds}s' END, true)`,
        );
      }
      if (hasV1) await renameTable(tx, 'tasks', V1_TASKS_BACKUP);
      await renameTable(tx, STAGED_TASKS, 'tasks');
    });
  } finally {
    if (busy !== undefined) await db.run(`PRAGMA busy_timeout = ${Number(busy.timeout)}`);
  }
}
