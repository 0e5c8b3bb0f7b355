/**
 * The staged upgrade under the sequences and source changes reviewers try, on real SQLite files and
 * a real MariaDB: each case ends compared with a one-shot `migrate` of the same final source.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stage } from '../src/migrate/stager.ts';
import { cutover } from '../src/migrate/cutover.ts';
import { addRunsLike, nextMlmdTime } from '../src/seed/activity.ts';
import { runCli } from './helpers/cli.ts';
import { DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { expectOneShotEqual, seedPair, withBoth } from './helpers/staged.ts';

describe.each(DIALECTS)('the staged upgrade against edits and sequences on $dialect', ({ dialect, temp }) => {
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
});
