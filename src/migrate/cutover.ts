/**
 * `cutover`: the maintenance-window step of the staged upgrade (design.md §5b), run with KFP 2.x
 * stopped. Under the migration lock: a check that the names the swap needs are free, a last
 * true-up, then the swap (staged-tables.ts `swapStagedIn`), each of its statements waiting at most
 * `--lock-wait` for a table lock. The swap is one RENAME TABLE on MySQL (after the FK names are
 * handed over, which leaves the database "before the swap") and one transaction on SQLite and
 * PostgreSQL. A cut-over killed at any point is therefore before or after the swap, and a re-run
 * finishes it.
 */
import type { Db } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import type { MlmdSource } from '../extract/index.ts';
import { ensureBridgeTables, getJsonState, getState, isStringArray, setState, STATE_KEYS } from '../load/bridge-tables.ts';
import { withMigrationLock } from '../load/lock.ts';
import { ensureTargetTables } from '../load/schema.ts';
import { refuseTakenSwapNames, STAGED_TASKS, swapStagedIn, upgradePhase } from '../load/staged-tables.ts';
import { tableExists } from '../db/catalog.ts';
import { statementError } from '../db/orm.ts';
import { isLockConflict } from '../db/retry.ts';
import { DEFAULT_LOCK_WAIT_SECONDS } from './defaults.ts';
import { type MigrateOptions, withSourceAndTarget } from './migrator.ts';
import { stageLocked, type StageSummary } from './stager.ts';

export interface CutoverSummary {
  /** `swapped` now, or `already` cut over by an earlier run (which this one may have finished recording). */
  outcome: 'swapped' | 'already';
  /** The last true-up (null when the cut-over was done already). */
  trueUp: StageSummary | null;
  /** Wall time of the swap alone, and of the whole command: the outage KFP 2.x was stopped for. */
  swapSeconds: number;
  seconds: number;
  cutoverAt: string;
}

export interface CutoverOptions extends MigrateOptions {
  /** The most the swap waits for a session still using the tables (default DEFAULT_LOCK_WAIT_SECONDS); past it LOCK_HELD. */
  lockWaitSeconds?: number;
}

export async function cutover(opts: CutoverOptions): Promise<CutoverSummary> {
  return withSourceAndTarget(opts, (source, kfp, started) => withMigrationLock(kfp, () => cutoverLocked(source, kfp, opts, started)));
}

async function cutoverLocked(source: MlmdSource, kfp: Db, opts: CutoverOptions, started: number): Promise<CutoverSummary> {
  await ensureBridgeTables(kfp);
  const phase = await upgradePhase(kfp);
  if (phase === 'kfp3') {
    if ((await getState(kfp, STATE_KEYS.stageStartedAt)) === undefined) {
      throw new BridgeError(
        'NOT_STAGED',
        `${kfp.target.display} already has KFP 3's tasks table, but no staged upgrade put it there (a one-shot migrate did, or KFP 3 itself)`,
        'nothing to cut over: check it with mlmd-bridge status and mlmd-bridge verify',
      );
    }
    // Killed after the swap and before the record: the record is all that is left to do.
    const at = (await getState(kfp, STATE_KEYS.cutoverAt)) ?? (await recordCutover(kfp));
    return { outcome: 'already', trueUp: null, swapSeconds: 0, seconds: (Date.now() - started) / 1000, cutoverAt: at };
  }
  if (phase !== 'staged') {
    throw new BridgeError(
      'NOT_STAGED',
      `${kfp.target.display} has no staged KFP 3 tables (${STAGED_TASKS} is missing), so there is nothing to cut over`,
      'run mlmd-bridge stage with the same --mlmd and --kfp first (KFP 2.x may keep running meanwhile), then cutover in the maintenance window',
    );
  }
  const hasV1 = await tableExists(kfp, 'tasks');
  await refuseTakenSwapNames(kfp, hasV1);
  const trueUp = await stageLocked(source, kfp, opts, started);
  const swapStarted = Date.now();
  const lockWait = opts.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS;
  try {
    await swapStagedIn(kfp, hasV1, lockWait);
  } catch (e) {
    throw await swapBlocked(kfp, e, lockWait);
  }
  const swapSeconds = (Date.now() - swapStarted) / 1000;
  const at = await recordCutover(kfp);
  // The schema check migrate runs: every table and constraint now has KFP 3's name and shape.
  await ensureTargetTables(kfp);
  return { outcome: 'swapped', trueUp, swapSeconds, seconds: (Date.now() - started) / 1000, cutoverAt: at };
}

/**
 * The renames need the tables to themselves. A session still using `tasks` (KFP 2.x not stopped, a
 * client left in a transaction) makes them wait, up to `--lock-wait` (or less where the server gives
 * up first: PostgreSQL's lock_timeout, SQLite busy); then the cut-over stops before its swap, naming
 * the sessions in the way where the server tells.
 */
async function swapBlocked(kfp: Db, e: unknown, lockWait: number): Promise<unknown> {
  if (!isLockConflict(e)) return e;
  const cause = statementError(e) as { code?: unknown; message?: string };
  const holders = await sessionsInTheWay(kfp);
  return new BridgeError(
    'LOCK_HELD',
    `cutover could not lock the table tasks on ${kfp.target.display} (it waits at most ${lockWait} s, --lock-wait): another session is using it ` +
      `(${String(cause.code ?? '')}: ${cause.message ?? String(e)}); ${holders}; ` +
      'the swap was not made, so KFP 2.x\'s tasks table is still in place',
    kfp.target.dialect === 'postgres'
      ? 'stop KFP 2.x (API server, persistence agent) and any session on the table (SELECT pid, application_name, state FROM pg_stat_activity WHERE datname = current_database()), then run cutover again'
      : 'stop KFP 2.x (API server, persistence agent) and any other client of the table, then run cutover again',
    { cause: e },
  );
}

/**
 * Which sessions hold the tables the swap renames, in words: on PostgreSQL those with a granted lock
 * on them (pg_locks); on MySQL those of this database with an open transaction (information_schema,
 * which needs the PROCESS privilege to show other users' sessions). Read on a fresh connection, after
 * the failed statement; if the server will not say, the line says why.
 */
async function sessionsInTheWay(kfp: Db): Promise<string> {
  try {
    if (kfp.dialect === 'postgres') {
      const rows = await kfp.all<{ pid: number; usename: string | null; app: string | null; state: string | null; since: string | null }>(
        `SELECT DISTINCT a.pid, a.usename, a.application_name AS app, a.state, to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
           FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
          WHERE l.granted AND l.relation IN (to_regclass('tasks'), to_regclass('${STAGED_TASKS}')) AND l.pid <> pg_backend_pid()
          ORDER BY a.pid`,
      );
      if (rows.length === 0) return 'no session holds it any more';
      return `held by ${rows
        .map((r) => `pid ${r.pid} (role ${r.usename ?? '?'}${r.app ? `, application "${r.app}"` : ''}${r.state ? `, ${r.state}` : ''}${r.since ? `, transaction since ${r.since}` : ''})`)
        .join(', ')}`;
    }
    if (kfp.dialect === 'mysql') {
      const rows = await kfp.all<{ id: number; user: string; host: string; since: string | null }>(
        `SELECT p.ID AS id, p.USER AS user, p.HOST AS host, DATE_FORMAT(t.trx_started, '%Y-%m-%d %H:%i:%s') AS since
           FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
          WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID() ORDER BY p.ID`,
      );
      if (rows.length === 0) return 'no session of this database with an open transaction is visible to this user (the PROCESS privilege shows other users\' sessions)';
      return `sessions with an open transaction: ${rows.map((r) => `id ${r.id} (user ${r.user}@${r.host}${r.since ? `, since ${r.since}` : ''})`).join(', ')}`;
    }
    return 'SQLite does not say which process holds the file';
  } catch (err) {
    return `which session holds it could not be read (${(statementError(err) as { message?: string })?.message ?? String(err)})`;
  }
}

/** After the swap: `tasks` replaces the staged name among the created tables, and the migration counts as finished. */
async function recordCutover(kfp: Db): Promise<string> {
  const created = (await getJsonState(kfp, STATE_KEYS.createdTargetTables, isStringArray, 'a JSON array of table names')) ?? [];
  await setState(kfp, STATE_KEYS.createdTargetTables, JSON.stringify([...new Set(created.map((t) => (t === STAGED_TASKS ? 'tasks' : t)))]));
  const at = new Date().toISOString();
  await setState(kfp, STATE_KEYS.startedAt, (await getState(kfp, STATE_KEYS.stageStartedAt)) ?? at);
  await setState(kfp, STATE_KEYS.finishedAt, at);
  await setState(kfp, STATE_KEYS.cutoverAt, at);
  return at;
}
