/**
 * Cache continuity end to end (issue #15), on SQLite, MariaDB and PostgreSQL (MLMD and KFP on the
 * same server): a seeded KFP 2.x database whose
 * stored fingerprints are real KFP 2.x keys — every run shape as every KFP release wrote it — has
 * each one reproduced; migrate writes KFP 3 keys that verify recomputes; the options are recorded
 * and kept; imported artifacts hold their IdentityKey.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMlmdSource, readRunDetails } from '../src/extract/index.ts';
import { runContextPages } from '../src/extract/run-bundles.ts';
import type { Plan } from '../src/migrate/planner.ts';
import type { MigrateSummary } from '../src/migrate/migrator.ts';
import { decodeKfpJsonOrNull } from '../src/proto/kfp-json.ts';
import { ERAS, type Era } from '../src/seed/era.ts';
import type { SeedReport } from '../src/seed/index.ts';
import { addTally, emptyTally, type FingerprintTally } from '../src/transform/fingerprints.ts';
import { outlineRun } from '../src/transform/forward.ts';
import { artifactIdentityKey } from '../src/transform/identity.ts';
import type { VerifyReport } from '../src/verify/verifier.ts';
import { runCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase, withDb } from './helpers/databases.ts';
import { seedUrls } from './helpers/seeded.ts';

/** Every shape as every release wrote it (src/seed/index.ts planRun). */
const RUNS = 129;

// KFP_DIALECTS: every server a KFP database runs on holds the MLMD database as well.
describe.each(KFP_DIALECTS)('cache continuity on $dialect', ({ dialect, temp }) => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  let seeded: SeedReport;

  beforeAll(async () => {
    mlmd = await temp(`cc_mlmd_${dialect}`);
    kfp = await temp(`cc_kfp_${dialect}`);
    seeded = await seedUrls(mlmd.url, kfp.url, { runs: RUNS, seed: 11 });
  });
  afterAll(async () => {
    await mlmd?.drop();
    await kfp?.drop();
  });

  it('reproduces every stored fingerprint, in every era the seed writes, by every KFP 2.x rule', async () => {
    const byEra = new Map<Era, FingerprintTally>();
    const eraOf = new Map(seeded.runs.map((r) => [r.uuid, r.era]));
    const source = await openMlmdSource(mlmd.url);
    await withDb(kfp.url, async (db) => {
      for await (const batch of runContextPages(source.db, 50)) {
        const details = await readRunDetails(db, batch.map((c) => c.name));
        for (const bundle of await source.readRunBundles(batch.map((c) => c.id), details)) {
          const era = eraOf.get(bundle.runContext.name)!;
          const tally = byEra.get(era) ?? emptyTally();
          addTally(tally, outlineRun(bundle).fingerprints);
          byEra.set(era, tally);
        }
      }
    });
    await source.close();
    expect([...byEra.keys()].sort()).toEqual(Object.keys(ERAS).sort());
    const all = emptyTally();
    for (const [era, t] of byEra) {
      expect(t.stored, era).toBeGreaterThan(0);
      expect(t.reproduced, era).toBe(t.stored);
      addTally(all, t);
    }
    // The seed writes keys of both KFP 2.x rules and master's custom keys.
    expect(Object.keys(all.byRule).sort()).toEqual(['custom', 'kfp-2.0', 'kfp-2.15']);
    expect(all.notReproduced).toEqual({});
  });

  it('plan says "N of N stored fingerprints reproduced" and how many cache-serving tasks lack outputs', async () => {
    const r = await runCli(['plan', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as Plan;
    expect(p.fingerprints.stored).toBeGreaterThan(0);
    expect(p.fingerprints).toMatchObject({ reproduced: p.fingerprints.stored, notReproduced: {}, servingWithoutOutputs: 0, options: { fingerprints: 'kfp3', publishLogs: true }, recorded: false });
    expect(p.fingerprints.kfp3Keys).toBe(p.fingerprints.serving);
    const text = await runCli(['plan', '--mlmd', mlmd.url, '--kfp', kfp.url]);
    expect(text.stdout).toContain(`Cache fingerprints: ${p.fingerprints.stored} of ${p.fingerprints.stored} stored fingerprints reproduced`);
    expect(text.stdout).toContain('Cache-serving tasks lacking a declared output parameter or artifact (a hit on them would lack it): 0');
  });

  it('migrate writes a KFP 3 key into every cache-serving task and keeps the MLMD fingerprint beside it', async () => {
    const r = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as MigrateSummary;
    expect(s.fingerprints).toMatchObject({ fingerprints: 'kfp3', publishLogs: true });
    expect(s.fingerprints.tally.kfp3Keys).toBe(s.fingerprints.tally.serving);
    expect(s.rejects.byCode.FINGERPRINT_NOT_REPRODUCED).toBeUndefined();
    await withDb(kfp.url, async (db) => {
      const tasks = await db.all<{ Fingerprint: string; StatusMetadata: string | null }>("SELECT `Fingerprint`, `StatusMetadata` FROM tasks WHERE `Fingerprint` <> ''");
      expect(tasks.length).toBe(s.fingerprints.tally.serving);
      let custom = 0;
      for (const t of tasks) {
        expect(t.Fingerprint).toMatch(/^[0-9a-f]{64}$/);
        const kept = (decodeKfpJsonOrNull('StatusMetadata', t.StatusMetadata)?.customProperties as { mlmd?: { cache_fingerprint?: { string?: string } } } | undefined)?.mlmd?.cache_fingerprint?.string;
        // A custom key is the same in KFP 2.x and 3: the column holds MLMD's value, no copy is needed.
        if (kept === undefined) custom++;
        // Every other key changes (artifact UUIDs, the pipeline name), and MLMD's stays beside it.
        else expect(t.Fingerprint).not.toBe(kept);
      }
      expect(custom).toBeGreaterThan(0);
      expect(custom).toBeLessThan(tasks.length);
      const state = Object.fromEntries((await db.all<{ name: string; value: string }>("SELECT name, value FROM mlmd_bridge_state WHERE name IN ('fingerprints', 'publish_logs')")).map((x) => [x.name, x.value]));
      expect(state).toEqual({ fingerprints: 'kfp3', publish_logs: 'true' });
      // Imported artifacts hold the key a reimport=false importer computes for them.
      const imported = await db.all<{ Type: number; URI: string | null; Name: string | null; Description: string | null; Metadata: string | null; IdentityKey: string }>(
        'SELECT `Type`, `URI`, `Name`, `Description`, `Metadata`, `IdentityKey` FROM artifacts WHERE `IdentityKey` IS NOT NULL',
      );
      expect(imported.length).toBe(s.identityKeys);
      expect(imported.length).toBeGreaterThan(0);
      for (const a of imported) expect(artifactIdentityKey({ ...a, Type: Number(a.Type) })).toBe(a.IdentityKey);
    });
  });

  it('verify recomputes every written key and compares the MLMD fingerprint the shim answers', async () => {
    const r = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout) as VerifyReport;
    expect(v.runs.drifted).toBe(0);
    expect(v.fingerprints.columnsChecked).toBeGreaterThan(0);
    expect(v.fingerprints).toMatchObject({ columnsMatched: v.fingerprints.columnsChecked, kfp3Keys: v.fingerprints.columnsChecked, reproduced: v.fingerprints.stored });
    const text = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url]);
    expect(text.stdout).toContain(`Written fingerprints: ${v.fingerprints.columnsChecked} of ${v.fingerprints.columnsChecked} equal their recomputation`);
  });

  it('later migrates keep the recorded options and refuse contradicting ones (exit 3)', async () => {
    for (const flags of [['--fingerprints', 'mlmd'], ['--publish-logs', 'false']]) {
      const r = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, ...flags]);
      expect(r.code, flags.join(' ')).toBe(3);
      expect(r.stderr).toContain('OPTION_CONFLICT');
      expect(r.stderr).toContain('rollback');
      // plan shows the conflict as a blocker
      const p = await runCli(['plan', '--mlmd', mlmd.url, '--kfp', kfp.url, ...flags, '--json']);
      expect(p.code).toBe(3);
      expect((JSON.parse(p.stdout) as Plan).blockers.some((b) => b.startsWith('OPTION_CONFLICT'))).toBe(true);
    }
    const same = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--fingerprints', 'kfp3']);
    expect(same.code).toBe(0);
    const bad = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--publish-logs', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--publish-logs');
  });

  it('after a rollback, --fingerprints mlmd copies the MLMD values, and verify agrees', async () => {
    expect((await runCli(['rollback', '--kfp', kfp.url])).code).toBe(0);
    const r = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--fingerprints', 'mlmd', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as MigrateSummary).fingerprints.fingerprints).toBe('mlmd');
    // The v1 cache row holds the execution id as text; PostgreSQL compares a number with text only when told.
    // (The id is cast, not the text: a cast of an empty MLMDExecutionID would fail before WHERE drops it.)
    const mappedId = dialect === 'postgres' ? 'CAST(m.mlmd_id AS TEXT)' : 'm.mlmd_id';
    await withDb(kfp.url, async (db) => {
      const cache = await db.all<{ c: string; t: string }>(
        `SELECT c.\`Fingerprint\` AS c, t.\`Fingerprint\` AS t FROM tasks_v1_backup c JOIN mlmd_id_map m ON m.kind = 'execution' AND ${mappedId} = c.\`MLMDExecutionID\` JOIN tasks t ON t.\`UUID\` = m.kfp_uuid WHERE c.\`MLMDExecutionID\` <> ''`,
      );
      expect(cache.length).toBeGreaterThan(0);
      expect(cache.filter((x) => x.c !== x.t)).toEqual([]);
    });
    const v = JSON.parse((await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json'])).stdout) as VerifyReport;
    expect(v.runs.drifted).toBe(0);
    expect(v.fingerprints).toMatchObject({ options: { fingerprints: 'mlmd' }, kfp3Keys: 0 });
    expect(v.fingerprints.columnsMatched).toBe(v.fingerprints.columnsChecked);
  });
});
