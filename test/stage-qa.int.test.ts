/**
 * The staged upgrade under the sequences and source changes reviewers try, on real SQLite files,
 * a real MariaDB and a real PostgreSQL: each case ends compared with a one-shot `migrate` of the same final source.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stage, stageLocked } from '../src/migrate/stager.ts';
import { rollback } from '../src/migrate/rollback.ts';
import { openMlmdSource } from '../src/extract/index.ts';
import { openKfpDatabase } from '../src/load/kfp-database.ts';
import { STAGED_TASKS } from '../src/load/staged-tables.ts';
import { dumpDatabase } from './helpers/snapshot.ts';
import { cutover } from '../src/migrate/cutover.ts';
import { addRunsLike, deleteRuns, finishRunningRuns, nextMlmdTime } from '../src/seed/activity.ts';
import { verify } from '../src/verify/verifier.ts';
import { getState, STATE_KEYS } from '../src/load/bridge-tables.ts';
import { MlmdStore } from '../src/seed/mlmd-store.ts';
import { EXECUTION_STATE } from '../src/transform/model.ts';
import type { Db } from '../src/db/connection.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { count, expectOneShotEqual, seedPair, withBoth } from './helpers/staged.ts';

/** What TFX writes meanwhile: a pipeline_run context and a Trainer execution in it. */
async function addTfxRun(mlmd: Db, name: string): Promise<void> {
  const ms = await nextMlmdTime(mlmd);
  const store = await MlmdStore.open(mlmd);
  store.typeId('context', 'pipeline_run', {});
  const context = store.addContext('pipeline_run', name, ms);
  const execution = store.addExecution({ typeName: 'Trainer', name: null, state: EXECUTION_STATE.COMPLETE, createMs: ms, updateMs: ms, custom: {} });
  store.associate(context, execution.id);
  await store.flush(mlmd);
}

describe.each(KFP_DIALECTS)('the staged upgrade against edits and sequences on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  const make = async (name: string) => {
    const d = await temp(`sqa_${name}_${dialect}`);
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('a true-up carries an artifact and a run context edited through MLMD (no execution or event changed)', async () => {
    const [m, k, r] = [await make('edit_m'), await make('edit_k'), await make('edit_r')];
    await seedPair(m.url, k.url, { runs: 12, seed: 3 });
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    await withBoth(m.url, k.url, async (mdb) => {
      const now = await nextMlmdTime(mdb);
      const [a] = await mdb.all<{ id: number }>('SELECT a.`id` FROM `Artifact` a JOIN `Event` e ON e.`artifact_id` = a.`id` ORDER BY a.`id` LIMIT 1');
      await mdb.run('UPDATE `Artifact` SET `uri` = ?, `last_update_time_since_epoch` = ? WHERE `id` = ?', ['gs://changed/uri', now, a!.id]);
      const [c] = await mdb.all<{ id: number }>(
        "SELECT p.`context_id` AS id FROM `ContextProperty` p JOIN `Context` c ON c.`id` = p.`context_id` JOIN `Type` t ON t.`id` = c.`type_id` WHERE t.`name` = 'system.PipelineRun' AND p.`name` = 'pipeline_root' ORDER BY c.`id` DESC LIMIT 1",
      );
      await mdb.run('UPDATE `ContextProperty` SET `string_value` = ? WHERE `context_id` = ? AND `name` = ?', ['gs://moved-root', c!.id, 'pipeline_root']);
      await mdb.run('UPDATE `Context` SET `last_update_time_since_epoch` = ? WHERE `id` = ?', [now, c!.id]);
    });
    const trueUp = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(trueUp.runs.migrated).toBeGreaterThanOrEqual(2);
    await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    await expectOneShotEqual(m.url, k.url, r.url);
  }, 120_000);

  /** The startup gate, shown MLMD: exit code and its one line. */
  const gate = async (mlmd: string, kfp: string) => {
    const g = await runCli(['status', '--kfp', kfp, '--mlmd', mlmd, '--require', 'cutover']);
    const line = (g.code === 0 ? g.stdout : g.stderr).trimEnd().split('\n');
    expect(line).toHaveLength(1);
    expect(g.code === 0 ? g.stderr : g.stdout).toBe('');
    return { code: g.code, line: line[0]! };
  };

  it('the gate reopens after the migrate it asks for, and guards a one-shot migrate too', async () => {
    const [m, k] = [await make('gate_m'), await make('gate_k')];
    const report = await seedPair(m.url, k.url, { runs: 10, seed: 2 });
    const template = report.runs.find((x) => x.state !== 'RUNNING')!.uuid;
    const kfp2Writes = () => withBoth(m.url, k.url, async (mdb, kdb) => void (await addRunsLike(mdb, kdb, [template], await nextMlmdTime(mdb))));
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    expect((await gate(m.url, k.url)).code).toBe(0);

    // KFP 2.x started again by mistake; the gate says to stop it and migrate, and after that migrate it opens.
    await kfp2Writes();
    const closed = await gate(m.url, k.url);
    expect(closed.code).toBe(3);
    expect(closed.line).toContain('run mlmd-bridge migrate');
    expect((await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url])).code).toBe(0);
    const reopened = await gate(m.url, k.url);
    expect(reopened.code).toBe(0);
    expect(reopened.line).toContain('cut over at');

    // Never staged: a one-shot migrate opens the gate, which says so, and KFP 2.x writing after it closes the gate.
    const [m2, k2] = [await make('gate_m2'), await make('gate_k2')];
    await seedPair(m2.url, k2.url, { runs: 10, seed: 2 });
    expect((await runCli(['migrate', '--mlmd', m2.url, '--kfp', k2.url])).code).toBe(0);
    const migrated = await gate(m2.url, k2.url);
    expect(migrated.code).toBe(0);
    expect(migrated.line).toMatch(/^ready for KFP 3: migrated at \S+, nothing pending$/);
    await withBoth(m2.url, k2.url, async (mdb, kdb) => {
      const [rd] = await kdb.all<{ UUID: string }>("SELECT `UUID` FROM `run_details` WHERE `State` = 'SUCCEEDED' ORDER BY `UUID` LIMIT 1");
      await addRunsLike(mdb, kdb, [rd!.UUID], await nextMlmdTime(mdb));
    });
    expect(await gate(m2.url, k2.url)).toEqual({ code: 3, line: expect.stringContaining('1 run(s) changed in MLMD') });
  }, 120_000);

  it('a TFX-only MLMD database (no KFP run): the full stage and a true-up with no run to write still list the non-KFP records', async () => {
    const [m, k, r] = [await make('tfx_m'), await make('tfx_k'), await make('tfx_r')];
    await seedPair(m.url, k.url, { runs: 0, seed: 1 });
    await withBoth(m.url, k.url, (mdb) => addTfxRun(mdb, 'tfx-run-1'));
    const full = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(full.runs.total).toBe(0);
    expect(full.rejects.byCode).toEqual({ NON_KFP_CONTEXT: 1, NON_KFP_EXECUTION: 1 });
    await withBoth(m.url, k.url, (mdb) => addTfxRun(mdb, 'tfx-run-2'));
    const trueUp = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(trueUp.runs.migrated).toBe(0);
    expect(trueUp.rejects.byCode).toEqual({ NON_KFP_CONTEXT: 2, NON_KFP_EXECUTION: 2 });
    await withBoth(m.url, k.url, (mdb) => addTfxRun(mdb, 'tfx-run-3'));
    const done = await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(done.trueUp!.rejects.byCode).toEqual({ NON_KFP_CONTEXT: 3, NON_KFP_EXECUTION: 3 });
    await expectOneShotEqual(m.url, k.url, r.url);
  }, 120_000);

  it('KFP 2.x between true-ups: a retried run, a run_details-only change, a run_details row without MLMD, a deleted run sharing an artifact, a record stamped 3 ms under the watermark', async () => {
    const [m, k, r] = [await make('act_m'), await make('act_k'), await make('act_r')];
    await seedPair(m.url, k.url, { runs: 24, seed: 9 });
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    const wm = JSON.parse((await withBoth(m.url, k.url, (_m, kd) => getState(kd, STATE_KEYS.stageWatermark)))!) as { updateMs: number };
    await withBoth(m.url, k.url, async (md, kd) => {
      const ms = await nextMlmdTime(md);
      // shared artifact between two runs
      const shared = await md.all<{ artifact_id: number; n: number }>(
        "SELECT ev.`artifact_id`, COUNT(DISTINCT c.`id`) AS n FROM `Event` ev JOIN `Association` a ON a.`execution_id` = ev.`execution_id` JOIN `Context` c ON c.`id` = a.`context_id` JOIN `Type` t ON t.`id` = c.`type_id` WHERE t.`name` = 'system.PipelineRun' GROUP BY ev.`artifact_id` HAVING COUNT(DISTINCT c.`id`) > 1 ORDER BY ev.`artifact_id` LIMIT 1",
      );
      expect(shared).toHaveLength(1);
      // Deleted in KFP 2.x: the artifact it shares with another run must stay.
      const runsOf = await md.all<{ name: string }>(
        "SELECT DISTINCT c.`name` FROM `Event` ev JOIN `Association` a ON a.`execution_id` = ev.`execution_id` JOIN `Context` c ON c.`id` = a.`context_id` JOIN `Type` t ON t.`id` = c.`type_id` WHERE t.`name` = 'system.PipelineRun' AND ev.`artifact_id` = ? ORDER BY c.`name`",
        [shared[0]!.artifact_id],
      );
      await deleteRuns(kd, [runsOf[0]!.name]);
      // rd-only change on another run
      const [rd] = await kd.all<{ UUID: string }>("SELECT `UUID` FROM `run_details` WHERE `State` = 'SUCCEEDED' AND `UUID` NOT IN (?, ?) ORDER BY `UUID` LIMIT 1", [runsOf[0]!.name, runsOf[1]!.name]);
      await kd.run("UPDATE `run_details` SET `DisplayName` = 'renamed', `Conditions` = 'Succeeded:x' WHERE `UUID` = ?", [rd!.UUID]);
      // rd without mlmd
      const [full] = await kd.all<Record<string, unknown>>('SELECT * FROM `run_details` WHERE `UUID` = ?', [rd!.UUID]);
      const cols = Object.keys(full!);
      await kd.run(`INSERT INTO \`run_details\` (${cols.map((c) => `\`${c}\``).join(',')}) VALUES (${cols.map(() => '?').join(',')})`, cols.map((c) => (c === 'UUID' ? '11111111-2222-3333-4444-555555555555' : (full![c] as never))));
      // retry: a new execution in an existing run
      const [ex] = await md.all<Record<string, unknown>>(
        "SELECT e.*, a.`context_id` AS ctx FROM `Execution` e JOIN `Association` a ON a.`execution_id` = e.`id` JOIN `Context` c ON c.`id` = a.`context_id` WHERE c.`name` = ? AND e.`last_known_state` = 3 ORDER BY e.`id` DESC LIMIT 1",
        [runsOf[1]!.name],
      );
      const [mx] = await md.all<{ m: number }>('SELECT MAX(`id`) AS m FROM `Execution`');
      const newId = Number(mx!.m) + 1;
      const ecols = Object.keys(ex!).filter((c) => c !== 'ctx');
      await md.run(`INSERT INTO \`Execution\` (${ecols.map((c) => `\`${c}\``).join(',')}) VALUES (${ecols.map(() => '?').join(',')})`, ecols.map((c) => (c === 'id' ? newId : c === 'name' ? `${String(ex!.name)}-retry` : c === 'last_update_time_since_epoch' || c === 'create_time_since_epoch' ? ms : (ex![c] as never))));
      const props = await md.all<Record<string, unknown>>('SELECT * FROM `ExecutionProperty` WHERE `execution_id` = ?', [ex!.id as number]);
      for (const p of props) {
        const pc = Object.keys(p);
        await md.run(`INSERT INTO \`ExecutionProperty\` (${pc.map((c) => `\`${c}\``).join(',')}) VALUES (${pc.map(() => '?').join(',')})`, pc.map((c) => (c === 'execution_id' ? newId : (p[c] as never))));
      }
      const [ma] = await md.all<{ m: number }>('SELECT MAX(`id`) AS m FROM `Association`');
      await md.run('INSERT INTO `Association` (`id`, `context_id`, `execution_id`) VALUES (?, ?, ?)', [Number(ma!.m) + 1, ex!.ctx as number, newId]);
      // near-watermark: an execution of a third run updated with a time 3 ms under the watermark
      const [e3] = await md.all<{ id: number }>(
        "SELECT e.`id` FROM `Execution` e JOIN `Association` a ON a.`execution_id` = e.`id` JOIN `Context` c ON c.`id` = a.`context_id` WHERE c.`name` = ? ORDER BY e.`id` LIMIT 1",
        [rd!.UUID],
      );
      await md.run('UPDATE `Execution` SET `last_known_state` = 5, `last_update_time_since_epoch` = ? WHERE `id` = ?', [wm.updateMs - 3, e3!.id]);
    });
    const t = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(t.stage.deletedRuns).toBe(1);
    // The retried run, the renamed one (also the one stamped under the watermark), the deleted one read again as an orphan.
    expect(t.runs.migrated).toBe(3);
    await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    await expectOneShotEqual(m.url, k.url, r.url);
  }, 120_000);

  it('a stage that dies right after its CREATE TABLE (MySQL commits it at once) leaves nothing rollback does not remove', async () => {
    const [m, k] = [await make('ddl_m'), await make('ddl_k')];
    await seedPair(m.url, k.url, { runs: 4, seed: 4 });
    const before = await dumpDatabase(k.url);
    const source = await openMlmdSource(m.url);
    const kfp = await openKfpDatabase(k.url);
    // The process ends the moment the staged tasks table exists: nothing after that statement runs.
    const dying = new Proxy(kfp, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop !== 'run') return typeof value === 'function' ? value.bind(target) : value;
        return async (sql: string, params?: never[]) => {
          const result = await target.run(sql, params);
          if (/^CREATE TABLE/i.test(sql) && sql.includes(STAGED_TASKS)) throw new Error('killed right after the CREATE');
          return result;
        };
      },
    });
    try {
      await expect(stageLocked(source, dying, { mlmdUrl: m.url, kfpUrl: k.url }, Date.now())).rejects.toThrow('killed right after the CREATE');
    } finally {
      await source.close();
      await kfp.close();
    }
    const back = await rollback(k.url);
    expect(back.droppedTables).toContain(STAGED_TASKS);
    expect(await dumpDatabase(k.url)).toEqual(before);
  }, 60_000);

  it('a run deleted in KFP 2.x whose MLMD records an admin deleted too: its executions become non-KFP records and its pipeline context leaves the id map, as in a one-shot migrate', async () => {
    const [m, k, r] = [await make('gone_m'), await make('gone_k'), await make('gone_r')];
    const rep = await seedPair(m.url, k.url, { runs: 14, seed: 4 });
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    const victim = rep.runs.filter((x) => x.state !== 'RUNNING')[2]!.uuid;
    await withBoth(m.url, k.url, async (md, kd) => {
      await deleteRuns(kd, [victim]);
      const [c] = await md.all<{ id: number }>('SELECT `id` FROM `Context` WHERE `name` = ?', [victim]);
      await md.run('DELETE FROM `Association` WHERE `context_id` = ?', [c!.id]);
      await md.run('DELETE FROM `Attribution` WHERE `context_id` = ?', [c!.id]);
      await md.run('DELETE FROM `ContextProperty` WHERE `context_id` = ?', [c!.id]);
      await md.run('DELETE FROM `ParentContext` WHERE `context_id` = ?', [c!.id]);
      await md.run('DELETE FROM `Context` WHERE `id` = ?', [c!.id]);
    });
    const t = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(t.stage.deletedRuns).toBe(1);
    await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    await expectOneShotEqual(m.url, k.url, r.url);
  }, 120_000);
  it('a KFP database without any run_details (every MLMD run an orphan) stages, trues up and cuts over like a one-shot migrate', async () => {
    const [m, k, r] = [await make('norun_m'), await make('norun_k'), await make('norun_r')];
    await seedPair(m.url, k.url, { runs: 8, seed: 4 });
    await withBoth(m.url, k.url, async (_md, kd) => void (await kd.run('DELETE FROM `run_details`')));
    const s = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(s.runs.orphan).toBe(s.runs.total);
    const t = await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(t.runs.migrated).toBe(0);
    await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    await expectOneShotEqual(m.url, k.url, r.url);
  }, 120_000);

  it('sequences: stage, rollback (KFP 2.x tasks never moved), stage again; cutover refuses changed --fingerprints/--publish-logs; cutover twice; stage and cutover refused after a cut-over; rollback then migrate', async () => {
    const [m, k, r] = [await make('seq_m'), await make('seq_k'), await make('seq_r')];
    await seedPair(m.url, k.url, { runs: 8, seed: 6 });
    const kfp2 = await dumpDatabase(k.url);
    const cli = (...args: string[]) => runCli([...args.slice(0, 1), '--mlmd', m.url, '--kfp', k.url, ...args.slice(1)]);

    expect((await cli('stage', '--fingerprints', 'kfp3', '--publish-logs', 'true')).code).toBe(0);
    const back = await runCli(['rollback', '--kfp', k.url]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain("KFP 2.x's tasks table was never moved");
    expect(await dumpDatabase(k.url)).toEqual(kfp2);

    expect((await cli('stage', '--fingerprints', 'kfp3')).code).toBe(0);
    for (const changed of [['--fingerprints', 'mlmd'], ['--publish-logs', 'false']]) {
      const refused = await cli('cutover', ...changed);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('OPTION_CONFLICT');
      expect(refused.stderr).toContain(changed[0]!);
    }
    expect((await cli('cutover')).stdout).toContain('Cut over in');
    const again = await cli('cutover');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already cut over');
    await expectOneShotEqual(m.url, k.url, r.url);

    // plan names the command that works on a cut-over database.
    const planned = await cli('plan');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('mlmd-bridge migrate (KFP 2.x stopped) trues it up; stage would refuse');
    const restage = await cli('stage');
    expect(restage.code).toBe(3);
    expect(restage.stderr).toContain('ALREADY_CUT_OVER');
    expect((await runCli(['rollback', '--kfp', k.url])).stdout).toContain('the KFP 2.x tasks table is back');
    expect((await cli('migrate')).code).toBe(0);
    const recut = await cli('cutover');
    expect(recut.code).toBe(3);
    expect(recut.stderr).toContain('NOT_STAGED');
    const afterMigrate = await cli('stage');
    expect(afterMigrate.code).toBe(3);
    expect(afterMigrate.stderr).toContain('ALREADY_CUT_OVER');
  }, 180_000);

  it('a KFP 2.x database without its tasks table (no run ever cached) stages, cuts over and rolls back', async () => {
    const [m, k, r] = [await make('notasks_m'), await make('notasks_k'), await make('notasks_r')];
    await seedPair(m.url, k.url, { runs: 6, seed: 4 });
    await withBoth(m.url, k.url, async (_mdb, kdb) => void (await kdb.run('DROP TABLE `tasks`')));
    const before = await dumpDatabase(k.url);
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(await gate(m.url, k.url)).toEqual({ code: 3, line: expect.stringContaining('staged but not cut over') });
    expect((await cutover({ mlmdUrl: m.url, kfpUrl: k.url })).outcome).toBe('swapped');
    expect(await gate(m.url, k.url)).toEqual({ code: 0, line: expect.stringContaining('ready for KFP 3: cut over at') });
    await expectOneShotEqual(m.url, k.url, r.url);
    expect((await rollback(k.url)).droppedTables).toEqual(['artifact_tasks', 'tasks', 'artifacts']);
    expect(await dumpDatabase(k.url)).toEqual(before);
  }, 120_000);

  // Every shape in its own KFP release first, then shapes and releases rotating (seed planRun), hostile records included.
  it.each([8, 9] as const)('MLMD schema v%i, every seed shape and era: stage, KFP 2.x at work, true-up, more work, cutover equal a one-shot migrate; verify clean; gate open', async (schemaVersion) => {
    const [m, k, r] = [await make(`v${schemaVersion}_m`), await make(`v${schemaVersion}_k`), await make(`v${schemaVersion}_r`)];
    const report = await seedPair(m.url, k.url, { runs: 30, seed: 11, schemaVersion, hostile: true });
    expect(new Set(report.runs.map((x) => x.era)).size).toBeGreaterThanOrEqual(9);
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    const settled = report.runs.filter((x) => x.state !== 'RUNNING').map((x) => x.uuid);
    const kfp2AtWork = (copies: string[], finish: number, deleted: string[]) =>
      withBoth(m.url, k.url, async (mdb, kdb) => {
        const now = await nextMlmdTime(mdb);
        await addRunsLike(mdb, kdb, copies, now);
        await finishRunningRuns(mdb, kdb, finish, now);
        await deleteRuns(kdb, deleted);
      });
    await kfp2AtWork(settled.slice(0, 2), 1, [settled[3]!, settled[5]!]);
    expect((await stage({ mlmdUrl: m.url, kfpUrl: k.url })).stage.deletedRuns).toBe(2);
    await kfp2AtWork(settled.slice(6, 8), 5, []);
    await cutover({ mlmdUrl: m.url, kfpUrl: k.url });
    await expectOneShotEqual(m.url, k.url, r.url);
    const checked = await verify({ mlmdUrl: m.url, kfpUrl: k.url });
    expect(checked.runs.checked).toBeGreaterThan(0);
    expect(checked.runs.drifted).toBe(0);
    expect((await gate(m.url, k.url)).code).toBe(0);
  }, 180_000);

  it('stage killed with SIGKILL at three points, cutover at two points of its last true-up: the re-runs end equal to a one-shot migrate', async () => {
    const [m, k, r] = [await make('kill_m'), await make('kill_k'), await make('kill_r')];
    const report = await seedPair(m.url, k.url, { runs: 60, seed: 4 });
    const slow = ['--mlmd', m.url, '--kfp', k.url, '--batch-size', '1', '--concurrency', '1'];
    const checkpoints = async () => count(k.url, "SELECT COUNT(*) AS n FROM mlmd_bridge_runs").catch(() => 0);
    /** Starts `command` and SIGKILLs it once the checkpoints reach `atLeast`. */
    const killAt = async (command: string, atLeast: number) => {
      const run = startCli([command, ...slow]);
      const deadline = Date.now() + 120_000;
      while ((await checkpoints()) < atLeast) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${atLeast} checkpoints`);
        await new Promise((res) => setTimeout(res, 5));
      }
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
    };
    for (const n of [1, 15, 35]) await killAt('stage', n);
    expect((await checkpoints())).toBeLessThan(report.runs.length);
    expect((await runCli(['stage', ...slow])).code).toBe(0);

    const settled = report.runs.filter((x) => x.state !== 'RUNNING').map((x) => x.uuid);
    const staged = await checkpoints();
    await withBoth(m.url, k.url, async (mdb, kdb) => void (await addRunsLike(mdb, kdb, settled.slice(0, 12), await nextMlmdTime(mdb))));
    for (const n of [staged + 1, staged + 6]) await killAt('cutover', n);
    const finished = await runCli(['cutover', ...slow]);
    expect(finished.stderr).toBe('');
    expect(finished.stdout).toContain('Cut over in');
    await expectOneShotEqual(m.url, k.url, r.url);
  }, 240_000);
});
