/**
 * The command line as an operator meets it: plan's forecast and blockers, exit codes for bad input,
 * older MLMD schema versions end to end, every mix of servers on the two sides, and the demo.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { createMlmdSchema } from '../src/seed/mlmd-ddl.ts';
import { runCli } from './helpers/cli.ts';
import { tempMariaDb, tempPostgres, tempSqlite, type TempDatabase } from './helpers/databases.ts';
import { checksum } from './helpers/snapshot.ts';

const dbs: TempDatabase[] = [];
const sqlite = async (name: string) => {
  const d = await tempSqlite(name);
  dbs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

describe('usage and connection errors exit 2 with a clear message', () => {
  it.each([
    ['a PostgreSQL URL with a parameter it does not take', ['plan', '--mlmd', 'postgres://u@h/db?connect_timeout=3', '--kfp', 'sqlite:/tmp/x.db'], 'the only parameter understood is sslmode'],
    ['an unknown scheme', ['plan', '--mlmd', 'oracle://x/y', '--kfp', 'sqlite:/tmp/x.db'], 'unknown scheme'],
    ['a MySQL URL without a database', ['plan', '--mlmd', 'mysql://root@127.0.0.1:3306/', '--kfp', 'sqlite:/tmp/x.db'], 'names no database'],
    ['a missing SQLite file', ['plan', '--mlmd', 'sqlite:/nonexistent/m.db', '--kfp', 'sqlite:/tmp/x.db'], 'does not exist'],
    ['an unreachable server', ['plan', '--mlmd', 'mysql://root@127.0.0.1:1/metadb', '--kfp', 'sqlite:/tmp/x.db'], 'cannot connect'],
    ['a missing --kfp', ['migrate', '--mlmd', 'sqlite:/tmp/m.db'], "required option '--kfp <url>' not specified"],
    ['a bad --batch-size', ['migrate', '--mlmd', 'sqlite:/tmp/m.db', '--kfp', 'sqlite:/tmp/k.db', '--batch-size', '0'], '--batch-size must be a whole number'],
    ['an unknown command', ['migrat'], 'unknown command'],
  ])('%s', async (_label, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('--help explains commands, URLs and exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['plan', 'migrate', 'verify', 'status', 'rollback', 'seed', 'demo', 'sqlite:', 'Exit codes', 'MLMD_BRIDGE_WORKERS', 'MLMD_BRIDGE_HEAP_GROWING_PERCENT']) {
      expect(r.stdout).toContain(word);
    }
  });

  it('--version prints the version package.json gives, and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });
});

describe('environment', () => {
  it('an unusable MLMD_BRIDGE_WORKERS is named once on stderr and the default used, not silently replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-workers-'));
    try {
      const r = await runCli(['demo', '--dir', dir, '--runs', '2'], { MLMD_BRIDGE_WORKERS: 'two' });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^mlmd-bridge: ignoring MLMD_BRIDGE_WORKERS="two" \(expected a whole number ≥ 0\); using the default, \d+ here \(one per core beyond 2\)\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('preconditions exit 3', () => {
  it('an MLMD schema version other than 8, 9 or 10 is refused, naming the version', async () => {
    const m = await sqlite('v7');
    const k = await sqlite('v7kfp');
    const db = await openDb(m.url, { create: true });
    await createMlmdSchema(db, 10);
    await db.run('UPDATE MLMDEnv SET schema_version = 7');
    await db.close();
    const r = await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/schema version 7/);
  });

  it('a target that is not a KFP database is refused', async () => {
    const m = await sqlite('nk_mlmd');
    const k = await sqlite('nk_kfp');
    const db = await openDb(m.url, { create: true });
    await createMlmdSchema(db, 10);
    await db.close();
    (await openDb(k.url, { create: true })).close();
    const r = await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('NOT_KFP_DATABASE');
  });

  it('malformed bookkeeping state stops status, migrate and rollback before they change anything, naming the row', async () => {
    const m = await sqlite('state_mlmd');
    const k = await sqlite('state_kfp');
    expect((await runCli(['seed', '--mlmd', m.url, '--kfp', k.url, '--runs', '2'])).code).toBe(0);
    expect((await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url])).code).toBe(0);
    const cases: [value: string, problem: string][] = [
      ['["tasks", "artifacts"', 'is not JSON \\(.+\\)'],
      // Valid JSON of the wrong shape: read as a list of characters it would make rollback delete rows of tables it created.
      ['"tasks"', 'is not a JSON array of table names'],
    ];
    for (const [value, problem] of cases) {
      const db = await openDb(k.url);
      await db.run("UPDATE mlmd_bridge_state SET value = ? WHERE name = 'created_target_tables'", [value]);
      await db.close();
      const before = await checksum(k.url);
      for (const args of [['status'], ['migrate', '--mlmd', m.url], ['rollback']]) {
        const r = await runCli([...args, '--kfp', k.url]);
        expect(r.code, `${args[0]} with ${value}`).toBe(3);
        expect(r.stderr).toMatch(new RegExp(`^mlmd-bridge: error \\[STATE_CORRUPT\\]: the bookkeeping row mlmd_bridge_state "created_target_tables" ${problem}: .+\\n  what to do: restore that row from the backup`));
        expect(r.stdout).toBe('');
      }
      expect(await checksum(k.url)).toBe(before);
    }
  });
});

describe('plan', () => {
  let m: TempDatabase;
  let k: TempDatabase;
  beforeAll(async () => {
    m = await sqlite('plan_mlmd');
    k = await sqlite('plan_kfp');
    const s = await runCli(['seed', '--mlmd', m.url, '--kfp', k.url, '--runs', '12', '--hostile']);
    expect(s.code).toBe(0);
  });

  it('forecasts exactly the rows migrate then writes, and writes nothing itself', async () => {
    const before = await checksum(k.url);
    const p = await runCli(['plan', '--mlmd', m.url, '--kfp', k.url, '--json']);
    expect(p.code).toBe(0);
    // Batches of 2 runs: several read ahead while one is mapped; the forecast must not change.
    const small = await runCli(['plan', '--mlmd', m.url, '--kfp', k.url, '--json', '--batch-size', '2']);
    expect(small.code).toBe(0);
    expect(JSON.parse(small.stdout)).toEqual(JSON.parse(p.stdout));
    expect(await checksum(k.url)).toBe(before);
    const plan = JSON.parse(p.stdout) as {
      runs: { total: number; orphan: number; inFlight: number };
      rows: { tasks: number; artifacts: number; artifact_tasks: number };
      nonKfp: { kind: string; type: string }[];
      rejects: Record<string, number>;
      blockers: string[];
      warnings: string[];
      source: { schemaVersion: number };
    };
    expect(plan.blockers).toEqual([]);
    expect(plan.runs.orphan).toBe(1);
    expect(plan.runs.inFlight).toBeGreaterThan(0);
    expect(plan.warnings.join(' ')).toContain('in flight');
    expect(plan.source.schemaVersion).toBe(10);
    expect(plan.nonKfp.map((t) => t.type)).toEqual(expect.arrayContaining(['pipeline_run', 'KfpRun']));
    // The seed's run with an unreadable manifest is announced before anything is written.
    expect(plan.rejects.SPEC_UNREADABLE).toBe(1);
    const human = await runCli(['plan', '--mlmd', m.url, '--kfp', k.url]);
    expect(human.stdout).toMatch(/^SPEC_UNREADABLE +adjusted +1$/m);

    const mig = await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url, '--json']);
    expect(mig.code).toBe(1);
    const summary = JSON.parse(mig.stdout) as { rows: { tasks: number; artifact_tasks: number }; rejects: { byCode: Record<string, number> } };
    expect(summary.rows.tasks).toBe(plan.rows.tasks);
    expect(summary.rows.artifact_tasks).toBe(plan.rows.artifact_tasks);
    const db = await openDb(k.url, { readOnly: true });
    const [n] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM artifacts');
    await db.close();
    expect(Number(n!.n)).toBe(plan.rows.artifacts);
    expect(summary.rejects.byCode).toEqual(plan.rejects);
  });

  it('reports blockers and exits 3 when the target tables differ from KFP 3', async () => {
    const db = await openDb(k.url);
    await db.run('DROP INDEX idx_task_type');
    await db.close();
    const p = await runCli(['plan', '--mlmd', m.url, '--kfp', k.url]);
    expect(p.code).toBe(3);
    expect(p.stdout).toContain('BLOCKED');
    expect(p.stdout).toContain('idx_task_type');
  });
});

describe.each([8, 9])('an MLMD database at schema version %i migrates and verifies', (version) => {
  it('seed → migrate → verify', async () => {
    const m = await sqlite(`s${version}_mlmd`);
    const k = await sqlite(`s${version}_kfp`);
    expect((await runCli(['seed', '--mlmd', m.url, '--kfp', k.url, '--runs', '12', '--schema-version', String(version)])).code).toBe(0);
    const mig = await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url, '--json']);
    expect(mig.code).toBe(0);
    expect(JSON.parse(mig.stdout).source.schemaVersion).toBe(version);
    const v = await runCli(['verify', '--mlmd', m.url, '--kfp', k.url]);
    expect(v.stdout).toContain('Every checked run matches');
    expect(v.code).toBe(0);
  });
});

describe('status', () => {
  it('says never-migrated, then complete with counts', async () => {
    const m = await tempMariaDb('st_mlmd');
    const k = await tempMariaDb('st_kfp');
    dbs.push(m, k);
    expect((await runCli(['seed', '--mlmd', m.url, '--kfp', k.url, '--runs', '6'])).code).toBe(0);
    const before = JSON.parse((await runCli(['status', '--kfp', k.url, '--json'])).stdout);
    expect(before).toMatchObject({ state: 'never-migrated', migrated: false });
    expect((await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url])).code).toBe(0);
    const after = await runCli(['status', '--kfp', k.url]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('complete');
    expect(after.stdout).toMatch(/runs migrated\s+6/);
  });
});

/**
 * Every mix of servers (issue #18) the other suites leave out: each side is tested against itself,
 * and PostgreSQL as a source into MariaDB and SQLite (postgres.int.test.ts) without status or rollback.
 */
describe.each([
  { from: 'PostgreSQL', to: 'PostgreSQL', mlmd: tempPostgres, kfp: tempPostgres },
  { from: 'MariaDB', to: 'PostgreSQL', mlmd: tempMariaDb, kfp: tempPostgres },
  { from: 'SQLite', to: 'PostgreSQL', mlmd: tempSqlite, kfp: tempPostgres },
  { from: 'PostgreSQL', to: 'SQLite', mlmd: tempPostgres, kfp: tempSqlite },
])('MLMD on $from, KFP on $to', ({ mlmd: tempMlmd, kfp: tempKfp }) => {
  it('seed → migrate → verify (exit 0) → status → rollback leaves KFP as it was → migrate again', async () => {
    const m = await tempMlmd('mix_mlmd');
    const k = await tempKfp('mix_kfp');
    dbs.push(m, k);
    const seeded = await runCli(['seed', '--mlmd', m.url, '--kfp', k.url, '--runs', '8', '--seed', '4']);
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    const pristine = await checksum(k.url);
    const mlmdBefore = await checksum(m.url);
    expect(JSON.parse((await runCli(['status', '--kfp', k.url, '--json'])).stdout)).toMatchObject({ state: 'never-migrated', migrated: false });

    const migrated = await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url, '--json']);
    expect(migrated.code, migrated.stderr).toBe(0);
    const summary = JSON.parse(migrated.stdout) as { runs: { migrated: number }; rows: { tasks: number } };
    expect(summary.runs.migrated).toBe(8);
    expect(summary.rows.tasks).toBeGreaterThan(8);
    const verified = await runCli(['verify', '--mlmd', m.url, '--kfp', k.url, '--json']);
    expect(verified.code, verified.stderr + verified.stdout.slice(0, 2000)).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ runs: { checked: 8, matched: 8, drifted: 0 } });
    const status = await runCli(['status', '--kfp', k.url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('complete');
    expect(status.stdout).toMatch(/runs migrated\s+8/);

    const rolledBack = await runCli(['rollback', '--kfp', k.url]);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(await checksum(k.url)).toBe(pristine);
    // The MLMD database was only read, by every command.
    expect(await checksum(m.url)).toBe(mlmdBefore);
    const again = await runCli(['migrate', '--mlmd', m.url, '--kfp', k.url]);
    expect(again.code, again.stderr).toBe(0);
    expect((await runCli(['verify', '--mlmd', m.url, '--kfp', k.url])).code).toBe(0);
  }, 120_000);
});

describe('demo', () => {
  it('seeds, migrates and verifies on SQLite files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-demo-'));
    try {
      const r = await runCli(['demo', '--dir', dir, '--runs', '12']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Every record migrated');
      expect(r.stdout).toContain('Every checked run matches');
      expect(existsSync(join(dir, 'verify.xml'))).toBe(true);
      expect(existsSync(join(dir, 'kfp.db'))).toBe(true);
      expect(readFileSync(join(dir, 'rejects.ndjson'), 'utf8')).toContain('RUNNING_IN_FINISHED_RUN');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
