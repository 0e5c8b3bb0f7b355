/**
 * MLMD on PostgreSQL end to end, as an operator runs it: the same seed read from PostgreSQL,
 * MariaDB and SQLite gives the same run bundles and the same plan; migrate from PostgreSQL into a
 * MariaDB and a SQLite KFP database passes verify; and bad input (a schema version mlmd-bridge does
 * not read, a missing database, a role that may not read or connect, a KFP database on PostgreSQL)
 * ends with exit 2 or 3 and a line naming the problem and what to do.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { openMlmdSource } from '../src/extract/mlmd-reader.ts';
import { readRunDetails } from '../src/extract/run-details.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { createMlmdSchema } from '../src/seed/mlmd-ddl.ts';
import type { RunBundle } from '../src/transform/model.ts';
import { runCli } from './helpers/cli.ts';
import { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, type TempDatabase, tempMariaDb, tempPostgres, tempSqlite } from './helpers/databases.ts';

const RUNS = '24';
const SEED = '7';

const made: TempDatabase[] = [];
async function keep(d: Promise<TempDatabase>): Promise<TempDatabase> {
  const t = await d;
  made.push(t);
  return t;
}
afterAll(async () => {
  for (const t of made) await t.drop();
});

async function seed(mlmd: TempDatabase, kfp: TempDatabase): Promise<void> {
  const r = await runCli(['seed', '--mlmd', mlmd.url, '--kfp', kfp.url, '--runs', RUNS, '--seed', SEED, '--hostile']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** Every run bundle of an MLMD database, with the run details of its KFP database. */
async function allBundles(mlmdUrl: string, kfpUrl: string): Promise<RunBundle[]> {
  const source = await openMlmdSource(mlmdUrl);
  const kfp = await openDb(kfpUrl, { readOnly: true });
  try {
    const runs = await source.listRunContexts();
    const details = await readRunDetails(kfp, runs.map((r) => r.name));
    return await source.readRunBundles(
      runs.map((r) => r.id),
      details,
    );
  } finally {
    await source.close();
    await kfp.close();
  }
}

async function planJson(mlmdUrl: string, kfpUrl: string): Promise<Record<string, unknown>> {
  const r = await runCli(['plan', '--mlmd', mlmdUrl, '--kfp', kfpUrl, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const p = JSON.parse(r.stdout) as { source: { url: string }; target: { url: string } };
  // Only where the data lives may differ.
  return { ...p, source: { ...p.source, url: '' }, target: { ...p.target, url: '' } };
}

describe('an MLMD database on PostgreSQL reads as the same database on MariaDB and SQLite', () => {
  const db: Record<'sqliteMlmd' | 'sqliteKfp' | 'mariaMlmd' | 'mariaKfp' | 'pgMlmd' | 'pgSideKfp', TempDatabase> = {} as never;

  beforeAll(async () => {
    [db.sqliteMlmd, db.sqliteKfp, db.mariaMlmd, db.mariaKfp, db.pgMlmd, db.pgSideKfp] = await Promise.all([
      keep(tempSqlite('pg_ref_mlmd')),
      keep(tempSqlite('pg_ref_kfp')),
      keep(tempMariaDb('pg_ref_mlmd')),
      keep(tempMariaDb('pg_ref_kfp')),
      keep(tempPostgres('pg_src_mlmd')),
      keep(tempSqlite('pg_src_kfp')),
    ]);
    await seed(db.sqliteMlmd, db.sqliteKfp);
    await seed(db.mariaMlmd, db.mariaKfp);
    await seed(db.pgMlmd, db.pgSideKfp);
  }, 120_000);

  it('extract gives identical run bundles', async () => {
    const fromSqlite = await allBundles(db.sqliteMlmd.url, db.sqliteKfp.url);
    expect(fromSqlite.length).toBeGreaterThan(24);
    expect(fromSqlite.some((b) => b.executions.some((e) => Object.keys(e.customProperties).length > 0))).toBe(true);
    expect(await allBundles(db.pgMlmd.url, db.pgSideKfp.url)).toEqual(fromSqlite);
    expect(await allBundles(db.mariaMlmd.url, db.mariaKfp.url)).toEqual(fromSqlite);
  });

  it('plan gives the same forecast, whichever database holds MLMD and KFP', async () => {
    const reference = await planJson(db.sqliteMlmd.url, db.sqliteKfp.url);
    expect((reference.rows as { tasks: number }).tasks).toBeGreaterThan(0);
    expect(await planJson(db.pgMlmd.url, db.pgSideKfp.url)).toEqual(reference);
    expect(await planJson(db.pgMlmd.url, db.mariaKfp.url)).toEqual(reference);
    expect(await planJson(db.mariaMlmd.url, db.mariaKfp.url)).toEqual(reference);
  });

  it.each([
    ['SQLite', 'pgSideKfp'],
    ['MariaDB', 'mariaKfp'],
  ] as const)('migrate from PostgreSQL into a %s KFP database passes verify, and changes nothing in MLMD', async (_label, kfpKey) => {
    const before = await runCli(['plan', '--mlmd', db.pgMlmd.url, '--kfp', db[kfpKey].url, '--json']);
    // Hostile records are reported and skipped: exit 1, with every other run migrated.
    const m = await runCli(['migrate', '--mlmd', db.pgMlmd.url, '--kfp', db[kfpKey].url, '--json']);
    expect(m.code, m.stderr).toBe(1);
    const summary = JSON.parse(m.stdout) as { runs: { migrated: number; orphan: number }; rows: { tasks: number } };
    expect(summary.runs.migrated).toBeGreaterThan(20);
    expect(summary.rows.tasks).toBe((JSON.parse(before.stdout) as { rows: { tasks: number } }).rows.tasks);
    const v = await runCli(['verify', '--mlmd', db.pgMlmd.url, '--kfp', db[kfpKey].url, '--json']);
    expect(v.code, v.stderr + v.stdout.slice(0, 2000)).toBe(0);
    const report = JSON.parse(v.stdout) as { runs: { checked: number; matched: number; drifted: number; orphan: number } };
    expect(report.runs.drifted).toBe(0);
    expect(report.runs.matched).toBeGreaterThan(20);
    expect(report.runs.matched + report.runs.orphan).toBe(report.runs.checked);
  });

  it('the MLMD database was only read', async () => {
    const source = await openMlmdSource(db.pgMlmd.url);
    try {
      const counts = await source.countSource();
      const reference = await openMlmdSource(db.sqliteMlmd.url);
      try {
        expect(counts).toEqual(await reference.countSource());
      } finally {
        await reference.close();
      }
      const tables = await source.db.all<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()");
      expect(tables).toHaveLength(15);
    } finally {
      await source.close();
    }
  });
});

/** One error line naming the problem, then the one line saying what to do. */
function expectOneProblem(r: { code: number | null; stderr: string }, exit: number, problem: RegExp, todo: RegExp): void {
  expect(r.code, r.stderr).toBe(exit);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(problem);
  expect(lines[1]).toMatch(/^ {2}what to do: /);
  expect(lines[1]).toMatch(todo);
}

describe('bad input on PostgreSQL exits 2 or 3 with the problem and what to do', () => {
  let kfp: TempDatabase;
  beforeAll(async () => {
    kfp = await keep(tempSqlite('pg_bad_kfp'));
    const k = await openDb(kfp.url, { create: true });
    await k.run('CREATE TABLE `run_details` (`UUID` VARCHAR(191) PRIMARY KEY)');
    await k.close();
  });

  async function mlmdOnPostgres(version: number): Promise<TempDatabase> {
    const t = await keep(tempPostgres('pg_bad_mlmd'));
    const db = await openDb(t.url, { ...MLMD_IDENTIFIERS });
    try {
      await createMlmdSchema(db, 10);
      await db.run('UPDATE `MLMDEnv` SET `schema_version` = ?', [version]);
    } finally {
      await db.close();
    }
    return t;
  }

  it.each([7, 11])('an MLMD schema version %i: exit 3', async (version) => {
    const t = await mlmdOnPostgres(version);
    const r = await runCli(['plan', '--mlmd', t.url, '--kfp', kfp.url]);
    expectOneProblem(r, 3, new RegExp(`SCHEMA_VERSION.*MLMD schema version ${version} is not supported .*postgres://`), version < 8 ? /--enable_database_upgrade/ : /newer mlmd-bridge/);
  });

  it('a database that does not exist: exit 2', async () => {
    const url = `postgres://${POSTGRES_USER}@${POSTGRES_HOST}:${POSTGRES_PORT}/mb_missing_${randomBytes(4).toString('hex')}`;
    const r = await runCli(['plan', '--mlmd', url, '--kfp', kfp.url]);
    expectOneProblem(r, 2, /CONNECTION.*cannot connect to the MLMD database .*mb_missing_.*does not exist/, /check the database name/);
  });

  it('a server that does not answer: exit 2', async () => {
    const r = await runCli(['plan', '--mlmd', 'postgres://postgres@127.0.0.1:1/metadb', '--kfp', kfp.url]);
    expectOneProblem(r, 2, /CONNECTION.*cannot connect to the MLMD database at postgres:\/\/postgres@127\.0\.0\.1:1\/metadb/, /server is running/);
  });

  it('a role that may not read the MLMD tables, use their schema, or connect: exit 2 with the GRANT to run', async () => {
    const t = await mlmdOnPostgres(10);
    const role = `mb_noread_${randomBytes(4).toString('hex')}`;
    const database = new URL(t.url).pathname.slice(1);
    const admin = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      const url = `postgres://${role}@${POSTGRES_HOST}:${POSTGRES_PORT}/${database}`;
      const unreadable = await runCli(['plan', '--mlmd', url, '--kfp', kfp.url]);
      expectOneProblem(unreadable, 2, new RegExp(`INSUFFICIENT_PRIVILEGE.*the role "${role}" may not read the MLMD tables artifact, .*mlmdenv.*type`), new RegExp(`GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "${role}"`));

      const schemaAdmin = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database });
      await schemaAdmin.connect();
      await schemaAdmin.query('REVOKE USAGE ON SCHEMA public FROM PUBLIC').finally(() => schemaAdmin.end());
      const noSchema = await runCli(['plan', '--mlmd', url, '--kfp', kfp.url]);
      expectOneProblem(noSchema, 2, new RegExp(`INSUFFICIENT_PRIVILEGE.*the role "${role}" may use no schema of its search_path`), new RegExp(`GRANT USAGE ON SCHEMA public TO "${role}"`));

      await admin.query(`REVOKE CONNECT ON DATABASE "${database}" FROM PUBLIC`);
      const shutOut = await runCli(['plan', '--mlmd', url, '--kfp', kfp.url]);
      expectOneProblem(shutOut, 2, /CONNECTION.*42501.*permission denied for database/, new RegExp(`GRANT CONNECT ON DATABASE "${database}" TO "${role}"`));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('a KFP database on PostgreSQL without run_details: exit 3, for every command that needs one', async () => {
    const empty = await keep(tempPostgres('pg_no_run_details'));
    const source = await keep(tempSqlite('pg_no_run_details_mlmd'));
    const seeded = await runCli(['seed', '--mlmd', source.url, '--kfp', (await keep(tempSqlite('pg_no_run_details_kfp'))).url, '--runs', '1']);
    expect(seeded.code).toBe(0);
    for (const command of ['migrate', 'stage', 'cutover']) {
      expectOneProblem(await runCli([command, '--mlmd', source.url, '--kfp', empty.url]), 3, /NOT_KFP_DATABASE.*no run_details table/, /point --kfp at the KFP API server database/);
    }
    // plan reports it among the blockers of its plan.
    const plan = await runCli(['plan', '--mlmd', source.url, '--kfp', empty.url]);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/BLOCKED[^\n]*\n {2}- NOT_KFP_DATABASE: .* has no run_details table; point --kfp at/);
  });

  it('a role that may not write the KFP database on PostgreSQL: exit 2 with the GRANT to run, before anything changes', async () => {
    const source = await keep(tempSqlite('pg_kfp_role_mlmd'));
    const target = await keep(tempPostgres('pg_kfp_role'));
    expect((await runCli(['seed', '--mlmd', source.url, '--kfp', target.url, '--runs', '2'])).code).toBe(0);
    const role = `mb_nowrite_${randomBytes(4).toString('hex')}`;
    const database = new URL(target.url).pathname.slice(1);
    const admin = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
      const url = `postgres://${role}@${POSTGRES_HOST}:${POSTGRES_PORT}/${database}`;
      const steps: [string, RegExp, RegExp][] = [
        ['', /INSUFFICIENT_PRIVILEGE.*may not read or reference run_details/, new RegExp(`GRANT SELECT, REFERENCES ON "public".run_details TO "${role}"`)],
        [`GRANT SELECT, REFERENCES ON run_details TO ${role}`, /INSUFFICIENT_PRIVILEGE.*may not write the table tasks/, new RegExp(`GRANT SELECT, INSERT, UPDATE, DELETE ON "public".tasks TO "${role}"`)],
        [`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`, /INSUFFICIENT_PRIVILEGE.*does not own the KFP 2.x tasks table/, new RegExp(`ALTER TABLE "public".tasks OWNER TO "${role}"`)],
        [`ALTER TABLE tasks OWNER TO ${role}`, /INSUFFICIENT_PRIVILEGE.*may not create tables in the schema "public"/, new RegExp(`GRANT CREATE ON SCHEMA "public" TO "${role}"`)],
      ];
      for (const [grant, problem, hint] of steps) {
        if (grant) await admin.query(grant);
        expectOneProblem(await runCli(['migrate', '--mlmd', source.url, '--kfp', url]), 2, problem, hint);
        const tables = await admin.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
        expect(tables.rows.map((r: { tablename: string }) => r.tablename)).toEqual(['experiments', 'run_details', 'tasks']);
      }
      await admin.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
      const done = await runCli(['migrate', '--mlmd', source.url, '--kfp', url]);
      expect(done.code).toBe(0);
    } finally {
      await admin.query(`DROP OWNED BY ${role} CASCADE`).catch(() => undefined);
      await admin.end();
      const server = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: 'postgres' });
      await server.connect();
      await server.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await server.query(`DROP ROLE IF EXISTS ${role}`);
      await server.end();
    }
  });
});
