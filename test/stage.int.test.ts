/**
 * The staged upgrade end to end, on real SQLite files, a real MariaDB and a real PostgreSQL: stage while a second
 * connection plays KFP 2.x (new runs, finished runs, a deleted run, v1 cache rows, a record stamped
 * in the watermark's very millisecond), true-ups, cutover, then the three tables against a one-shot
 * migrate of the final source, verify, the v1 rows in tasks_v1_backup, rollback; a stage killed with
 * SIGKILL; the startup gate's exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getState, STATE_KEYS } from '../src/load/bridge-tables.ts';
import { isV1TasksTable, tableExists } from '../src/load/schema.ts';
import { STAGED_TASKS } from '../src/load/staged-tables.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { rollback } from '../src/migrate/rollback.ts';
import { stage } from '../src/migrate/stager.ts';
import { cutover } from '../src/migrate/cutover.ts';
import { addRunsLike, deleteRuns, finishRunningRuns, nextMlmdTime } from '../src/seed/activity.ts';
import type { SeedReport } from '../src/seed/index.ts';
import { verify } from '../src/verify/verifier.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { dumpDatabase } from './helpers/snapshot.ts';
import { BOOKKEEPING, copyKfp2, count, KFP3_TABLES, seedPair, withBoth } from './helpers/staged.ts';

const RUNS = 36;

async function seed(mlmdUrl: string, kfpUrl: string, runs = RUNS, hostile = false): Promise<SeedReport> {
  return seedPair(mlmdUrl, kfpUrl, { runs, seed: 7, hostile });
}

describe.each(KFP_DIALECTS)('the staged upgrade on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  const make = async (name: string) => {
    const d = await temp(`stage_${name}_${dialect}`);
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  describe('stage while KFP 2.x works, then cutover', () => {
    let mlmd: TempDatabase;
    let kfp: TempDatabase;
    let report: SeedReport;
    beforeAll(async () => {
      mlmd = await make('mlmd');
      kfp = await make('kfp');
      // Hostile: orphan runs, TFX and KFP v1 records, bad values; a staged upgrade must report them as migrate does.
      report = await seed(mlmd.url, kfp.url, RUNS, true);
    }, 120_000);

    it('ends with the tables of a one-shot migrate of the final source, the v1 rows of the meantime in tasks_v1_backup, verify clean, and rollback swaps back', async () => {
      const v1Before = await dumpDatabase(kfp.url, { tables: ['tasks'] });
      const first = await stage({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(first.stage.kind).toBe('full');
      // The seeded runs and the hostile seed's extra run contexts (orphans among them).
      const runContexts = first.runs.total;
      expect(runContexts).toBeGreaterThan(RUNS);
      // KFP 2.x's own table is not touched, and stays where KFP 2.x writes.
      expect(await dumpDatabase(kfp.url, { tables: ['tasks'] })).toEqual(v1Before);
      expect(await withBoth(mlmd.url, kfp.url, (_m, k) => isV1TasksTable(k, 'tasks'))).toBe(true);
      expect(await count(kfp.url, `SELECT COUNT(*) AS n FROM ${STAGED_TASKS}`)).toBe(first.rows.tasks);

      // Nothing changed: the true-up looks at the runs near the watermark only and writes none.
      const idle = await stage({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(idle.stage.kind).toBe('true-up');
      expect(idle.runs.migrated).toBe(0);
      expect(idle.stage.changedRuns).toBeLessThan(runContexts);

      // KFP 2.x at work, on its own connections.
      const running = report.runs.filter((r) => r.state === 'RUNNING').map((r) => r.uuid);
      const settled = report.runs.filter((r) => r.state !== 'RUNNING').map((r) => r.uuid);
      expect(running.length).toBeGreaterThanOrEqual(2);
      expect(settled.length).toBeGreaterThanOrEqual(6);
      const watermark = JSON.parse((await withBoth(mlmd.url, kfp.url, (_m, k) => getState(k, STATE_KEYS.stageWatermark)))!) as { updateMs: number };
      const activity = await withBoth(mlmd.url, kfp.url, async (m, k) => {
        const now = await nextMlmdTime(m);
        const added = await addRunsLike(m, k, settled.slice(0, 3), now);
        const finished = await finishRunningRuns(m, k, 1, now);
        await deleteRuns(k, [settled[4]!]);
        // A record stamped in the watermark's own millisecond (written after the last true-up read it).
        const [exec] = await m.all<{ id: number }>(
          'SELECT e.`id` FROM `Execution` e JOIN `Association` a ON a.`execution_id` = e.`id` JOIN `Context` c ON c.`id` = a.`context_id` WHERE c.`name` = ? ORDER BY e.`id` LIMIT 1',
          [settled[6]!],
        );
        await m.run('UPDATE `Execution` SET `last_known_state` = 4, `last_update_time_since_epoch` = ? WHERE `id` = ?', [watermark.updateMs, exec!.id]);
        return { added, finished, v1Rows: added.flatMap((a) => a.v1Rows) };
      });
      expect(activity.added).toHaveLength(3);
      expect(activity.finished).toHaveLength(1);
      expect(activity.v1Rows.length).toBeGreaterThan(0);

      const trueUp = await stage({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(trueUp.stage.kind).toBe('true-up');
      expect(trueUp.stage.deletedRuns).toBe(1);
      // 3 new, 1 finished, the deleted one (its rows go), the one stamped at the watermark.
      expect(trueUp.runs.migrated).toBeGreaterThanOrEqual(6);
      expect(await count(kfp.url, `SELECT COUNT(*) AS n FROM ${STAGED_TASKS} WHERE \`RunUUID\` = ?`, [settled[4]!])).toBe(0);

      const v1BeforeCutover = await dumpDatabase(kfp.url, { tables: ['tasks'] });
      const done = await cutover({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(done.outcome).toBe('swapped');
      expect(await withBoth(mlmd.url, kfp.url, (_m, k) => tableExists(k, STAGED_TASKS))).toBe(false);
      for (const uuid of activity.v1Rows) expect(await count(kfp.url, 'SELECT COUNT(*) AS n FROM tasks_v1_backup WHERE `UUID` = ?', [uuid])).toBe(1);

      const reference = await make('reference');
      await copyKfp2(kfp.url, reference.url);
      const oneShot = await migrate({ mlmdUrl: mlmd.url, kfpUrl: reference.url });
      expect(oneShot.runs.total).toBe(runContexts + 3);
      expect(await dumpDatabase(kfp.url, { tables: KFP3_TABLES })).toEqual(await dumpDatabase(reference.url, { tables: KFP3_TABLES }));
      expect(await dumpDatabase(kfp.url, { tables: BOOKKEEPING })).toEqual(await dumpDatabase(reference.url, { tables: BOOKKEEPING }));

      const checked = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(checked.runs.checked).toBeGreaterThan(0);
      expect(checked.runs.drifted).toBe(0);

      const gate = await runCli(['status', '--kfp', kfp.url, '--mlmd', mlmd.url, '--require', 'cutover']);
      expect(gate.stderr).toBe('');
      expect(gate.code).toBe(0);

      const back = await rollback(kfp.url);
      expect(back.v1Tasks).toBe('restored');
      expect(await dumpDatabase(kfp.url, { tables: ['tasks'] })).toEqual(v1BeforeCutover);
      for (const t of [...KFP3_TABLES.filter((t) => t !== 'tasks'), STAGED_TASKS, 'tasks_v1_backup']) {
        expect(await withBoth(mlmd.url, kfp.url, (_m, k) => tableExists(k, t))).toBe(false);
      }
    }, 300_000);
  });

  it('a stage killed with SIGKILL part-way, then re-run, ends with exactly the rows of an uninterrupted one', async () => {
    const runs = 120;
    const [mlmdA, kfpA, mlmdB, kfpB] = await Promise.all(['mlmd_a', 'kfp_a', 'mlmd_b', 'kfp_b'].map(make));
    await seed(mlmdA!.url, kfpA!.url, runs);
    await seed(mlmdB!.url, kfpB!.url, runs);
    const killed = startCli(['stage', '--mlmd', mlmdA!.url, '--kfp', kfpA!.url, '--batch-size', '1', '--concurrency', '1']);
    const deadline = Date.now() + 120_000;
    const checkpoints = async () => ((await withBoth(mlmdA!.url, kfpA!.url, (_m, k) => tableExists(k, 'mlmd_bridge_runs'))) ? count(kfpA!.url, 'SELECT COUNT(*) AS n FROM mlmd_bridge_runs') : 0);
    while ((await checkpoints()) < 10) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the first checkpoints');
      await new Promise((r) => setTimeout(r, 10));
    }
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    const partial = await checkpoints();
    expect(partial).toBeLessThan(runs);

    const resumed = await runCli(['stage', '--mlmd', mlmdA!.url, '--kfp', kfpA!.url, '--json']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as { runs: { unchanged: number; migrated: number }; stage: { kind: string } };
    // No true-up had finished, so the re-run reads every run again and skips those written before the kill.
    expect(summary.stage.kind).toBe('full');
    expect(summary.runs.unchanged).toBeGreaterThanOrEqual(partial);
    await stage({ mlmdUrl: mlmdB!.url, kfpUrl: kfpB!.url });
    const dump = { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] };
    expect(await dumpDatabase(kfpA!.url, dump)).toEqual(await dumpDatabase(kfpB!.url, dump));
  }, 300_000);
});
