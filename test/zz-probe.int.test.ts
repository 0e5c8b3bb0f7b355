import { afterAll, describe, expect, it } from 'vitest';
import { stage } from '../src/migrate/stager.ts';
import { cutover } from '../src/migrate/cutover.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { rollback } from '../src/migrate/rollback.ts';
import { verify } from '../src/verify/verifier.ts';
import { addRunsLike, deleteRuns, finishRunningRuns, nextMlmdTime } from '../src/seed/activity.ts';
import { DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { runCli } from './helpers/cli.ts';
import { expectOneShotEqual, seedPair, withBoth } from './helpers/staged.ts';

const only = process.env.PROBE_DIALECT ?? 'sqlite';
describe.each(DIALECTS.filter((d) => d.dialect === only))('probe $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  const make = async (name: string) => {
    const d = await temp(`zzp_${name}_${dialect}`);
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('gate after migrate', async () => {
    const [m, k] = [await make('gm'), await make('gk')];
    const rep = await seedPair(m.url, k.url, { runs: 10, seed: 2 });
    const M = ['--mlmd', m.url, '--kfp', k.url];
    const gate = async () => { const g = await runCli(['status', ...M, '--require', 'cutover']); console.log('gate', g.code, g.stdout.trim(), g.stderr.trim()); return g; };
    await runCli(['stage', ...M]);
    await runCli(['cutover', ...M]);
    await gate();
    const settled = rep.runs.filter((x) => x.state !== 'RUNNING').map((x) => x.uuid);
    await withBoth(m.url, k.url, async (md, kd) => { await addRunsLike(md, kd, settled.slice(0, 1), await nextMlmdTime(md)); });
    await gate();
    const mg = await runCli(['migrate', ...M]);
    console.log('migrate', mg.code, mg.stdout.trim().split('\n').slice(0,2).join('|'), mg.stderr);
    await gate();
    const st = await runCli(['status', ...M]);
    console.log(st.stdout);
  }, 100_000);

  it('sequences', async () => {
    const [m, k] = [await make('sm'), await make('sk')];
    await seedPair(m.url, k.url, { runs: 10, seed: 2 });
    const cli = async (...a: string[]) => {
      const x = await runCli(a);
      console.log(a[0], a.slice(5).join(' '), '=>', x.code, x.stdout.trim().split('\n').slice(-2).join(' | '), '|ERR', x.stderr.trim());
      return x;
    };
    const M = ['--mlmd', m.url, '--kfp', k.url];
    await cli('stage', ...M);
    await cli('stage', ...M);
    await cli('rollback', '--kfp', k.url);
    await cli('stage', ...M, '--fingerprints', 'mlmd');
    await cli('cutover', ...M, '--fingerprints', 'kfp3');
    await cli('cutover', ...M, '--publish-logs', 'false');
    await cli('cutover', ...M);
    await cli('cutover', ...M);
    await cli('stage', ...M);
    await cli('migrate', ...M);
    await cli('rollback', '--kfp', k.url);
    await cli('migrate', ...M);
    await cli('stage', ...M);
    await cli('cutover', ...M);
    await cli('status', '--kfp', k.url, '--require', 'cutover');
    await cli('rollback', '--kfp', k.url);
    await cli('status', '--kfp', k.url, '--require', 'cutover');
    await cli('status', '--kfp', 'mysql://nobody@127.0.0.1:1/x', '--require', 'cutover');
    await cli('status', '--require', 'cutover');
    await cli('status', '--kfp', 'sqlite:/nonexistent/x.db', '--require', 'cutover');
  }, 200_000);
});
