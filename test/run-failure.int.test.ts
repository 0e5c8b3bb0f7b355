/**
 * One bad run never stops a migration: a run the KFP database refuses (here, a 4-byte character in a
 * utf8mb3 database, as older KFP deployments were created) and a run the mapping cannot handle are
 * each reported as RUN_FAILED, every other run is migrated, and the next migrate tries them again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBridgeTables } from '../src/load/bridge-tables.ts';
import { ensureTargetTables } from '../src/load/schema.ts';
import { moveV1TasksAside } from '../src/load/v1-tasks.ts';
import { openDb } from '../src/db/connection.ts';
import { mapOrFail } from '../src/migrate/prepare.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { DEFAULT_MAPPING_OPTIONS } from '../src/transform/fingerprints.ts';
import type { RunBundle } from '../src/transform/model.ts';
import { RunBuilder } from './helpers/bundle.ts';
import { runCli } from './helpers/cli.ts';
import { tempMariaDb, type TempDatabase } from './helpers/databases.ts';

describe('a run the mapping cannot handle', () => {
  it('becomes one RUN_FAILED reject naming the error, with no rows', () => {
    const bundle = new RunBuilder('r-broken').build();
    // Records no extract ever produces: the mapping throws on them.
    const broken = { ...bundle, executions: [null] } as unknown as RunBundle;
    const m = mapOrFail(broken, DEFAULT_MAPPING_OPTIONS);
    expect([m.tasks.length, m.links.length, m.artifacts.length]).toEqual([0, 0, 0]);
    expect(m.rejects).toHaveLength(1);
    expect(m.rejects[0]).toMatchObject({ code: 'RUN_FAILED', disposition: 'skipped', entity: 'run', mlmdId: 7, runUuid: 'r-broken' });
    expect(m.rejects[0]!.reason).toContain('mapping failed');
  });
});

describe('a run the KFP database refuses (MariaDB, a utf8mb3 column)', () => {
  const dbs: TempDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('is reported as RUN_FAILED while every other run migrates, and is retried by the next migrate', async () => {
    const mlmd = await tempMariaDb('rf_mlmd');
    const kfp = await tempMariaDb('rf_kfp');
    dbs.push(mlmd, kfp);
    const m = await openDb(mlmd.url);
    const k = await openDb(kfp.url);
    let badRun = '';
    try {
      await seedDatabases(m, k, { runs: 6, seed: 9 });
      // A display name with an emoji: fine in MLMD (utf8mb4), unstorable in the utf8mb3 KFP tables.
      const [row] = await m.all<{ id: number; run: string }>(
        "SELECT p.execution_id AS id, c.name AS run FROM ExecutionProperty p JOIN Association a ON a.execution_id = p.execution_id " +
          "JOIN Context c ON c.id = a.context_id JOIN Type t ON t.id = c.type_id WHERE p.name = 'display_name' AND t.name = 'system.PipelineRun' ORDER BY p.execution_id DESC LIMIT 1",
      );
      badRun = row!.run;
      await m.run("UPDATE ExecutionProperty SET string_value = 'train 🚀' WHERE execution_id = ? AND name = 'display_name'", [row!.id]);
      // The KFP 3 tables as an older deployment has them: a 3-byte utf8 DisplayName column.
      await ensureBridgeTables(k);
      await moveV1TasksAside(k);
      await ensureTargetTables(k);
      await k.run('ALTER TABLE tasks MODIFY DisplayName varchar(128) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci DEFAULT NULL');
    } finally {
      await m.close();
      await k.close();
    }

    const first = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json', '--batch-size', '3']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    const summary = JSON.parse(first.stdout) as { runs: { total: number; migrated: number }; rejects: { byCode: Record<string, number> } };
    expect(summary.rejects.byCode.RUN_FAILED).toBe(1);

    const check = await openDb(kfp.url, { readOnly: true });
    try {
      const runs = await check.all<{ run_uuid: string; source_version: string; tasks: number }>('SELECT run_uuid, source_version, tasks FROM mlmd_bridge_runs');
      expect(runs).toHaveLength(6);
      for (const r of runs) {
        if (r.run_uuid === badRun) expect([r.source_version, Number(r.tasks)]).toEqual(['failed', 0]);
        else expect(Number(r.tasks)).toBeGreaterThan(0);
      }
      expect(await check.all('SELECT UUID FROM tasks WHERE RunUUID = ?', [badRun])).toEqual([]);
      const [reject] = await check.all<{ code: string; reason: string }>('SELECT code, reason FROM mlmd_bridge_rejects WHERE run_key = ?', [badRun]);
      expect(reject!.code).toBe('RUN_FAILED');
      expect(reject!.reason).toMatch(/Incorrect string value/);
    } finally {
      await check.close();
    }

    const second = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
    const again = JSON.parse(second.stdout) as { runs: { migrated: number; unchanged: number } };
    expect(again.runs).toMatchObject({ migrated: 1, unchanged: 5 });
    expect(second.code).toBe(1);
  });
});
