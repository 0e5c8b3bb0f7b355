/**
 * The migration end to end, on real SQLite files and a real MariaDB: seed → migrate → the rows of
 * every shape, idempotence, a killed and resumed migration, the lock, rollback, hostile input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { openMlmdSource, readRunVersions, versionOfBundle } from '../src/extract/index.ts';
import { migrate, readStoredRejects } from '../src/migrate/migrator.ts';
import { verify } from '../src/verify/verifier.ts';
import { BridgeError } from '../src/errors.ts';
import { seedDatabases, type SeedReport } from '../src/seed/index.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { holdLock } from './helpers/lock.ts';
import { KFP_DIALECTS, type TempDatabase, withDb } from './helpers/databases.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { checksum, dumpDatabase } from './helpers/snapshot.ts';
import { decodeKfpJsonOrNull } from '../src/proto/kfp-json.ts';

async function seed(mlmdUrl: string, kfpUrl: string, opts: { runs: number; seed?: number; hostile?: boolean }): Promise<SeedReport> {
  const mlmd = await openDb(mlmdUrl, { create: true, ...MLMD_IDENTIFIERS });
  const kfp = await openDb(kfpUrl, { create: true });
  try {
    return await seedDatabases(mlmd, kfp, { runs: opts.runs, seed: opts.seed ?? 7, hostile: opts.hostile ?? false });
  } finally {
    await mlmd.close();
    await kfp.close();
  }
}

const TARGET = { exclude: ['mlmd_bridge_state'], ignoreColumns: ['migrated_at'] };

describe.each(KFP_DIALECTS)('migrate on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  const make = async (name: string) => {
    const d = await temp(`${name}_${dialect}`);
    dbs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  describe('a seeded KFP 2.x deployment (every shape, hostile records)', () => {
    let mlmd: TempDatabase;
    let kfp: TempDatabase;
    let report: SeedReport;
    let first: Awaited<ReturnType<typeof runCli>>;
    let kfpBefore: string;
    let mlmdBefore: string;
    let rejectsPath: string;

    beforeAll(async () => {
      mlmd = await make('mlmd');
      kfp = await make('kfp');
      report = await seed(mlmd.url, kfp.url, { runs: 24, hostile: true });
      mlmdBefore = await checksum(mlmd.url);
      kfpBefore = await checksum(kfp.url);
      rejectsPath = join(tmpdir(), `mb-rejects-${dialect}-${process.pid}.ndjson`);
      first = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--rejects', rejectsPath, '--batch-size', '5']);
    });

    it('exits 1 (records were rejected) and never writes the MLMD database', async () => {
      expect(first.stderr).toBe('');
      expect(first.code).toBe(1);
      expect(await checksum(mlmd.url)).toBe(mlmdBefore);
    });

    it('reports every hostile record by MLMD id with its reason code', () => {
      const lines = readFileSync(rejectsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { code: string; mlmdId: number; disposition: string; reason: string });
      // The seed planted every kind of bad record (src/seed/hostile.ts), so the loop below checks each kind.
      expect([...new Set(report.hostile.map((h) => h.code))].sort()).toEqual([
        'CORRUPT_PROPERTY', 'DANGLING_PARENT', 'FINGERPRINT_NOT_REPRODUCED', 'KEY_TOO_LONG', 'MISSING_ARTIFACT', 'NON_KFP_CONTEXT', 'NON_KFP_EXECUTION', 'ORPHAN_RUN', 'SPEC_UNREADABLE', 'TRUNCATED_STRING', 'URI_TOO_LONG',
      ]);
      for (const h of report.hostile) {
        const hit = lines.find((l) => l.code === h.code && l.mlmdId === Number(h.mlmdId));
        expect(hit, `${h.code} for ${h.entity} ${h.mlmdId} (${h.note})`).toBeDefined();
        expect(hit!.reason.length).toBeGreaterThan(10);
      }
      expect(lines.every((l) => ['skipped', 'degraded', 'adjusted'].includes(l.disposition))).toBe(true);
    });

    it('reads the stored rejects back page by page, each exactly once', async () => {
      const all = readFileSync(rejectsPath, 'utf8').trim().split('\n');
      const paged: string[] = [];
      await withDb(kfp.url, async (db) => {
        for await (const r of readStoredRejects(db, 2)) paged.push(JSON.stringify(r));
      });
      expect(paged).toEqual(all);
    });

    it('migrates every run that has a run_details row, and holds the structural invariants', async () => {
      await withDb(kfp.url, async (db) => {
        const runs = await db.all<{ UUID: string }>('SELECT `UUID` FROM run_details');
        const migrated = await db.all<{ run_uuid: string; tasks: number }>('SELECT run_uuid, tasks FROM mlmd_bridge_runs');
        for (const r of runs) expect(migrated.find((m) => m.run_uuid === r.UUID)?.tasks, r.UUID).toBeGreaterThan(0);
        // exactly one ROOT per run
        const roots = await db.all<{ RunUUID: string; n: number }>('SELECT `RunUUID`, COUNT(*) AS n FROM tasks WHERE `Type` = 1 GROUP BY `RunUUID`');
        expect(roots.length).toBe(runs.length);
        expect(roots.every((r) => Number(r.n) === 1)).toBe(true);
        // every non-ROOT task has a parent in its own run
        const strays = await db.all('SELECT t.`UUID` FROM tasks t LEFT JOIN tasks p ON p.`UUID` = t.`ParentTaskUUID` AND p.`RunUUID` = t.`RunUUID` WHERE t.`Type` <> 1 AND p.`UUID` IS NULL');
        expect(strays).toEqual([]);
        expect(await db.all('SELECT `UUID` FROM artifact_tasks WHERE `Type` = 0')).toEqual([]);
        expect(await db.all('SELECT `UUID` FROM tasks WHERE `Type` = 0')).toEqual([]);
        // fingerprints only on COMPLETE (SUCCEEDED) containers
        expect(await db.all("SELECT `UUID` FROM tasks WHERE `Fingerprint` <> '' AND NOT (`Type` = 2 AND `State` = 2)")).toEqual([]);
        // every v1 cache row maps to a migrated task that keeps its MLMD fingerprint: in the column when it
        // did not reproduce, else in provenance beside the KFP 3 key in the column
        const cache = await db.all<{ MLMDExecutionID: string; Fingerprint: string }>("SELECT `MLMDExecutionID`, `Fingerprint` FROM tasks_v1_backup WHERE `MLMDExecutionID` <> ''");
        expect(cache.length).toBeGreaterThan(0);
        let kfp3Keys = 0;
        for (const c of cache) {
          const [t] = await db.all<{ Fingerprint: string; StatusMetadata: string | null }>(
            "SELECT t.`Fingerprint`, t.`StatusMetadata` FROM tasks t JOIN mlmd_id_map m ON m.kfp_uuid = t.`UUID` AND m.kind = 'execution' WHERE m.mlmd_id = ?",
            [Number(c.MLMDExecutionID)],
          );
          const kept = (decodeKfpJsonOrNull('StatusMetadata', t?.StatusMetadata ?? null)?.customProperties as { mlmd?: { cache_fingerprint?: unknown } } | undefined)?.mlmd?.cache_fingerprint;
          if (t?.Fingerprint === c.Fingerprint) continue;
          kfp3Keys++;
          expect(t?.Fingerprint, `cache row for execution ${c.MLMDExecutionID}`).toMatch(/^[0-9a-f]{64}$/);
          expect(kept, `cache row for execution ${c.MLMDExecutionID}`).toEqual({ string: c.Fingerprint });
        }
        expect(kfp3Keys).toBeGreaterThan(0);
      });
    });

    it('tasks = executions − collapsed iteration DAGs, run by run', async () => {
      const expected = await withDb(mlmd.url, (db) =>
        db.all<{ name: string; n: number; iters: number }>(
          'SELECT c.name, COUNT(*) AS n, SUM(CASE WHEN EXISTS (SELECT 1 FROM ExecutionProperty p WHERE p.execution_id = e.id AND p.name = ? ) THEN 1 ELSE 0 END) AS iters ' +
            'FROM Context c JOIN Association a ON a.context_id = c.id JOIN Execution e ON e.id = a.execution_id ' +
            "JOIN Type t ON t.id = c.type_id WHERE t.name = 'system.PipelineRun' GROUP BY c.name",
          ['iteration_index'],
        ),
      );
      await withDb(kfp.url, async (db) => {
        const got = new Map((await db.all<{ RunUUID: string; n: number }>('SELECT `RunUUID`, COUNT(*) AS n FROM tasks GROUP BY `RunUUID`')).map((r) => [r.RunUUID, Number(r.n)]));
        const tfxFree = expected.filter((e) => got.has(e.name));
        const runDetails = Number((await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM run_details'))[0]!.n);
        expect(tfxFree.length).toBe(runDetails);
        for (const e of tfxFree) expect(got.get(e.name), e.name).toBe(Number(e.n) - Number(e.iters));
      });
    });

    it('maps each shape to the rows KFP 3 expects', async () => {
      const byShape = (shape: string) => report.runs.filter((r) => r.shape === shape).map((r) => r.uuid);
      await withDb(kfp.url, async (db) => {
        const tasksOf = (run: string) =>
          db.all<{ UUID: string; Name: string; Type: number; State: number; TypeAttrs: string; ParentTaskUUID: string | null; Fingerprint: string; pods: string; FinishedInSec: number; LogicalKey: string | null }>(
            'SELECT `UUID`, `Name`, `Type`, `State`, `TypeAttrs`, `ParentTaskUUID`, `Fingerprint`, pods, `FinishedInSec`, `LogicalKey` FROM tasks WHERE `RunUUID` = ?',
            [run],
          );
        const attrs = (t: { TypeAttrs: string }) => JSON.parse(t.TypeAttrs) as Record<string, unknown> | null;

        // ParallelFor: one LOOP with 3 iterations, its body tasks tagged 0..2 directly under it
        for (const run of byShape('parallel-for')) {
          const tasks = await tasksOf(run);
          const loops = tasks.filter((t) => t.Type === 5 && attrs(t)?.iterationCount === '3');
          expect(loops.length).toBeGreaterThanOrEqual(1);
          const body = tasks.filter((t) => t.ParentTaskUUID === loops[0]!.UUID);
          expect([...new Set(body.map((t) => attrs(t)?.iterationIndex))].sort()).toEqual(['0', '1', '2']);
        }
        // Loop edge cases: empty list (count 0), not triggered (no count, SKIPPED), nested loop tagged with the outer iteration
        for (const run of byShape('loop-edge-cases')) {
          const loops = (await tasksOf(run)).filter((t) => t.Type === 5);
          expect(loops.some((t) => attrs(t)?.iterationCount === '0')).toBe(true);
          expect(loops.some((t) => attrs(t)?.iterationCount === undefined && t.State === 3)).toBe(true);
          expect(loops.some((t) => attrs(t)?.iterationIndex !== undefined)).toBe(true);
        }
        // dsl.If / Elif: condition-N are CONDITION_BRANCH, one taken, one SKIPPED; condition-branches-N is a DAG
        for (const run of byShape('conditions')) {
          const tasks = await tasksOf(run);
          const branches = tasks.filter((t) => t.Type === 3);
          expect(branches.some((t) => t.State === 2)).toBe(true);
          expect(branches.some((t) => t.State === 3)).toBe(true);
          expect(tasks.some((t) => t.Type === 8 && t.Name.startsWith('condition-branches-'))).toBe(true);
        }
        // exit handler: a DAG, never EXIT_HANDLER
        for (const run of byShape('exit-handler')) {
          const tasks = await tasksOf(run);
          expect(tasks.some((t) => t.Type === 8 && t.Name.startsWith('exit-handler-'))).toBe(true);
          expect(tasks.some((t) => t.Type === 6)).toBe(false);
        }
        // importers: IMPORTER tasks, one downloading to the workspace; artifacts named after the URI basename
        for (const run of byShape('importers')) {
          const imps = (await tasksOf(run)).filter((t) => t.Type === 7);
          expect(imps.map((t) => attrs(t)?.downloadToWorkspace).sort()).toEqual([false, true]);
          const arts = await db.all<{ Name: string; URI: string }>(
            "SELECT a.`Name`, a.`URI` FROM artifacts a JOIN artifact_tasks l ON l.`ArtifactID` = a.`UUID` JOIN tasks t ON t.`UUID` = l.`TaskID` WHERE t.`RunUUID` = ? AND t.`Type` = 7 AND l.`Type` = 9",
            [run],
          );
          expect(arts.length).toBeGreaterThan(0);
          for (const a of arts) expect(a.Name).toBe(a.URI.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop());
        }
        // k8s PVC ops: the driver pod
        for (const run of byShape('pvc-ops')) {
          expect((await tasksOf(run)).some((t) => (JSON.parse(t.pods) as { type: string }[]).some((p) => p.type === 'DRIVER'))).toBe(true);
        }
        // cache hits: CACHED, no fingerprint, OUTPUT links to artifacts another task produced too
        for (const run of byShape('cache-hits')) {
          const cached = (await tasksOf(run)).filter((t) => t.State === 5);
          expect(cached.length).toBeGreaterThan(0);
          expect(cached.every((t) => t.Fingerprint === '')).toBe(true);
          const shared = await db.all(
            'SELECT l.`ArtifactID` FROM artifact_tasks l JOIN tasks t ON t.`UUID` = l.`TaskID` WHERE t.`RunUUID` = ? AND t.`State` = 5 AND l.`Type` = 9 ' +
              'AND EXISTS (SELECT 1 FROM artifact_tasks o WHERE o.`ArtifactID` = l.`ArtifactID` AND o.`TaskID` <> l.`TaskID` AND o.`Type` = 9)',
            [run],
          );
          expect(shared.length).toBeGreaterThan(0);
        }
        // retried task in a CANCELED run: one keeps the LogicalKey; the root FAILED (KFP 3 has no CANCELED)
        for (const run of byShape('retry-canceled')) {
          const tasks = await tasksOf(run);
          expect(tasks.filter((t) => t.LogicalKey === null).length).toBeGreaterThanOrEqual(1);
          expect(tasks.find((t) => t.Type === 1)!.State).toBe(4);
        }
        // a run still RUNNING stays RUNNING, unfinished
        for (const run of byShape('still-running')) {
          const root = (await tasksOf(run)).find((t) => t.Type === 1)!;
          expect([root.State, root.FinishedInSec]).toEqual([1, 0]);
        }
        // artifacts: metrics split with NumberValue and no URI; every system type present; custom titles kept
        const types = (await db.all<{ Type: number }>('SELECT DISTINCT `Type` FROM artifacts')).map((r) => Number(r.Type)).sort();
        expect(types).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect(await db.all('SELECT `UUID` FROM artifacts WHERE `Type` = 6 AND (`NumberValue` IS NULL OR `URI` IS NOT NULL)')).toEqual([]);
        // PostgreSQL's json has no LIKE: its text is matched.
        const metadataText = dialect === 'postgres' ? 'CAST(`Metadata` AS TEXT)' : '`Metadata`';
        const titled = await db.all<{ Metadata: string }>(`SELECT \`Metadata\` FROM artifacts WHERE \`Type\` = 1 AND ${metadataText} LIKE '%google.VertexModel%'`);
        expect(titled.length).toBeGreaterThan(0);
        // one artifact reused across namespaces → one row per namespace
        const multi = await db.all<{ mlmd_id: number; n: number }>(
          "SELECT m.mlmd_id, COUNT(DISTINCT a.`Namespace`) AS n FROM mlmd_id_map m JOIN artifacts a ON a.`UUID` = m.kfp_uuid WHERE m.kind = 'artifact' GROUP BY m.mlmd_id HAVING COUNT(DISTINCT a.`Namespace`) > 1",
        );
        expect(multi.length).toBeGreaterThan(0);
      });
    });

    it('fingerprints a run from its bundle exactly as the fingerprint queries do (a first migration uses the former)', async () => {
      const source = await openMlmdSource(mlmd.url);
      try {
        const contexts = await source.listRunContexts();
        const bundles = await source.readRunBundles(contexts.map((c) => c.id), new Map());
        const queried = await readRunVersions(source.db, contexts.map((c) => c.id));
        expect(bundles).toHaveLength(contexts.length);
        for (const b of bundles) expect(versionOfBundle(b), `run context ${b.runContext.id}`).toBe(queried.get(b.runContext.id));
        // Not one fingerprint for all: they tell runs apart.
        expect(new Set(queried.values()).size).toBeGreaterThan(contexts.length / 2);
      } finally {
        await source.close();
      }
    });

    it('a second migrate changes nothing: byte-identical tables, same exit code', async () => {
      const before = await dumpDatabase(kfp.url, TARGET);
      const again = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
      expect(again.code).toBe(1);
      const summary = JSON.parse(again.stdout) as { runs: { migrated: number; unchanged: number; total: number } };
      expect(summary.runs.migrated).toBe(0);
      expect(summary.runs.unchanged).toBe(summary.runs.total);
      expect(await dumpDatabase(kfp.url, TARGET)).toEqual(before);
      expect(await checksum(mlmd.url)).toBe(mlmdBefore);
    });

    it('status reports a complete migration', async () => {
      const s = await runCli(['status', '--kfp', kfp.url, '--json']);
      expect(s.code).toBe(0);
      expect(JSON.parse(s.stdout)).toMatchObject({ state: 'complete', migrated: true, runs: report.runs.length + 1, fingerprints: { fingerprints: 'kfp3', publishLogs: true } });
      expect((await runCli(['status', '--kfp', kfp.url])).stdout).toContain('tasks.Fingerprint holds KFP 3 cache keys for a deployment with PUBLISH_LOGS=true');
    });

    it('rollback leaves the KFP database exactly as it was before', async () => {
      const r = await runCli(['rollback', '--kfp', kfp.url]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(await checksum(kfp.url)).toBe(kfpBefore);
      const again = await runCli(['rollback', '--kfp', kfp.url]);
      expect(again.code).toBe(3);
      expect(again.stderr).toContain('NOTHING_TO_ROLL_BACK');
    });
  });

  describe('interruption and concurrency', () => {
    const RUNS = 360;
    let mlmd: TempDatabase;
    let reference: TempDatabase;

    beforeAll(async () => {
      mlmd = await make('big_mlmd');
      reference = await make('ref_kfp');
      await seed(mlmd.url, reference.url, { runs: RUNS, seed: 11 });
      const r = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', reference.url]);
      expect(r.code).toBe(0);
    });

    async function freshKfp(name: string): Promise<TempDatabase> {
      const kfp = await make(name);
      const scratch = await make(`${name}_mlmd`);
      await seed(scratch.url, kfp.url, { runs: RUNS, seed: 11 });
      return kfp;
    }

    async function checkpoints(url: string): Promise<number> {
      try {
        return await withDb(url, async (db) => Number((await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM mlmd_bridge_runs'))[0]?.n ?? 0));
      } catch {
        return 0;
      }
    }

    async function waitFor(cond: () => Promise<boolean>, what: string): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    it('a migration killed with SIGKILL part-way, then re-run, ends with exactly the rows of an uninterrupted one', async () => {
      const kfp = await freshKfp('killed');
      const first = startCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--batch-size', '1', '--concurrency', '1']);
      await waitFor(async () => (await checkpoints(kfp.url)) >= 20, 'the first checkpoints');
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      const partial = await checkpoints(kfp.url);
      expect(partial).toBeGreaterThanOrEqual(20);
      expect(partial).toBeLessThan(RUNS);

      const resumed = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      const summary = JSON.parse(resumed.stdout) as { runs: { unchanged: number; migrated: number } };
      expect(summary.runs.unchanged).toBeGreaterThanOrEqual(partial);
      expect(summary.runs.unchanged + summary.runs.migrated).toBe(RUNS);
      expect(await dumpDatabase(kfp.url, TARGET)).toEqual(await dumpDatabase(reference.url, TARGET));
    });

    it('a second concurrent migrate is refused (LOCK_HELD, exit 3) while the first holds the lock', async () => {
      const kfp = await freshKfp('locked');
      const first = startCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--batch-size', '1', '--concurrency', '1']);
      let firstDone = false;
      void first.done.then(() => (firstDone = true));
      await waitFor(async () => (await checkpoints(kfp.url)) >= 5, 'the first migration to start');
      // In-process, so the attempt lands within milliseconds, while the first is certainly still running.
      const refusal = await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(firstDone).toBe(false);
      expect(refusal).toBeInstanceOf(BridgeError);
      expect(refusal).toMatchObject({ code: 'LOCK_HELD', exitCode: 3 });
      const done = await first.done;
      expect(done.code).toBe(0);
      expect(await dumpDatabase(kfp.url, TARGET)).toEqual(await dumpDatabase(reference.url, TARGET));
    });

    it('the CLI exits 3 naming LOCK_HELD while another process holds the lock', async () => {
      const kfp = await freshKfp('heldlock');
      const release = await holdLock(kfp.url);
      try {
        const r = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url]);
        expect(r.code).toBe(3);
        expect(r.stderr).toContain('LOCK_HELD');
      } finally {
        await release();
      }
      const after = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url]);
      expect(after.code).toBe(0);
    });
  });

  describe('row ids', () => {
    let mlmd: TempDatabase;
    let kfp: TempDatabase;

    beforeAll(async () => {
      mlmd = await make('ids_mlmd');
      kfp = await make('ids_kfp');
      await seed(mlmd.url, kfp.url, { runs: 12, seed: 5 });
      expect((await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url])).code).toBe(0);
    });

    it('lead with the MLMD id they come from, so a batch writes on adjacent primary-key pages', async () => {
      await withDb(kfp.url, async (db) => {
        const mapped = await db.all<{ kind: string; mlmd_id: number; kfp_uuid: string }>(
          "SELECT kind, mlmd_id, kfp_uuid FROM mlmd_id_map WHERE kind IN ('execution', 'artifact') ORDER BY kind, mlmd_id",
        );
        expect(mapped.length).toBeGreaterThan(50);
        for (const m of mapped) {
          expect(m.kfp_uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          expect(parseInt(m.kfp_uuid.slice(0, 8), 16)).toBe(Number(m.mlmd_id));
        }
        // In execution-id order, the task ids ascend too.
        const tasks = mapped.filter((m) => m.kind === 'execution').map((m) => m.kfp_uuid);
        expect(tasks).toEqual([...tasks].sort());
        const links = await db.all<{ UUID: string }>('SELECT `UUID` FROM artifact_tasks');
        for (const l of links) expect(l.UUID.charAt(14)).toBe('8');
      });
    });

    it('refuses (exit 3) to add to a database migrated with another id scheme, and writes nothing', async () => {
      const before = await dumpDatabase(kfp.url, TARGET);
      const rw = await openDb(kfp.url);
      try {
        // What an earlier mlmd-bridge left: migrated runs and no recorded scheme (it used UUIDv5).
        await rw.run("DELETE FROM mlmd_bridge_state WHERE name = 'id_scheme'");
      } finally {
        await rw.close();
      }
      const r = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('TARGET_SCHEMA_MISMATCH');
      expect(r.stderr).toContain('uuidv5');
      expect(r.stderr).toContain('rollback');
      expect(await dumpDatabase(kfp.url, TARGET)).toEqual(before);

      // Rolled back, the database takes a migration again, under the current scheme.
      expect((await runCli(['rollback', '--kfp', kfp.url])).code).toBe(0);
      expect((await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url])).code).toBe(0);
      expect(await dumpDatabase(kfp.url, TARGET)).toEqual(before);
    });
  });

  describe('artifacts shared by many runs', () => {
    it('a changed artifact reaches its row when a run using it is migrated again; unchanged ones are left as they are', async () => {
      const mlmd = await make('sh_mlmd');
      const kfp = await make('sh_kfp');
      await seed(mlmd.url, kfp.url, { runs: 10, seed: 11 });
      expect((await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url])).code).toBe(0);
      // An artifact with a custom property that lands in Metadata, read by an execution of a run.
      const rw = await openDb(mlmd.url, MLMD_IDENTIFIERS);
      let artifactId: number;
      let property: string;
      try {
        const [hit] = await rw.all<{ artifact_id: number; execution_id: number; name: string }>(
          'SELECT ev.artifact_id, ev.execution_id, p.name FROM Event ev JOIN ArtifactProperty p ON p.artifact_id = ev.artifact_id ' +
            // A flag: 1 on MySQL and SQLite, a BOOLEAN on PostgreSQL; the driver writes `true` as each reads it.
            "WHERE p.is_custom_property = ? AND p.string_value IS NOT NULL AND p.name NOT IN ('display_name', 'store_session_info') ORDER BY ev.artifact_id, p.name LIMIT 1",
          [true],
        );
        expect(hit).toBeDefined();
        artifactId = Number(hit!.artifact_id);
        property = hit!.name;
        await rw.run('UPDATE ArtifactProperty SET string_value = ? WHERE artifact_id = ? AND name = ? AND is_custom_property = ?', ['changed-by-test', artifactId, property, true]);
        // KFP re-puts an execution whenever it changes, stamping it now: that is what marks its run as changed.
        await rw.run('UPDATE Execution SET last_update_time_since_epoch = ? WHERE id = ?', [Date.now(), hit!.execution_id]);
      } finally {
        await rw.close();
      }
      const untouched = await withDb(kfp.url, (db) =>
        db.all<{ UUID: string; Metadata: string }>(
          "SELECT a.`UUID`, a.`Metadata` FROM artifacts a JOIN mlmd_id_map m ON m.kfp_uuid = a.`UUID` AND m.kind = 'artifact' WHERE m.mlmd_id <> ? ORDER BY a.`UUID`",
          [artifactId],
        ),
      );
      const again = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
      expect(again.code).toBe(0);
      expect((JSON.parse(again.stdout) as { runs: { migrated: number } }).runs.migrated).toBeGreaterThanOrEqual(1);
      await withDb(kfp.url, async (db) => {
        const rows = await db.all<{ Metadata: string }>(
          "SELECT a.`Metadata` FROM artifacts a JOIN mlmd_id_map m ON m.kfp_uuid = a.`UUID` AND m.kind = 'artifact' WHERE m.mlmd_id = ?",
          [artifactId],
        );
        expect(rows.length).toBeGreaterThan(0);
        for (const r of rows) expect((JSON.parse(r.Metadata) as Record<string, unknown>)[property]).toBe('changed-by-test');
        expect(
          await db.all("SELECT a.`UUID`, a.`Metadata` FROM artifacts a JOIN mlmd_id_map m ON m.kfp_uuid = a.`UUID` AND m.kind = 'artifact' WHERE m.mlmd_id <> ? ORDER BY a.`UUID`", [artifactId]),
        ).toEqual(untouched);
      });
      // And the re-migrated database still verifies clean.
      expect((await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url])).code).toBe(0);
    });
  });

  describe('worker threads (MLMD_BRIDGE_WORKERS)', () => {
    it('migrate and verify give the same rows and verdicts with workers as without', async () => {
      const mlmd = await make('wk_mlmd');
      const plain = await make('wk_plain');
      const threaded = await make('wk_threaded');
      await seed(mlmd.url, plain.url, { runs: 30, seed: 9, hostile: true });
      const scratch = await make('wk_scratch');
      await seed(scratch.url, threaded.url, { runs: 30, seed: 9, hostile: true });
      const before = process.env.MLMD_BRIDGE_WORKERS;
      try {
        process.env.MLMD_BRIDGE_WORKERS = '0';
        await migrate({ mlmdUrl: mlmd.url, kfpUrl: plain.url, batchSize: 4 });
        const v0 = await verify({ mlmdUrl: mlmd.url, kfpUrl: plain.url, batchSize: 4 });
        process.env.MLMD_BRIDGE_WORKERS = '2';
        await migrate({ mlmdUrl: mlmd.url, kfpUrl: threaded.url, batchSize: 4, concurrency: 3 });
        const v2 = await verify({ mlmdUrl: mlmd.url, kfpUrl: threaded.url, batchSize: 4 });
        expect(await dumpDatabase(threaded.url, TARGET)).toEqual(await dumpDatabase(plain.url, TARGET));
        const strip = (r: typeof v0) => ({ ...r, target: '', seconds: 0, drifted: r.drifted.map((d) => ({ ...d, seconds: 0 })) });
        expect(strip(v2)).toEqual(strip(v0));
        expect(v0.runs.checked).toBe(v0.runs.total);
      } finally {
        if (before === undefined) delete process.env.MLMD_BRIDGE_WORKERS;
        else process.env.MLMD_BRIDGE_WORKERS = before;
      }
    });
  });
});
