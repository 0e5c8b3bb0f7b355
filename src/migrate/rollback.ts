/**
 * `rollback`: removes exactly what `migrate` (or `stage` and `cutover`) wrote and puts the KFP 2.x
 * tasks table back, with the cache rows KFP 2.x wrote into it meanwhile, so the KFP database is as
 * it was before the first migration. Tables mlmd-bridge created are dropped;
 * in tables that existed before, only the rows recorded in mlmd_id_map are deleted.
 */
import { BridgeError } from '../errors.ts';
import { openKfpDatabase } from '../load/kfp-database.ts';
import { dropBridgeTables, getJsonState, isStringArray, STATE_KEYS } from '../load/bridge-tables.ts';
import { withMigrationLock } from '../load/lock.ts';
import { isV1TasksTable, tableExists, TARGET_TABLES } from '../load/schema.ts';
import { recordedForeignKeys, restoreV1ForeignKeysInPlace, restoreV1Tasks } from '../load/v1-tasks.ts';
import { STAGED_TASKS } from '../load/staged-tables.ts';

export interface RollbackResult {
  droppedTables: string[];
  deletedRows: { tasks: number; artifacts: number };
  /** `in-place`: KFP 2.x's tasks table was never moved (a staged upgrade rolled back before its cut-over). */
  v1Tasks: 'restored' | 'absent' | 'in-place';
}

export async function rollback(kfpUrl: string): Promise<RollbackResult> {
  const kfp = await openKfpDatabase(kfpUrl);
  try {
    return await withMigrationLock(kfp, async () => {
      if (!(await tableExists(kfp, 'mlmd_bridge_state'))) {
        throw new BridgeError('NOTHING_TO_ROLL_BACK', `${kfp.target.display} holds no mlmd-bridge migration`, 'nothing to do: migrate never ran here, or rollback already did');
      }
      const created = new Set((await getJsonState(kfp, STATE_KEYS.createdTargetTables, isStringArray, 'a JSON array of table names')) ?? []);
      // Read now, although the restore needs it last: malformed state must stop rollback before it changes anything.
      await recordedForeignKeys(kfp);
      const dropped: string[] = [];
      const deleted = { tasks: 0, artifacts: 0 };
      // Rows in tables KFP 3 already had: delete ours by id (links go with their tasks by cascade).
      // Without the id map, a rollback killed while dropping the bookkeeping deleted them already.
      const idMap = await tableExists(kfp, 'mlmd_id_map');
      if (idMap && !created.has('tasks') && (await tableExists(kfp, 'tasks'))) {
        // Raw SQL: drizzle's PostgreSQL proxy driver reports no row count. Backticks: the KFP 3 names are mixed case (quoted on PostgreSQL).
        deleted.tasks = (await kfp.run("DELETE FROM tasks WHERE `UUID` IN (SELECT kfp_uuid FROM mlmd_id_map WHERE kind IN ('execution', 'synthetic_root'))")).changes;
      }
      if (idMap && !created.has('artifacts') && (await tableExists(kfp, 'artifacts'))) {
        // Raw SQL for the row count, as above.
        deleted.artifacts = (await kfp.run("DELETE FROM artifacts WHERE `UUID` IN (SELECT kfp_uuid FROM mlmd_id_map WHERE kind = 'artifact')")).changes;
      }
      // Children first: artifact_tasks references tasks, staged or not.
      for (const name of [...TARGET_TABLES].reverse().flatMap((t) => (t === 'tasks' ? [STAGED_TASKS, t] : [t]))) {
        if (created.has(name) && (await tableExists(kfp, name))) {
          // KFP 2.x's own table, put back by a rollback interrupted before it dropped its bookkeeping.
          if (name === 'tasks' && (await isV1TasksTable(kfp, name))) continue;
          // Raw SQL: DDL, for which drizzle-orm has no builder (drizzle-kit's migrations are not used).
          await kfp.run(`DROP TABLE ${name}`);
          dropped.push(name);
        }
      }
      const restored = await restoreV1Tasks(kfp);
      const v1Tasks = restored === 'absent' && (await isV1TasksTable(kfp, 'tasks')) ? 'in-place' : restored;
      // A cut-over killed before its swap dropped the FK of the v1 table, still in place.
      await restoreV1ForeignKeysInPlace(kfp);
      await dropBridgeTables(kfp);
      return { droppedTables: dropped, deletedRows: deleted, v1Tasks };
    });
  } finally {
    await kfp.close();
  }
}
