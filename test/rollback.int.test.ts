/**
 * rollback on a KFP database whose KFP 3 tables existed before the migration (KFP 3 already ran and
 * wrote rows of its own): only the migrated rows go; the native ones stay. And rollback over
 * malformed bookkeeping: it stops before it changes anything.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import { ensureTargetTables } from '../src/load/schema.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { rollback } from '../src/migrate/rollback.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { checksum } from './helpers/snapshot.ts';
import { restoreV1Tasks } from '../src/load/v1-tasks.ts';

describe.each(KFP_DIALECTS)('rollback over pre-existing KFP 3 tables on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  /** Seeded MLMD and KFP 2.x databases of their own; `prepare` may change the KFP one before it is closed. */
  async function seeded(name: string, runs: number, prepare: (k: Db) => Promise<void> = async () => {}): Promise<{ mlmd: TempDatabase; kfp: TempDatabase }> {
    const mlmd = await temp(`${name}_mlmd_${dialect}`);
    const kfp = await temp(`${name}_kfp_${dialect}`);
    dbs.push(mlmd, kfp);
    const m = await openDb(mlmd.url, { create: true, ...MLMD_IDENTIFIERS });
    const k = await openDb(kfp.url, { create: true });
    try {
      await seedDatabases(m, k, { runs, seed: 5 });
      await prepare(k);
    } finally {
      await m.close();
      await k.close();
    }
    return { mlmd, kfp };
  }

  it('deletes exactly the migrated rows and keeps KFP 3 native rows', async () => {
    const { mlmd, kfp } = await seeded('rb', 8, async (k) => {
      // A KFP 3 deployment: no v1 tasks table, its own tables, one native task and artifact.
      await k.run('DROP TABLE tasks');
      await ensureTargetTables(k);
      // Backtick-quoted names read alike on the three (PostgreSQL's connection renders them double-quoted).
      const nativeRun = (await k.all<{ UUID: string }>('SELECT `UUID` FROM run_details ORDER BY `UUID` LIMIT 1'))[0]!.UUID;
      await k.run(
        'INSERT INTO tasks (`UUID`, `Namespace`, `RunUUID`, pods, `CreatedAtInSec`, `Fingerprint`, `Name`, `State`, `Type`, `TypeAttrs`) ' +
          "VALUES ('native-task', '', ?, '[]', 1, '', 'native', 2, 2, 'null')",
        [nativeRun],
      );
      await k.run("INSERT INTO artifacts (`UUID`, `Namespace`, `Type`, `Name`, `CreatedAtInSec`, `LastUpdateInSec`) VALUES ('native-art', '', 1, 'n', 1, 1)");
    });
    const before = await checksum(kfp.url);

    const summary = await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    expect(summary.target.createdTables).toEqual([]);
    expect(summary.rows.tasks).toBeGreaterThan(0);

    const r = await rollback(kfp.url);
    expect(r.droppedTables).toEqual([]);
    expect(r.deletedRows.tasks).toBeGreaterThan(0);
    expect(r.v1Tasks).toBe('absent');
    expect(await checksum(kfp.url)).toBe(before);
  });

  it('stops before changing anything when the recorded v1 foreign keys are malformed, and completes once they are restored', async () => {
    const { mlmd, kfp } = await seeded('rb_state', 3);
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    /** Sets the record, returning what it held. */
    const state = async (value: string) => {
      const db = await openDb(kfp.url);
      try {
        const [row] = await db.all<{ value: string }>("SELECT value FROM mlmd_bridge_state WHERE name = 'v1_tasks_foreign_keys'");
        await db.run("UPDATE mlmd_bridge_state SET value = ? WHERE name = 'v1_tasks_foreign_keys'", [value]);
        return row!.value;
      } finally {
        await db.close();
      }
    };
    // The seed's v1 tasks table has foreign keys, so a record exists to break.
    const recorded = await state('[{"name":"fk_run"}]');
    expect(JSON.parse(recorded)).not.toEqual([]);
    const before = await checksum(kfp.url);
    await expect(rollback(kfp.url)).rejects.toMatchObject({
      code: 'STATE_CORRUPT',
      message: 'the bookkeeping row mlmd_bridge_state "v1_tasks_foreign_keys" is not a JSON array of {name, clause, columns, refTable, refColumns}: "[{\\"name\\":\\"fk_run\\"}]"',
    });
    expect(await checksum(kfp.url)).toBe(before);
    await state(recorded);
    expect((await rollback(kfp.url)).v1Tasks).toBe('restored');
  });

  it('run again after an interruption that came right after it put KFP 2.x\'s tasks table back, it keeps that table and its rows', async () => {
    const { mlmd, kfp } = await seeded('rb_again', 4);
    const v1Rows = async () => {
      const db = await openDb(kfp.url);
      try {
        return (await db.all<{ UUID: string }>('SELECT `UUID` FROM tasks ORDER BY `UUID`')).map((r) => r.UUID);
      } finally {
        await db.close();
      }
    };
    const before = await checksum(kfp.url);
    const rows = await v1Rows();
    expect(rows.length).toBeGreaterThan(0);
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });

    // What rollback does up to its last step (dropping its bookkeeping); a kill, a lost connection or a
    // server-side statement timeout right there leaves exactly this: the v1 table back, the record still saying "created tasks".
    const k = await openDb(kfp.url);
    try {
      for (const t of ['artifact_tasks', 'tasks', 'artifacts']) await k.run(`DROP TABLE ${t}`);
      expect(await restoreV1Tasks(k)).toBe('restored');
    } finally {
      await k.close();
    }

    const r = await rollback(kfp.url);
    expect(r.droppedTables).toEqual([]);
    expect(r.v1Tasks).toBe('in-place');
    expect(await v1Rows()).toEqual(rows);
    expect(await checksum(kfp.url)).toBe(before);
  });
});
