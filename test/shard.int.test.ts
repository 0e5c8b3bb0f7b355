// Sharded migrate and stage on a real MariaDB and a real PostgreSQL: three shards at once give exactly the rows of one
// process; the last shard to end records the run finished; a shard killed part-way re-runs alone
// (as a Kubernetes Indexed Job's pod, from JOB_COMPLETION_INDEX and MLMD_BRIDGE_SHARDS) and
// finishes the run; bad shard values are usage errors in one line.
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { getState, STATE_KEYS } from '../src/load/bridge-tables.ts';
import { withShardLock } from '../src/load/lock.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { stage } from '../src/migrate/stager.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { seedUrls } from './helpers/seeded.ts';
import { dumpDatabase } from './helpers/snapshot.ts';

const made: TempDatabase[] = [];
afterAll(async () => {
  for (const d of made) await d.drop();
});

async function state(url: string, name: string): Promise<string | undefined> {
  const db = await openDb(url, { readOnly: true });
  try {
    return await getState(db, name);
  } finally {
    await db.close();
  }
}

async function count(url: string, sql: string): Promise<number> {
  const db = await openDb(url, { readOnly: true });
  try {
    return Number((await db.all<{ n: number }>(sql))[0]!.n);
  } finally {
    await db.close();
  }
}

/** Everything mlmd-bridge wrote, but the times it wrote it at. */
const DUMP = { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] };

/** Sharding needs a database server that several processes write at once: MariaDB and PostgreSQL. */
const SERVERS = KFP_DIALECTS.filter((d) => d.dialect !== 'sqlite');

describe.each(SERVERS)('sharded runs on $dialect', ({ dialect, temp }) => {
  async function seeded(prefix: string, runs: number): Promise<{ mlmd: string; kfp: string }> {
    const mlmd = await temp(`${prefix}_mlmd_${dialect}`);
    const kfp = await temp(`${prefix}_kfp_${dialect}`);
    made.push(mlmd, kfp);
    await seedUrls(mlmd.url, kfp.url, { runs, seed: 7, hostile: true });
    return { mlmd: mlmd.url, kfp: kfp.url };
  }

  it('migrate: 3 shards at once write exactly the tables one process writes, and the last one records the migration finished', async () => {
    const [sharded, single] = await Promise.all([seeded('shard3', 45), seeded('shard1', 45)]);
    const shards = await Promise.all([0, 1, 2].map((i) => startCli(['migrate', '--mlmd', sharded.mlmd, '--kfp', sharded.kfp, '--shard', `${i}/3`, '--concurrency', '2', '--json']).done));
    const summaries = shards.map((r) => {
      // Exit 1: the hostile seed's records are reported, as by an unsharded migrate.
      expect(r.code, r.stderr).toBe(1);
      return JSON.parse(r.stdout) as { runs: { total: number }; shard: { index: number; count: number; finished: boolean } };
    });
    expect(summaries.map((s) => s.shard.index)).toEqual([0, 1, 2]);
    expect(summaries.filter((s) => s.shard.finished)).toHaveLength(1);
    const reference = await migrate({ mlmdUrl: single.mlmd, kfpUrl: single.kfp });
    // Every run in exactly one shard.
    expect(summaries.reduce((n, s) => n + s.runs.total, 0)).toBe(reference.runs.total);
    expect(summaries.every((s) => s.runs.total > 0)).toBe(true);
    expect(await dumpDatabase(sharded.kfp, DUMP)).toEqual(await dumpDatabase(single.kfp, DUMP));
    expect(await state(sharded.kfp, STATE_KEYS.finishedAt)).toBeDefined();
    expect(await state(sharded.kfp, 'shard_plan')).toBeUndefined();
  }, 600_000);

  it('stage: shards 0 and 2 done, shard 1 killed part-way: the stage is not finished; shard 1 re-run alone (Indexed Job env) finishes it, equal to one process', async () => {
    const runs = 90;
    const [sharded, single] = await Promise.all([seeded('shardk', runs), seeded('shardr', runs)]);
    for (const i of [0, 2]) {
      const r = await runCli(['stage', '--mlmd', sharded.mlmd, '--kfp', sharded.kfp, '--shard', `${i}/3`, '--json']);
      expect(r.code, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout).shard).toEqual({ index: i, count: 3, finished: false });
    }
    expect(await state(sharded.kfp, STATE_KEYS.stageFinishedAt)).toBeUndefined();
    const before = await count(sharded.kfp, 'SELECT COUNT(*) AS n FROM mlmd_bridge_runs');
    const killed = startCli(['stage', '--mlmd', sharded.mlmd, '--kfp', sharded.kfp, '--shard', '1/3', '--batch-size', '1', '--concurrency', '1']);
    const deadline = Date.now() + 120_000;
    while ((await count(sharded.kfp, 'SELECT COUNT(*) AS n FROM mlmd_bridge_runs')) < before + 3) {
      if (Date.now() > deadline) throw new Error('timed out waiting for shard 1 to write runs');
      await new Promise((r) => setTimeout(r, 10));
    }
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    expect(await state(sharded.kfp, STATE_KEYS.stageFinishedAt)).toBeUndefined();

    const rerun = await runCli(['stage', '--mlmd', sharded.mlmd, '--kfp', sharded.kfp, '--json'], { JOB_COMPLETION_INDEX: '1', MLMD_BRIDGE_SHARDS: '3' });
    expect(rerun.code, rerun.stderr).toBe(1);
    const summary = JSON.parse(rerun.stdout) as { runs: { unchanged: number }; shard: { finished: boolean } };
    expect(summary.shard).toEqual({ index: 1, count: 3, finished: true });
    expect(summary.runs.unchanged).toBeGreaterThanOrEqual(3);
    expect(await state(sharded.kfp, STATE_KEYS.stageFinishedAt)).toBeDefined();
    expect(await state(sharded.kfp, STATE_KEYS.stageWatermark)).toBeDefined();

    await stage({ mlmdUrl: single.mlmd, kfpUrl: single.kfp });
    expect(await dumpDatabase(sharded.kfp, DUMP)).toEqual(await dumpDatabase(single.kfp, DUMP));
    // The next stage is a true-up, whichever shard runs it.
    const trueUp = await runCli(['stage', '--mlmd', sharded.mlmd, '--kfp', sharded.kfp, '--shard', '2/3', '--json']);
    expect(JSON.parse(trueUp.stdout).stage.kind).toBe('true-up');
  }, 600_000);

  it('while a shard runs, an unsharded migrate, stage or cutover refuses (exit 3, LOCK_HELD) naming the shard; another shard count too', async () => {
    const db = await seeded('shardl', 20);
    const first = await runCli(['stage', '--mlmd', db.mlmd, '--kfp', db.kfp, '--shard', '0/2', '--json']);
    expect(JSON.parse(first.stdout).shard).toEqual({ index: 0, count: 2, finished: false });
    // Shard 1 "running": this process holds its lock, as a running shard's connection does.
    const kfp = await openDb(db.kfp);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const taken = new Promise<void>((r) => (holding = r));
    const shard1 = withShardLock(kfp, { index: 1, count: 2 }, async () => {
      holding();
      await held;
    });
    await taken;
    try {
      for (const cmd of ['migrate', 'stage', 'cutover']) {
        const r = await runCli([cmd, '--mlmd', db.mlmd, '--kfp', db.kfp]);
        expect(r.code, `${cmd}: ${r.stderr}`).toBe(3);
        expect(r.stderr, cmd).toMatch(/^mlmd-bridge: error \[LOCK_HELD\]: shards 1\/2 of a sharded run are writing into .+\n  what to do: /);
      }
      const other = await runCli(['stage', '--mlmd', db.mlmd, '--kfp', db.kfp, '--shard', '0/3']);
      expect(other.code, other.stderr).toBe(3);
      expect(other.stderr).toContain('[LOCK_HELD]: shards 1/2');
      const same = await runCli(['stage', '--mlmd', db.mlmd, '--kfp', db.kfp, '--shard', '1/2']);
      expect(same.code, same.stderr).toBe(3);
      expect(same.stderr).toContain('[LOCK_HELD]');
    } finally {
      release();
      await shard1;
      await kfp.close();
    }
    // Shard 1 for real, now: it is the last, and finishes the stage.
    const last = await runCli(['stage', '--mlmd', db.mlmd, '--kfp', db.kfp, '--shard', '1/2', '--json']);
    expect(JSON.parse(last.stdout).shard).toEqual({ index: 1, count: 2, finished: true });
  }, 300_000);

});

describe('sharded runs: the option', () => {
  it('bad shard values: exit 2 with one line naming the value', async () => {
    const base = ['migrate', '--mlmd', 'sqlite:/nonexistent/m.db', '--kfp', 'sqlite:/nonexistent/k.db'];
    for (const bad of ['3/3', '1/0', 'a/b', '-1/2', '1', '0/1001']) {
      const r = await runCli([...base, '--shard', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.split('\n')[0], bad).toBe(`error: option '--shard <i/N>' argument '${bad}' is invalid. --shard must be i/N with 0 ≤ i < N ≤ 1000 (got "${bad}")`);
    }
    const noIndex = await runCli(base, { MLMD_BRIDGE_SHARDS: '3', JOB_COMPLETION_INDEX: '' });
    expect(noIndex.code).toBe(2);
    expect(noIndex.stderr).toMatch(/^mlmd-bridge: error \[USAGE\]: MLMD_BRIDGE_SHARDS=3 is set but JOB_COMPLETION_INDEX is not\n/);
    const outOfRange = await runCli(base, { MLMD_BRIDGE_SHARDS: '3', JOB_COMPLETION_INDEX: '3' });
    expect(outOfRange.code).toBe(2);
    expect(outOfRange.stderr).toMatch(/^mlmd-bridge: error \[USAGE\]: JOB_COMPLETION_INDEX=3 with MLMD_BRIDGE_SHARDS=3 is not a shard/);
  }, 60_000);
});
