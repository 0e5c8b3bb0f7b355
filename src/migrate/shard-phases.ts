/**
 * A pipeline run (migrate, stage) in three phases and the locks each holds. Unsharded, the caller
 * holds the migration lock throughout and the phases just run. With `--shard i/N`, N processes run
 * at once against one KFP database:
 * - setup (tables, bookkeeping, type ids) under the exclusive migration lock, waited for: the shards
 *   take it in turn, and the first records the shard plan (N);
 * - the shard's runs under its own shard lock (the same shard never runs twice at once), after
 *   which the shard records itself done;
 * - the bookkeeping over every run (IdentityKeys, runless rejects, "finished") again under the
 *   exclusive lock, by whichever shard finds all N done: the last one. The others end without it.
 * A killed shard leaves no done mark: re-run alone, it resumes its runs and, being last, finishes.
 */
import type { Db } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { ensureBridgeTables, getState, setState } from '../load/bridge-tables.ts';
import { isShardLocked, withMigrationLock, withShardLock } from '../load/lock.ts';
import { formatShard, type Shard } from '../transform/shard.ts';

export interface PipelinePhases {
  setup<T>(fn: () => Promise<T>): Promise<T>;
  runs<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` when every shard's runs are written; null when some shard has yet to finish (it will do this). */
  finish<T>(fn: () => Promise<T>): Promise<T | null>;
}

/** How long a shard waits for the exclusive lock (another shard's setup or finish, or an unsharded run). */
export const SHARD_LOCK_WAIT_SECONDS = 3_600;

const PLAN_KEY = 'shard_plan';
const DONE_PREFIX = 'shard_done:';
const doneKey = (index: number) => `${DONE_PREFIX}${index}`;

/** The caller holds the migration lock; a sharded run's plan, if one was interrupted, is void after this run. */
export function unshardedPhases(kfp: Db): PipelinePhases {
  return {
    async setup(fn) {
      await ensureBridgeTables(kfp);
      await refuseWhileShardsRun(kfp);
      return fn();
    },
    runs: (fn) => fn(),
    async finish(fn) {
      const out = await fn();
      await clearPlan(kfp);
      return out;
    },
  };
}

export function shardedPhases(kfp: Db, shard: Shard): PipelinePhases {
  return {
    setup: (fn) =>
      withMigrationLock(
        kfp,
        async () => {
          await ensureBridgeTables(kfp);
          await adoptPlan(kfp, shard);
          return fn();
        },
        SHARD_LOCK_WAIT_SECONDS,
      ),
    runs: (fn) =>
      withShardLock(kfp, shard, async () => {
        const out = await fn();
        await setState(kfp, doneKey(shard.index), new Date().toISOString());
        return out;
      }),
    finish: (fn) =>
      withMigrationLock(
        kfp,
        async () => {
          for (let i = 0; i < shard.count; i++) if ((await getState(kfp, doneKey(i))) === undefined) return null;
          const out = await fn();
          await clearPlan(kfp);
          return out;
        },
        SHARD_LOCK_WAIT_SECONDS,
      ),
  };
}

/** Shards of the plan recorded in the database that are running now. */
async function runningShards(kfp: Db): Promise<Shard[]> {
  const count = Number((await getState(kfp, PLAN_KEY)) ?? 0);
  const running: Shard[] = [];
  for (let index = 0; index < count; index++) if (await isShardLocked(kfp, { index, count })) running.push({ index, count });
  return running;
}

async function refuseWhileShardsRun(kfp: Db): Promise<void> {
  const running = await runningShards(kfp);
  if (running.length > 0) {
    throw new BridgeError(
      'LOCK_HELD',
      `shards ${running.map(formatShard).join(', ')} of a sharded run are writing into ${kfp.target.display}`,
      'wait for every shard to finish (the last one records the run finished), or run the same --shard i/N',
    );
  }
}

/**
 * Joins the recorded plan, or records this one. Another shard count while shards of the recorded
 * one run is refused; a plan nobody runs any more is replaced (the runs its shards wrote stay, and
 * are skipped as unchanged by whichever shard owns them now).
 */
async function adoptPlan(kfp: Db, shard: Shard): Promise<void> {
  const recorded = await getState(kfp, PLAN_KEY);
  if (recorded === String(shard.count)) return;
  if (recorded !== undefined) await refuseWhileShardsRun(kfp);
  await clearPlan(kfp);
  await setState(kfp, PLAN_KEY, String(shard.count));
}

async function clearPlan(kfp: Db): Promise<void> {
  await kfp.run('DELETE FROM mlmd_bridge_state WHERE name = ? OR name LIKE ?', [PLAN_KEY, `${DONE_PREFIX}%`]);
}
