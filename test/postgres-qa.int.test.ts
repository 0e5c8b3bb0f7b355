/**
 * PostgreSQL as a demanding operator runs it (issue #18 QA): a login role of its own whose settings
 * the DBA chose (ALTER ROLE … SET), databases it owns, and the command line run as that role.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { withMigrationLock } from '../src/load/lock.ts';
import { startShim } from '../src/shim/server.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { mlmdClient } from './helpers/grpc-client.ts';
import { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, type TempDatabase, tempPostgres } from './helpers/databases.ts';
import { seedPair } from './helpers/staged.ts';

const ROLE = `mb_qa_${randomBytes(4).toString('hex')}`;

/** One statement as the server's superuser, in `database`. */
async function asSuperuser(database: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The URL of `db` with the QA role as its user. */
const asRole = (db: TempDatabase) => db.url.replace(`//${POSTGRES_USER}@`, `//${ROLE}@`);

describe('PostgreSQL: a role with its own server settings', () => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;

  beforeAll(async () => {
    [mlmd, kfp] = [await tempPostgres('pgqa_mlmd'), await tempPostgres('pgqa_kfp')];
    await seedPair(mlmd.url, kfp.url, { runs: 20, seed: 3 });
    await asSuperuser('postgres', `CREATE ROLE ${ROLE} LOGIN`);
    const kfpName = new URL(kfp.url).pathname.slice(1);
    const mlmdName = new URL(mlmd.url).pathname.slice(1);
    await asSuperuser('postgres', `ALTER DATABASE "${kfpName}" OWNER TO ${ROLE}`);
    // The KFP API server's role owns the KFP tables; it may only read MLMD's.
    const owned = await asSuperuser(kfpName, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    for (const { tablename } of owned.rows as { tablename: string }[]) await asSuperuser(kfpName, `ALTER TABLE public."${tablename}" OWNER TO ${ROLE}`);
    await asSuperuser(mlmdName, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${ROLE}`);
  }, 120_000);

  afterAll(async () => {
    await kfp?.drop();
    await mlmd?.drop();
    await asSuperuser('postgres', `DROP ROLE IF EXISTS ${ROLE}`);
  });

  it('idle_session_timeout on the role: the session holding the migration lock sits idle for the whole run, and migrate still finishes (no crash on the server closing it)', async () => {
    // 300 ms: far shorter than a migration, during which the lock's session runs no statement.
    await asSuperuser('postgres', `ALTER ROLE ${ROLE} SET idle_session_timeout = '300ms'`);
    try {
      const r = await runCli(['migrate', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
      expect(r.stderr).not.toMatch(/Unhandled 'error' event|idle-session timeout/);
      expect(r.code).toBe(0);
      const v = await runCli(['verify', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
      expect(v.code, v.stderr).toBe(0);
      const rb = await runCli(['rollback', '--kfp', asRole(kfp)]);
      expect(rb.code, rb.stderr).toBe(0);
    } finally {
      await asSuperuser('postgres', `ALTER ROLE ${ROLE} RESET idle_session_timeout`);
    }
  }, 180_000);

  it('idle_session_timeout on the role: the migration lock is still held after its session sat idle longer than the timeout', async () => {
    await asSuperuser('postgres', `ALTER ROLE ${ROLE} SET idle_session_timeout = '300ms'`);
    const kfpName = new URL(kfp.url).pathname.slice(1);
    const advisoryLocks = async () =>
      Number((await asSuperuser(kfpName, "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()")).rows[0].n);
    const db = await openDb(asRole(kfp));
    try {
      const held = await withMigrationLock(db, async () => {
        await new Promise((r) => setTimeout(r, 1_000));
        return advisoryLocks();
      });
      expect(held).toBe(1);
      expect(await advisoryLocks()).toBe(0);
    } finally {
      await db.close();
      await asSuperuser('postgres', `ALTER ROLE ${ROLE} RESET idle_session_timeout`);
    }
  }, 60_000);

  it('statement_timeout on the role: migrate stops with one line naming the setting and how to lift it (exit 2), never a driver stack trace', async () => {
    await asSuperuser('postgres', `ALTER ROLE ${ROLE} SET statement_timeout = '1ms'`);
    try {
      const r = await runCli(['migrate', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
      expect(r.stderr).not.toMatch(/unexpected error|Failed query|\n\s+at /);
      expect(r.stderr).toMatch(/error \[CONNECTION\]: .*cancelled a statement \(57014: canceling statement due to statement timeout\)/);
      expect(r.stderr).toContain(`ALTER ROLE "${ROLE}" SET statement_timeout = 0`);
      expect(r.code).toBe(2);
    } finally {
      await asSuperuser('postgres', `ALTER ROLE ${ROLE} RESET statement_timeout`);
    }
  }, 60_000);

  it('lock_timeout on the role and a KFP 2.x session still using tasks: cutover stops before its swap with one line (exit 3), every table as it was, and a re-run once it is gone cuts over', async () => {
    const kfpName = new URL(kfp.url).pathname.slice(1);
    const staged = await runCli(['stage', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
    expect(staged.code, staged.stderr).toBe(0);
    const tables = async () =>
      (await asSuperuser(kfpName, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'tasks%' ORDER BY 1")).rows.map((r: { tablename: string }) => r.tablename);
    expect(await tables()).toEqual(['tasks', 'tasks_kfp3_staged']);

    await asSuperuser('postgres', `ALTER ROLE ${ROLE} SET lock_timeout = '300ms'`);
    // A KFP 2.x writer in the middle of a transaction on tasks (the lock an INSERT takes).
    const writer = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: kfpName });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE tasks IN ROW EXCLUSIVE MODE');
      const r = await runCli(['cutover', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
      expect(r.stderr).toMatch(/error \[LOCK_HELD\]: cutover could not lock the table tasks .*55P03: canceling statement due to lock timeout.*the swap was not made/);
      expect(r.stderr).toContain('pg_stat_activity');
      expect(r.code).toBe(3);
      expect(await tables()).toEqual(['tasks', 'tasks_kfp3_staged']);
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }
    const again = await runCli(['cutover', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
    expect(again.code, again.stderr).toBe(0);
    expect(await tables()).toEqual(['tasks', 'tasks_v1_backup']);
    await asSuperuser('postgres', `ALTER ROLE ${ROLE} RESET lock_timeout`);
    const rb = await runCli(['rollback', '--kfp', asRole(kfp)]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(await tables()).toEqual(['tasks']);
  }, 180_000);

  it('the shim over an MLMD database on PostgreSQL: a U+0000 in a looked-up string, a fraction or a huge number against an integer column answer as MLMD would, never INTERNAL', async () => {
    const shim = await startShim({ mlmdUrl: asRole(mlmd), host: '127.0.0.1', port: 0, grpcWebPort: 0 });
    const client = mlmdClient(shim.port);
    try {
      const status = (p: Promise<unknown>) => p.then(() => 0, (e: { code: number }) => e.code);
      // PostgreSQL text cannot hold U+0000, so nothing stored is such a string: empty answers or NOT_FOUND (5), as MLMD on MySQL gives.
      expect(await client.call('GetArtifactsByURI', { uris: ['a\u0000b'] })).toEqual({});
      expect(await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: 'x\u0000' })).toEqual({});
      expect(await status(client.call('GetArtifactsByExternalIds', { external_ids: ['\u0000'] }))).toBe(5);
      for (const filter_query of ["uri = 'a\u0000'", "name IN ('\u0000', 'b')", "custom_properties.`x\u0000`.string_value = 'a'", "custom_properties.display_name.string_value = 'a\u0000'"]) {
        expect(await client.call('GetArtifacts', { options: { max_result_size: 5, filter_query } }), filter_query).toEqual({});
      }
      // Numbers an integer column cannot take as a parameter on PostgreSQL.
      const all = (await client.call('GetArtifacts', { options: { max_result_size: 5 } })) as { artifacts: { id: string }[] };
      expect(all.artifacts.length).toBe(5);
      const huge = (await client.call('GetArtifacts', { options: { max_result_size: 5, filter_query: 'create_time_since_epoch < 1e300' } })) as typeof all;
      expect(huge.artifacts.map((a) => a.id)).toEqual(all.artifacts.map((a) => a.id));
      expect(await client.call('GetArtifacts', { options: { max_result_size: 5, filter_query: 'type_id = 1.5' } })).toEqual({});
      expect(await client.call('GetArtifacts', { options: { max_result_size: 5, filter_query: 'custom_properties.display_name.int_value IN (0.5, 1e30)' } })).toEqual({});
    } finally {
      client.close();
      await shim.close();
    }
  }, 60_000);

  it('the shim over a KFP database on PostgreSQL: a U+0000 in a looked-up URI or context name finds nothing, never INTERNAL', async () => {
    const migrated = await runCli(['migrate', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const shim = await startShim({ kfpUrl: asRole(kfp), host: '127.0.0.1', port: 0, grpcWebPort: 0 });
    const client = mlmdClient(shim.port);
    try {
      const [artifact] = ((await client.call('GetArtifacts', { options: { max_result_size: 1 } })) as { artifacts: { uri: string }[] }).artifacts;
      expect((await client.call('GetArtifactsByURI', { uris: [artifact!.uri] })) as object).toHaveProperty('artifacts');
      expect(await client.call('GetArtifactsByURI', { uris: [`${artifact!.uri}\u0000`] })).toEqual({});
      expect(await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: 'x\u0000' })).toEqual({});
      expect(await client.call('GetContextByTypeAndName', { type_name: 'system.Pipeline', context_name: 'x\u0000' })).toEqual({});
    } finally {
      client.close();
      await shim.close();
      const rb = await runCli(['rollback', '--kfp', asRole(kfp)]);
      expect(rb.code, rb.stderr).toBe(0);
    }
  }, 120_000);

  it('a role that may write the KFP tables but neither create tables in the schema nor owns tasks: plan names it as a blocker (exit 3) and writes nothing; stage is refused with the GRANT to run (exit 2) before it changes anything', async () => {
    const reader = `${ROLE}_dml`;
    const kfpName = new URL(kfp.url).pathname.slice(1);
    await asSuperuser('postgres', `CREATE ROLE ${reader} LOGIN`);
    try {
      await asSuperuser(kfpName, `GRANT SELECT, INSERT, UPDATE, DELETE, REFERENCES ON ALL TABLES IN SCHEMA public TO ${reader}`);
      await asSuperuser(new URL(mlmd.url).pathname.slice(1), `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${reader}`);
      const tables = async () => (await asSuperuser(kfpName, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r: { tablename: string }) => r.tablename);
      const before = await tables();
      const as = (db: TempDatabase) => db.url.replace(`//${POSTGRES_USER}@`, `//${reader}@`);
      const planned = await runCli(['plan', '--mlmd', as(mlmd), '--kfp', as(kfp)]);
      expect(planned.stderr).not.toMatch(/unexpected error|\n\s+at /);
      expect(planned.stdout).toContain('BLOCKED');
      expect(planned.stdout).not.toContain('Nothing blocks');
      expect(planned.stdout).toMatch(new RegExp(`INSUFFICIENT_PRIVILEGE: the role "${reader}" does not own the KFP 2.x tasks table.*ALTER TABLE "public".tasks OWNER TO "${reader}"`));
      expect(planned.code).toBe(3);
      expect(await tables()).toEqual(before);
      // The owner of the tables (the KFP API server's role) is not blocked.
      const owner = await runCli(['plan', '--mlmd', asRole(mlmd), '--kfp', asRole(kfp)]);
      expect(owner.stdout, owner.stderr).not.toContain('INSUFFICIENT_PRIVILEGE');
      const r = await runCli(['stage', '--mlmd', as(mlmd), '--kfp', as(kfp)]);
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
      expect(r.stderr).toMatch(/error \[INSUFFICIENT_PRIVILEGE\]: the role "[a-z0-9_]+" /);
      expect(r.code).toBe(2);
      expect(await tables()).toEqual(before);
    } finally {
      await asSuperuser(kfpName, `DROP OWNED BY ${reader}`);
      await asSuperuser(new URL(mlmd.url).pathname.slice(1), `DROP OWNED BY ${reader}`);
      await asSuperuser('postgres', `DROP ROLE ${reader}`);
    }
  }, 120_000);

  it('rollback killed (SIGKILL) while it drops its bookkeeping tables: the next rollback finishes, leaving no bookkeeping table behind', async () => {
    const kfpName = new URL(kfp.url).pathname.slice(1);
    const tables = async () => (await asSuperuser(kfpName, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r: { tablename: string }) => r.tablename);
    const before = await tables();
    const migrated = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url]);
    expect(migrated.code, migrated.stderr).toBe(0);

    // A reader of mlmd_bridge_rejects holds rollback at that table's DROP; it is killed right there.
    const reader = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: kfpName });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM mlmd_bridge_rejects');
      const { child, done } = startCli(['rollback', '--kfp', kfp.url]);
      for (let waited = 0; ; waited += 50) {
        // From a session of its own: within the reader's transaction pg_stat_activity would stay as first read.
        const blocked = await asSuperuser(
          kfpName,
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'DROP TABLE%mlmd_bridge_rejects%'",
        );
        if (blocked.rowCount) break;
        expect(waited, 'rollback never reached the DROP of mlmd_bridge_rejects').toBeLessThan(60_000);
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
      expect((await done).signal).toBe('SIGKILL');
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }

    const again = await runCli(['rollback', '--kfp', kfp.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(await tables()).toEqual(before);
  }, 180_000);
});
