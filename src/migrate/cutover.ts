/**
 * `cutover`: the maintenance-window step of the staged upgrade (design.md §5b), run with KFP 2.x
 * stopped. Under the migration lock: a last true-up, then the swap. On MySQL the v1 table first
 * releases its FK name and the staged table takes it (both idempotent, both leave the database
 * "before the swap": KFP 2.x's table is still `tasks`, and `stage`/`rollback` undo them); then one
 * RENAME TABLE swaps both tables at once. On SQLite the swap is one transaction. A cut-over killed
 * at any point is therefore before or after the swap, and a re-run finishes it.
 */
import type { Db } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import type { MlmdSource } from '../extract/index.ts';
import { ensureBridgeTables, getJsonState, getState, isStringArray, setState, STATE_KEYS } from '../load/bridge-tables.ts';
import { withMigrationLock } from '../load/lock.ts';
import { ensureTargetTables } from '../load/schema.ts';
import { refuseTakenSwapNames, renameStagedRunForeignKey, STAGED_TASKS, swapStagedIn, upgradePhase } from '../load/staged-tables.ts';
import { releaseV1ForeignKeyNames } from '../load/v1-tasks.ts';
import { tableExists } from '../db/catalog.ts';
import { statementError } from '../db/orm.ts';
import { isLockConflict } from '../db/retry.ts';
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

export async function cutover(opts: MigrateOptions): Promise<CutoverSummary> {
  return withSourceAndTarget(opts, (source, kfp, started) => withMigrationLock(kfp, () => cutoverLocked(source, kfp, opts, started)));
}

async function cutoverLocked(source: MlmdSource, kfp: Db, opts: MigrateOptions, started: number): Promise<CutoverSummary> {
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
  try {
    if (hasV1) await releaseV1ForeignKeyNames(kfp);
    await kfp.session((s) => renameStagedRunForeignKey(s, 'to-kfp3'));
    await swapStagedIn(kfp, hasV1);
  } catch (e) {
    throw swapBlocked(kfp, e);
  }
  const swapSeconds = (Date.now() - swapStarted) / 1000;
  const at = await recordCutover(kfp);
  // The schema check migrate runs: every table and constraint now has KFP 3's name and shape.
  await ensureTargetTables(kfp);
  return { outcome: 'swapped', trueUp, swapSeconds, seconds: (Date.now() - started) / 1000, cutoverAt: at };
}

/**
 * The renames need the tables to themselves. A session still using `tasks` (KFP 2.x not stopped, a
 * client left in a transaction) makes them wait; where the server gives up waiting (PostgreSQL's
 * lock_timeout, MySQL's lock_wait_timeout, SQLite busy) the cut-over stops before its swap.
 */
function swapBlocked(kfp: Db, e: unknown): unknown {
  if (!isLockConflict(e)) return e;
  const cause = statementError(e) as { code?: unknown; message?: string };
  return new BridgeError(
    'LOCK_HELD',
    `cutover could not lock the table tasks on ${kfp.target.display}: another session is using it (${String(cause.code ?? '')}: ${cause.message ?? String(e)}); ` +
      'the swap was not made, so KFP 2.x\'s tasks table is still in place',
    kfp.target.dialect === 'postgres'
      ? 'stop KFP 2.x (API server, persistence agent) and any session on the table (SELECT pid, application_name, state FROM pg_stat_activity WHERE datname = current_database()), then run cutover again'
      : 'stop KFP 2.x (API server, persistence agent) and any other client of the table, then run cutover again',
    { cause: e },
  );
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
