/**
 * The staged upgrade under the sequences and source changes reviewers try, on real SQLite files and
 * a real MariaDB: each case ends compared with a one-shot `migrate` of the same final source.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stage } from '../src/migrate/stager.ts';
import { cutover } from '../src/migrate/cutover.ts';
import { nextMlmdTime } from '../src/seed/activity.ts';
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
});
