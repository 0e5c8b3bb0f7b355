/**
 * `cutover` and the startup gate on real SQLite files, a real MariaDB and a real PostgreSQL: a cut-over stopped just
 * before its swap (the v1 FK released, the staged FK renamed) is still "before" and is finished by a
 * re-run or undone by stage; one killed with SIGKILL in its last true-up is "before" too; every name
 * is KFP 3's afterwards (the schema check migrate runs accepts the tables); the lock; the exit codes
 * of status --require cutover, of stage after a cut-over and of cutover with nothing staged; on PostgreSQL, a swap failing midway.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, openDb, type Queryable } from '../src/db/connection.ts';
import { ensureTargetTables } from '../src/load/schema.ts';
import { renameStagedRunForeignKey, STAGED_TASKS, swapStagedIn, upgradePhase } from '../src/load/staged-tables.ts';
import { releaseV1ForeignKeyNames } from '../src/load/v1-tasks.ts';
import { stage } from '../src/migrate/stager.ts';
import { cutover } from '../src/migrate/cutover.ts';
import { addRunsLike, deleteRuns, nextMlmdTime } from '../src/seed/activity.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { holdLock } from './helpers/lock.ts';
import { dumpDatabase } from './helpers/snapshot.ts';
import { pgColumns, pgForeignKeys, pgIndexes } from './helpers/pg-catalog.ts';
import { expectOneShotEqual, withBoth } from './helpers/staged.ts';

const RUNS = 24;
/** Where each database lists its tables by name, read directly rather than through the code under test. */
const CATALOG = {
  mysql: 'information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
  postgres: 'pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?',
  sqlite: "sqlite_master WHERE name = ?",
} as const;
const KFP3_TABLES = ['artifacts', 'tasks', 'artifact_tasks'];

async function withDbs<T>(urls: string[], fn: (...dbs: Db[]) => Promise<T>): Promise<T> {
  const dbs = await Promise.all(urls.map((u) => openDb(u, { create: true })));
  try {
    return await fn(...dbs);
  } finally {
    for (const d of dbs) await d.close();
  }
}

const seed = (mlmdUrl: string, kfpUrl: string) => withBoth(mlmdUrl, kfpUrl, (m, k) => seedDatabases(m, k, { runs: RUNS, seed: 5 }), true);

describe.each(KFP_DIALECTS)('cutover on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  const make = async (name: string) => {
    const d = await temp(`cut_${name}_${dialect}`);
    dbs.push(d);
    return d;
  };
  /** A seeded KFP 2.x pair. */
  const pair = async (name: string) => {
    const [mlmd, kfp] = [await make(`${name}_mlmd`), await make(`${name}_kfp`)];
    const report = await seed(mlmd.url, kfp.url);
    return { mlmd: mlmd.url, kfp: kfp.url, report };
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('stopped just before its swap, the database is still KFP 2.x\'s; stage undoes the preparation, a re-run of cutover finishes with every name KFP 3\'s', async () => {
    const p = await pair('halfway');
    const reference = await pair('halfway_ref');
    await stage({ mlmdUrl: p.mlmd, kfpUrl: p.kfp });
    await stage({ mlmdUrl: reference.mlmd, kfpUrl: reference.kfp });
    const staged = await dumpDatabase(p.kfp, { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] });

    // What cutover does before its RENAME; a kill right there leaves exactly this.
    const prepare = () =>
      withDbs([p.kfp], async (k) => {
        await releaseV1ForeignKeyNames(k!);
        await k!.session((s) => renameStagedRunForeignKey(s, 'to-kfp3'));
        return upgradePhase(k!);
      });
    expect(await prepare()).toBe('staged');

    // stage puts the v1 FK and the staged FK name back: the tables are as they were.
    await stage({ mlmdUrl: p.mlmd, kfpUrl: p.kfp });
    expect(await dumpDatabase(p.kfp, { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] })).toEqual(staged);

    expect(await prepare()).toBe('staged');
    const done = await cutover({ mlmdUrl: p.mlmd, kfpUrl: p.kfp });
    expect(done.outcome).toBe('swapped');
    await cutover({ mlmdUrl: reference.mlmd, kfpUrl: reference.kfp });
    await withDbs([p.kfp], async (k) => {
      expect(await upgradePhase(k!)).toBe('kfp3');
      expect(await ensureTargetTables(k!)).toEqual({ created: [], verified: KFP3_TABLES });
    });
    // Schema and rows, names of constraints included, as an uninterrupted cut-over leaves them.
    const tables = [...KFP3_TABLES, 'tasks_v1_backup'];
    expect(await dumpDatabase(p.kfp, { tables })).toEqual(await dumpDatabase(reference.kfp, { tables }));

    const again = await cutover({ mlmdUrl: p.mlmd, kfpUrl: p.kfp });
    expect(again.outcome).toBe('already');
  }, 300_000);

  it('killed with SIGKILL during its last true-up, the database is before the swap and a re-run finishes it', async () => {
    const p = await pair('killed');
    await stage({ mlmdUrl: p.mlmd, kfpUrl: p.kfp });
    const templates = p.report.runs.filter((r) => r.state !== 'RUNNING').map((r) => r.uuid).slice(0, 12);
    const checkpointsBefore = await withBoth(p.mlmd, p.kfp, async (m, k) => {
      await addRunsLike(m!, k!, templates, await nextMlmdTime(m!));
      return Number((await k!.all<{ n: number }>('SELECT COUNT(*) AS n FROM mlmd_bridge_runs'))[0]!.n);
    });
    const killed = startCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp, '--batch-size', '1', '--concurrency', '1']);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const n = await withDbs([p.kfp], async (k) => Number((await k!.all<{ n: number }>('SELECT COUNT(*) AS n FROM mlmd_bridge_runs'))[0]!.n));
      if (n > checkpointsBefore) break;
      if (Date.now() > deadline) throw new Error('timed out waiting for the true-up to write');
      await new Promise((r) => setTimeout(r, 5));
    }
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    expect(await withDbs([p.kfp], (k) => upgradePhase(k!))).toBe('staged');

    const rerun = await runCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp]);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('Cut over in');
    await withDbs([p.kfp], async (k) => {
      expect(await upgradePhase(k!)).toBe('kfp3');
      expect((await ensureTargetTables(k!)).verified).toEqual(KFP3_TABLES);
    });
    const verified = await runCli(['verify', '--mlmd', p.mlmd, '--kfp', p.kfp]);
    expect(verified.code).toBe(0);
  }, 300_000);

  // SQLite has no second session to hold a table while the swap waits: the file lock is the whole database's.
  if (dialect !== 'sqlite') {
    it('a session still using tasks in an open transaction: cutover --lock-wait 1 stops within seconds with LOCK_HELD naming it (exit 3), nothing swapped; a re-run once it commits cuts over', async () => {
      const p = await pair('lockwait');
      const staged = await runCli(['stage', '--mlmd', p.mlmd, '--kfp', p.kfp]);
      expect(staged.code, staged.stderr).toBe(0);
      const before = await dumpDatabase(p.kfp, { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] });
      const holder = await openDb(p.kfp);
      let commit!: () => void;
      const released = new Promise<void>((r) => (commit = r));
      let reading!: () => void;
      const holding = new Promise<void>((r) => (reading = r));
      // A KFP 2.x client in the middle of a transaction that has read tasks: it holds the table until it commits.
      let holderId = -1;
      const held = holder.transaction(async (tx) => {
        await tx.all('SELECT COUNT(*) AS n FROM tasks');
        const [me] = await tx.all<{ id: number }>(dialect === 'postgres' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id');
        holderId = Number(me!.id);
        reading();
        await released;
      });
      try {
        await holding;
        const started = Date.now();
        const run = startCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp, '--lock-wait', '1']);
        // Without the bound the swap waits as long as the holder: this timer would end it, and the test fail.
        const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
        const r = await run.done;
        clearTimeout(timer);
        expect(r.signal, 'cutover was still waiting after 60 s').toBeNull();
        expect(Date.now() - started).toBeLessThan(45_000);
        expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
        expect(r.stderr).toMatch(/error \[LOCK_HELD\]: cutover could not lock the table tasks .*it waits at most 1 s, --lock-wait.*the swap was not made/);
        // The holder is named: PostgreSQL by its pid, MariaDB by its connection id.
        expect(r.stderr).toContain(dialect === 'postgres' ? `pid ${holderId} ` : `id ${holderId} `);
        expect(r.code).toBe(3);
        expect(await withDbs([p.kfp], (k) => upgradePhase(k!))).toBe('staged');
        expect(await dumpDatabase(p.kfp, { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] })).toEqual(before);
      } finally {
        commit();
        await held;
        await holder.close();
      }
      const again = await runCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp, '--lock-wait', '1']);
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect(await withDbs([p.kfp], (k) => upgradePhase(k!))).toBe('kfp3');
    }, 300_000);
  }

  it('the exit codes: the gate (3 then 0, 3 again when MLMD changed), stage after a cut-over, cutover with nothing staged, the lock', async () => {
    const p = await pair('gate');
    const gate = (withMlmd: boolean) => runCli(['status', '--kfp', p.kfp, ...(withMlmd ? ['--mlmd', p.mlmd] : []), '--require', 'cutover']);
    const oneLine = (s: string) => s.trimEnd().split('\n');
    /** The gate refuses: exit 3, one line on stderr naming what is missing. */
    const closed = async (withMlmd: boolean, missing: string) => {
      const g = await gate(withMlmd);
      expect(g.code).toBe(3);
      expect(oneLine(g.stderr)).toHaveLength(1);
      expect(g.stderr).toContain(missing);
    };
    /** The gate lets KFP 3 start: exit 0, one line on stdout. */
    const open = async (withMlmd: boolean) => {
      const g = await gate(withMlmd);
      expect(g.stderr).toBe('');
      expect(g.code).toBe(0);
      expect(oneLine(g.stdout)).toHaveLength(1);
      expect(g.stdout).toContain('ready for KFP 3: cut over at');
    };

    await closed(false, 'run mlmd-bridge stage');

    const notStaged = await runCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp]);
    expect(notStaged.code).toBe(3);
    expect(notStaged.stderr).toContain('NOT_STAGED');

    expect((await runCli(['stage', '--mlmd', p.mlmd, '--kfp', p.kfp])).code).toBe(0);
    await closed(true, 'not cut over');
    const status = await runCli(['status', '--kfp', p.kfp, '--mlmd', p.mlmd]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`upgrade: staged, not cut over (${RUNS} runs`);
    expect(status.stdout).toContain('pending: 0 runs changed');

    const release = await holdLock(p.kfp);
    try {
      const locked = await runCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp]);
      expect(locked.code).toBe(3);
      expect(locked.stderr.split('\n')[0]).toContain('LOCK_HELD');
    } finally {
      await release();
    }
    expect(await withDbs([p.kfp], (k) => upgradePhase(k!))).toBe('staged');

    expect((await runCli(['cutover', '--mlmd', p.mlmd, '--kfp', p.kfp])).code).toBe(0);
    await open(true);

    const restaged = await runCli(['stage', '--mlmd', p.mlmd, '--kfp', p.kfp]);
    expect(restaged.code).toBe(3);
    expect(restaged.stderr).toContain('ALREADY_CUT_OVER');
    expect(restaged.stderr).toContain('rollback');

    // KFP 3 at work owns run_details now: a run it deletes does not close the gate (a restart of its API server passes).
    const settled = p.report.runs.filter((r) => r.state !== 'RUNNING').map((r) => r.uuid);
    await withDbs([p.kfp], (k) => deleteRuns(k!, [settled[1]!]));
    await open(true);

    // KFP 2.x started again by mistake: MLMD moves on, and the gate, shown MLMD, closes.
    const template = settled[0]!;
    await withBoth(p.mlmd, p.kfp, async (m, k) => {
      await addRunsLike(m!, k!, [template], await nextMlmdTime(m!));
    });
    await closed(true, '1 run(s) changed');
    // Without --mlmd the gate checks the recorded state only.
    await open(false);
    expect(await withDbs([p.kfp], (k) => k!.all(`SELECT 1 FROM ${CATALOG[dialect]}`, [STAGED_TASKS]))).toEqual([]);
  }, 300_000);
});

/**
 * PostgreSQL swaps in one transaction of four statements (two table renames, two primary-key index
 * renames): a failure at any of them must leave the database staged exactly as it was, and a re-run
 * of cutover must finish with the catalog a one-shot migrate leaves.
 */
describe('cutover on postgres: the swap fails midway', () => {
  const pg = KFP_DIALECTS.find((d) => d.dialect === 'postgres')!;
  const dbs: TempDatabase[] = [];
  const make = async (name: string) => {
    const d = await pg.temp(`cut_${name}_pg`);
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('its last statement failing (in process, or refused by the server), leaves the database staged and unchanged; a name held elsewhere is refused first; a re-run of cutover ends as a one-shot migrate', async () => {
    const [m, k, r] = [await make('mid_m'), await make('mid_k'), await make('mid_r')];
    await seed(m.url, k.url);
    await stage({ mlmdUrl: m.url, kfpUrl: k.url });
    const everything = { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] };
    const staged = await dumpDatabase(k.url, everything);
    expect(await withDbs([k.url], (kdb) => pgIndexes(kdb!, STAGED_TASKS))).toContain(`${STAGED_TASKS}_pkey PRIMARY (UUID)`);

    // 1. The swap's last statement (the staged primary key taking tasks_pkey) fails: the three before it are undone.
    const sent: string[] = [];
    await withDbs([k.url], async (kdb) => {
      const failLast = (tx: Queryable): Queryable =>
        new Proxy(tx, {
          get(target, prop) {
            const value = Reflect.get(target, prop, target) as unknown;
            if (prop !== 'run') return typeof value === 'function' ? value.bind(target) : value;
            return async (sql: string, params?: never[]) => {
              sent.push(sql);
              if (/^ALTER INDEX .*tasks_kfp3_staged_pkey.* RENAME TO .*tasks_pkey/.test(sql)) throw new Error('the last statement of the swap failed');
              return target.run(sql, params);
            };
          },
        });
      const db = new Proxy(kdb!, {
        get(target, prop) {
          if (prop === 'transaction') return <T>(fn: (tx: Queryable) => Promise<T>) => target.transaction((tx) => fn(failLast(tx)));
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      await expect(swapStagedIn(db, true, 30)).rejects.toThrow('the last statement of the swap failed');
    });
    // All four were sent, in one transaction, the failing one last.
    expect(sent).toHaveLength(4);
    expect(sent[3]).toMatch(/tasks_kfp3_staged_pkey/);
    expect(await withDbs([k.url], (kdb) => upgradePhase(kdb!))).toBe('staged');
    expect(await dumpDatabase(k.url, everything)).toEqual(staged);

    // 2. The server refuses the last statement (an event trigger stands for any failure there), the cutover command running as
    //    an operator runs it: the last true-up done, the swap undone whole.
    await withDbs([k.url], async (kdb) => {
      await kdb!.run(
        "CREATE FUNCTION refuse_tasks_pkey() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_identity LIKE '%.tasks_pkey') THEN RAISE EXCEPTION 'injected: tasks_pkey refused'; END IF; END $f$",
      );
      await kdb!.run("CREATE EVENT TRIGGER refuse_tasks_pkey ON ddl_command_end WHEN TAG IN ('ALTER INDEX') EXECUTE FUNCTION refuse_tasks_pkey()");
    });
    const failed = await runCli(['cutover', '--mlmd', m.url, '--kfp', k.url]);
    expect(failed.code, failed.stderr).not.toBe(0);
    expect(failed.stderr).toContain('injected: tasks_pkey refused');
    await withDbs([k.url], async (kdb) => {
      expect(await upgradePhase(kdb!)).toBe('staged');
      await kdb!.run('DROP EVENT TRIGGER refuse_tasks_pkey');
      await kdb!.run('DROP FUNCTION refuse_tasks_pkey()');
    });
    expect(await dumpDatabase(k.url, everything)).toEqual(staged);

    // 3. A name the swap needs is held by another relation: refused before anything changes, exit 3, with what to do.
    await withDbs([k.url], async (kdb) => {
      await kdb!.run('CREATE TABLE blocker (x integer)');
      await kdb!.run('CREATE INDEX tasks_v1_backup_pkey ON blocker (x)');
    });
    const refused = await runCli(['cutover', '--mlmd', m.url, '--kfp', k.url]);
    expect(refused.code, refused.stderr).toBe(3);
    const lines = refused.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/TARGET_SCHEMA_MISMATCH.*tasks_v1_backup_pkey is already the name of another table or index/);
    expect(lines[1]).toMatch(/what to do: .*rename or drop it, then run mlmd-bridge cutover again/);
    expect(await withDbs([k.url], (kdb) => upgradePhase(kdb!))).toBe('staged');
    expect(await dumpDatabase(k.url, { ...everything, exclude: [...everything.exclude, 'blocker'] })).toEqual(staged);

    // 4. The blocker gone, a re-run finishes: every name KFP 3's, the catalog as a one-shot migrate leaves it.
    await withDbs([k.url], (kdb) => kdb!.run('DROP TABLE blocker'));
    const rerun = await runCli(['cutover', '--mlmd', m.url, '--kfp', k.url]);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    await withDbs([k.url], async (kdb) => {
      expect(await upgradePhase(kdb!)).toBe('kfp3');
      expect(await ensureTargetTables(kdb!)).toEqual({ created: [], verified: KFP3_TABLES });
      expect(await pgIndexes(kdb!, 'tasks')).toContain('tasks_pkey PRIMARY (UUID)');
      expect(await pgIndexes(kdb!, 'tasks_v1_backup')).toEqual(['tasks_RunUUID_run_details_UUID_foreign (RunUUID)', 'tasks_v1_backup_pkey PRIMARY (UUID)']);
    });
    await expectOneShotEqual(m.url, k.url, r.url);
    const catalog = (url: string) =>
      withDbs([url], async (kdb) => {
        const out: Record<string, string[]> = {};
        for (const t of [...KFP3_TABLES, 'tasks_v1_backup']) out[t] = [...(await pgColumns(kdb!, t)), ...(await pgIndexes(kdb!, t)), ...(await pgForeignKeys(kdb!, t))];
        return out;
      });
    expect(await catalog(k.url)).toEqual(await catalog(r.url));
  }, 300_000);
});
