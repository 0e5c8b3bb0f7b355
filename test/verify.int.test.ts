/**
 * verify end to end on SQLite, MariaDB and PostgreSQL (MLMD and KFP on the same server): it passes
 * right after migrate, and each kind of tampering makes it exit 1 naming the exact run, MLMD id and
 * field; the JUnit report parses and has one failing case per drifted run.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, type Param, type Queryable } from '../src/db/connection.ts';
import { insertMany } from '../src/db/insert.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { structuralFindings, type Finding } from '../src/verify/structural.ts';
import { verify, type VerifyReport } from '../src/verify/verifier.ts';
import { runCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';

const RUNS = 12;

describe.each(KFP_DIALECTS)('verify on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  let mlmd: TempDatabase;
  let pristineKfp: TempDatabase;

  /** A migrated KFP database of its own for one test (SQLite: a file copy; MariaDB: seeded and migrated again). */
  async function migratedCopy(name: string): Promise<TempDatabase> {
    const kfp = await temp(`v_${name}_${dialect}`);
    dbs.push(kfp);
    if (dialect === 'sqlite') {
      copyFileSync(pristineKfp.url.slice('sqlite:'.length), kfp.url.slice('sqlite:'.length));
      return kfp;
    }
    const scratch = await temp(`v_${name}_src_${dialect}`);
    dbs.push(scratch);
    await seedInto(scratch.url, kfp.url);
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    return kfp;
  }

  async function seedInto(mlmdUrl: string, kfpUrl: string): Promise<void> {
    const m = await openDb(mlmdUrl, { create: true, ...MLMD_IDENTIFIERS });
    const k = await openDb(kfpUrl, { create: true });
    try {
      await seedDatabases(m, k, { runs: RUNS, seed: 3 });
    } finally {
      await m.close();
      await k.close();
    }
  }

  async function tamper(url: string, fn: (db: Db) => Promise<void>): Promise<void> {
    const db = await openDb(url);
    try {
      await fn(db);
    } finally {
      await db.close();
    }
  }

  async function one<T>(url: string, sql: string, params: (string | number)[] = []): Promise<T> {
    const db = await openDb(url, { readOnly: true });
    try {
      const [row] = await db.all<T>(sql, params);
      if (!row) throw new Error(`no row for ${sql}`);
      return row;
    } finally {
      await db.close();
    }
  }

  const driftOf = (r: VerifyReport, run: string) => r.drifted.find((v) => v.runUuid === run)?.drift ?? [];

  beforeAll(async () => {
    mlmd = await temp(`v_mlmd_${dialect}`);
    pristineKfp = await temp(`v_kfp_${dialect}`);
    dbs.push(mlmd, pristineKfp);
    await seedInto(mlmd.url, pristineKfp.url);
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: pristineKfp.url });
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('passes right after migrate (exit 0), every run matched', async () => {
    const r = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', pristineKfp.url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.runs).toMatchObject({ checked: RUNS, matched: RUNS, drifted: 0 });
    expect(report.structural).toEqual([]);
    expect(report.byCode.DRIFT).toBeUndefined();
  });

  // Each tampering: what to change, and the (entity, MLMD id, field) verify must name.
  const container = (kfp: string) =>
    one<{ UUID: string; RunUUID: string; mlmd_id: number; ParentTaskUUID: string }>(
      kfp,
      "SELECT t.`UUID`, t.`RunUUID`, m.mlmd_id, t.`ParentTaskUUID` FROM tasks t JOIN mlmd_id_map m ON m.kfp_uuid = t.`UUID` AND m.kind = 'execution' " +
        "WHERE t.`Type` = 2 AND t.`State` = 2 AND t.`Fingerprint` <> '' AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.`ParentTaskUUID` = t.`UUID`) ORDER BY t.`UUID` LIMIT 1",
    );

  it('a deleted link: drift on that execution\'s events', async () => {
    const kfp = await migratedCopy('link');
    const link = await one<{ UUID: string; RunUUID: string; mlmd_id: number; ArtifactKey: string }>(
      kfp.url,
      "SELECT l.`UUID`, l.`RunUUID`, m.mlmd_id, l.`ArtifactKey` FROM artifact_tasks l JOIN mlmd_id_map m ON m.kfp_uuid = l.`TaskID` AND m.kind = 'execution' WHERE l.`Type` = 9 ORDER BY l.`UUID` LIMIT 1",
    );
    await tamper(kfp.url, (db) => db.run('DELETE FROM artifact_tasks WHERE `UUID` = ?', [link.UUID]).then(() => undefined));
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    expect(r.runs.drifted).toBe(1);
    expect(driftOf(r, link.RunUUID)).toEqual(expect.arrayContaining([expect.objectContaining({ entity: 'event', mlmdId: Number(link.mlmd_id), code: 'DRIFT' })]));
  });

  it('a malformed id-map entry stops verify with exit 3, naming the entry, instead of dropping its pipeline link', async () => {
    const kfp = await migratedCopy('idmap');
    const entry = await one<{ mlmd_id: number; run_uuid: string }>(kfp.url, "SELECT mlmd_id, run_uuid FROM mlmd_id_map WHERE kind = 'run_context' ORDER BY run_uuid LIMIT 1");
    await tamper(kfp.url, (db) => db.run("UPDATE mlmd_id_map SET extra = '{\"pipelineContextId\": \"6\"' WHERE kind = 'run_context' AND run_uuid = ?", [entry.run_uuid]).then(() => undefined));
    // Read in this thread, and in worker threads, from which the error crosses with its code.
    for (const workers of ['0', '2']) {
      const r = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url], { MLMD_BRIDGE_WORKERS: workers });
      expect(r.code, `MLMD_BRIDGE_WORKERS=${workers}`).toBe(3);
      expect(r.stderr.split('\n')[0]).toBe(
        `mlmd-bridge: error [STATE_CORRUPT]: the mlmd_id_map entry of run context ${entry.mlmd_id} (run ${entry.run_uuid}) has an extra that is not a JSON object with a numeric pipelineContextId: "{\\"pipelineContextId\\": \\"6\\""`,
      );
    }
  });

  it('a changed task state: drift on lastKnownState of that execution', async () => {
    const kfp = await migratedCopy('state');
    const t = await container(kfp.url);
    await tamper(kfp.url, (db) => db.run('UPDATE tasks SET `State` = 4 WHERE `UUID` = ?', [t.UUID]).then(() => undefined));
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    expect(driftOf(r, t.RunUUID)).toEqual(
      expect.arrayContaining([expect.objectContaining({ entity: 'execution', mlmdId: Number(t.mlmd_id), field: 'lastKnownState', expected: 3, found: 4 })]),
    );
  });

  it('a changed KFP 3 key: drift naming the task, the key the recomputation gives and what the row holds', async () => {
    const kfp = await migratedCopy('fingerprint');
    const t = await container(kfp.url);
    const before = await one<{ Fingerprint: string }>(kfp.url, 'SELECT `Fingerprint` FROM tasks WHERE `UUID` = ?', [t.UUID]);
    await tamper(kfp.url, (db) => db.run("UPDATE tasks SET `Fingerprint` = 'f00d' WHERE `UUID` = ?", [t.UUID]).then(() => undefined));
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    expect(r.runs.drifted).toBe(1);
    expect(driftOf(r, t.RunUUID)).toEqual([
      { entity: 'task', mlmdId: t.UUID, field: 'tasks.Fingerprint', expected: before.Fingerprint, found: 'f00d', code: 'FINGERPRINT_MISMATCH' },
    ]);
    expect(r.fingerprints.columnsChecked - r.fingerprints.columnsMatched).toBe(1);
  });

  it('a changed MLMD fingerprint (kept beside the KFP 3 key): drift on cache_fingerprint, and the v1 cache row no longer matches', async () => {
    const kfp = await migratedCopy('mlmd_fingerprint');
    const t = await container(kfp.url);
    const v1 = await one<{ Fingerprint: string }>(kfp.url, 'SELECT `Fingerprint` FROM tasks_v1_backup WHERE `MLMDExecutionID` = ?', [String(t.mlmd_id)]);
    const other = 'e'.repeat(64);
    await tamper(kfp.url, async (db) => {
      const [row] = await db.all<{ StatusMetadata: string }>('SELECT `StatusMetadata` FROM tasks WHERE `UUID` = ?', [t.UUID]);
      expect(row!.StatusMetadata).toContain(v1.Fingerprint);
      await db.run('UPDATE tasks SET `StatusMetadata` = ? WHERE `UUID` = ?', [row!.StatusMetadata.replace(v1.Fingerprint, other), t.UUID]);
    });
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    const drift = driftOf(r, t.RunUUID);
    expect(drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ entity: 'execution', mlmdId: Number(t.mlmd_id), field: 'customProperties.cache_fingerprint' }),
        expect.objectContaining({ code: 'V1_CACHE_ROW_MATCHED', mlmdId: `execution ${t.mlmd_id}`, expected: v1.Fingerprint }),
      ]),
    );
  });

  it('a dropped task: drift naming the missing execution and the task count', async () => {
    const kfp = await migratedCopy('drop');
    const t = await container(kfp.url);
    await tamper(kfp.url, (db) => db.run('DELETE FROM tasks WHERE `UUID` = ?', [t.UUID]).then(() => undefined));
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    const drift = driftOf(r, t.RunUUID);
    expect(drift).toEqual(expect.arrayContaining([expect.objectContaining({ entity: 'execution', mlmdId: Number(t.mlmd_id), field: 'present', expected: true, found: false })]));
    expect(drift).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'COUNT_MISMATCH', field: 'tasks' })]));
  });

  it("altered artifact Metadata: drift on that artifact's custom property", async () => {
    const kfp = await migratedCopy('metadata');
    const a = await one<{ UUID: string; mlmd_id: number; RunUUID: string; Metadata: string }>(
      kfp.url,
      "SELECT a.`UUID`, m.mlmd_id, l.`RunUUID`, a.`Metadata` FROM artifacts a JOIN mlmd_id_map m ON m.kfp_uuid = a.`UUID` AND m.kind = 'artifact' " +
        // PostgreSQL's json has no LIKE: its text is matched.
        `JOIN artifact_tasks l ON l.\`ArtifactID\` = a.\`UUID\` WHERE a.\`Type\` = 2 AND ${dialect === 'postgres' ? 'CAST(a.`Metadata` AS TEXT)' : 'a.`Metadata`'} LIKE '%framework%' ORDER BY a.\`UUID\` LIMIT 1`,
    );
    await tamper(kfp.url, (db) => db.run('UPDATE artifacts SET `Metadata` = ? WHERE `UUID` = ?', ['{"framework":"tampered"}', a.UUID]).then(() => undefined));
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    expect(driftOf(r, a.RunUUID)).toEqual(
      expect.arrayContaining([expect.objectContaining({ entity: 'artifact', mlmdId: Number(a.mlmd_id), field: 'customProperties.framework', found: { kind: 'string', value: 'tampered' } })]),
    );
  });

  it('a task pointed at the wrong parent: drift on parent_dag_id', async () => {
    const kfp = await migratedCopy('parent');
    const t = await one<{ UUID: string; RunUUID: string; mlmd_id: number; ParentTaskUUID: string; other: string }>(
      kfp.url,
      "SELECT t.`UUID`, t.`RunUUID`, m.mlmd_id, t.`ParentTaskUUID`, o.`UUID` AS other FROM tasks t JOIN mlmd_id_map m ON m.kfp_uuid = t.`UUID` AND m.kind = 'execution' " +
        "JOIN tasks o ON o.`RunUUID` = t.`RunUUID` AND o.`Type` = 8 AND o.`UUID` <> t.`ParentTaskUUID` AND o.`UUID` <> t.`UUID` " +
        "WHERE t.`Type` = 2 AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.`ParentTaskUUID` = t.`UUID`) ORDER BY t.`UUID`, o.`UUID` LIMIT 1",
    );
    await tamper(kfp.url, (db) => db.run('UPDATE tasks SET `ParentTaskUUID` = ? WHERE `UUID` = ?', [t.other, t.UUID]).then(() => undefined));
    const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    expect(driftOf(r, t.RunUUID)).toEqual(
      expect.arrayContaining([expect.objectContaining({ entity: 'execution', mlmdId: Number(t.mlmd_id), field: 'customProperties.parent_dag_id' })]),
    );
  });

  it("a deleted ROOT: drift naming the run's root execution, exit 1, JUnit with one failing case per drifted run", async () => {
    const kfp = await migratedCopy('root');
    const roots = await (async () => {
      const db = await openDb(kfp.url, { readOnly: true });
      try {
        return await db.all<{ UUID: string; RunUUID: string; mlmd_id: number }>(
          "SELECT t.`UUID`, t.`RunUUID`, m.mlmd_id FROM tasks t JOIN mlmd_id_map m ON m.kfp_uuid = t.`UUID` AND m.kind = 'execution' WHERE t.`Type` = 1 ORDER BY t.`RunUUID` LIMIT 2",
        );
      } finally {
        await db.close();
      }
    })();
    const [root, other] = roots;
    await tamper(kfp.url, async (db) => {
      await db.run('DELETE FROM tasks WHERE `UUID` = ?', [root!.UUID]);
      // and a second, different drift in another run
      await db.run('UPDATE tasks SET `DisplayName` = ? WHERE `RunUUID` = ? AND `Type` = 2', ['tampered', other!.RunUUID]);
    });
    const report = join(tmpdir(), `mb-junit-${dialect}-${process.pid}.xml`);
    const cli = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url, '--report', report]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(root!.RunUUID);
    expect(cli.stdout).toContain(`execution ${root!.mlmd_id}  present`);

    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(report, 'utf8')) as {
      testsuites: { testsuite: { tests: string; failures: string; testcase: { name: string; failure?: { message: string } }[] } };
    };
    const suite = xml.testsuites.testsuite;
    expect(Number(suite.tests)).toBe(RUNS);
    const failing = suite.testcase.filter((c) => c.failure);
    expect(failing.map((c) => c.name).sort()).toEqual([root!.RunUUID, other!.RunUUID].sort());
    expect(Number(suite.failures)).toBe(2);
  });

  it('whole-database findings join their run\'s verdict, in run order, however long the whole-database checks take', async () => {
    const kfp = await migratedCopy('held');
    const task = await one<{ UUID: string; RunUUID: string }>(kfp.url, 'SELECT `UUID`, `RunUUID` FROM tasks WHERE `Type` = 2 ORDER BY `RunUUID` DESC, `UUID` LIMIT 1');
    await tamper(kfp.url, (db) => db.run('UPDATE tasks SET `Type` = 0 WHERE `UUID` = ?', [task.UUID]).then(() => undefined));
    // holdVerdicts 1: each batch's verdicts wait for the whole-database checks; the default lets them run ahead.
    for (const holdVerdicts of [1, undefined]) {
      const order: string[] = [];
      const r = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, batchSize: 1, holdVerdicts, onRun: (v) => order.push(v.runUuid) });
      expect(r.runs).toMatchObject({ checked: RUNS, drifted: 1, matched: RUNS - 1 });
      expect(order).toHaveLength(RUNS);
      expect(new Set(order).size).toBe(RUNS);
      expect(r.structural.filter((f) => f.runUuid === task.RunUUID).map((f) => f.check)).toContain('TASK_TYPE_SET');
      // The finding is part of the run's own verdict, not a verdict of its own.
      expect(r.drifted).toHaveLength(1);
      expect(r.drifted[0]!.runUuid).toBe(task.RunUUID);
      expect(r.drifted[0]!.drift.map((d) => d.code)).toContain('TASK_TYPE_SET');
    }
  });

  it('each whole-database check finds its own breakage, naming the run, the row and what it found', async () => {
    const kfp = await migratedCopy('structural');
    const db = await openDb(kfp.url);
    const expected: Finding[] = [];
    const expect1 = (check: string, runUuid: string, id: string, found: unknown) => expected.push({ check, runUuid, id, found } as Finding);
    try {
      const runs = (await db.all<{ UUID: string }>('SELECT `UUID` FROM run_details ORDER BY `UUID`')).map((r) => r.UUID);
      type Row = { UUID: string; TaskID: string } & Record<string, unknown>;
      const first = async (sql: string, params: string[]): Promise<Row | undefined> => (await db.all<Row>(sql, params))[0];
      const linkOf = (run: string) => first('SELECT `UUID`, `TaskID` FROM artifact_tasks WHERE `RunUUID` = ? ORDER BY `UUID` LIMIT 1', [run]);
      const rootOf = (run: string) => first('SELECT `UUID` FROM tasks WHERE `RunUUID` = ? AND `Type` = 1', [run]);
      // A container task no other task hangs off: changing it breaks one invariant, not its children's too.
      const leafOf = (run: string) =>
        first('SELECT t.`UUID`, t.`Fingerprint` FROM tasks t WHERE t.`RunUUID` = ? AND t.`Type` = 2 AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.`ParentTaskUUID` = t.`UUID`) ORDER BY t.`UUID` LIMIT 1', [run]);
      // Each breakage goes to a run of its own that has what it needs.
      const used = new Set<string>();
      const pick = async <T extends object>(what: string, find: (run: string) => Promise<T | undefined>): Promise<[string, T]> => {
        for (const run of runs) {
          if (used.has(run)) continue;
          const got = await find(run);
          if (got) {
            used.add(run);
            return [run, got];
          }
        }
        throw new Error(`the seed has no run left with ${what}`);
      };
      const both = <A, B>(a: A | undefined, b: B | undefined): [A, B] | undefined => (a && b ? [a, b] : undefined);
      const [r0, l0] = await pick('a link', linkOf);
      const [r1, l1] = await pick('a link', linkOf);
      const [, otherRunsTask] = await pick('a container', leafOf);
      const [, orphanRow] = await pick('a task', (run) => first('SELECT * FROM tasks WHERE `RunUUID` = ? ORDER BY `UUID` LIMIT 1', [run]));
      const [r4, t4] = await pick('a leaf container', leafOf);
      const [r5, t5] = await pick('a leaf container', leafOf);
      const [r6, [root6, leaf6]] = await pick('a root and a leaf', async (run) => both(await rootOf(run), await leafOf(run)));
      // A cached or finished container: its fingerprint makes it break a second invariant once it claims to be a root.
      const [r7, leaf7] = await pick('a leaf container with a fingerprint', async (run) =>
        first("SELECT t.`UUID`, t.`Fingerprint` FROM tasks t WHERE t.`RunUUID` = ? AND t.`Type` = 2 AND t.`Fingerprint` <> '' AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.`ParentTaskUUID` = t.`UUID`) ORDER BY t.`UUID` LIMIT 1", [run]));
      const [r8, root8] = await pick('a root', rootOf);
      const [r9, l9] = await pick('a link', linkOf);
      const [r10, [a10, b10]] = await pick('two containers', async (run) => {
        const two = await db.all<Row>('SELECT `UUID` FROM tasks WHERE `RunUUID` = ? AND `Type` = 2 ORDER BY `UUID` LIMIT 2', [run]);
        return two.length === 2 ? (two as [Row, Row]) : undefined;
      });
      const [r11, root11] = await pick('a root', rootOf);
      const [imported] = await db.all<{ UUID: string }>('SELECT `UUID` FROM artifacts WHERE `IdentityKey` IS NOT NULL ORDER BY `UUID` LIMIT 1');
      if (!imported) throw new Error('the seed has no imported artifact holding an IdentityKey');

      const statements: [string, (string | number | null)[]][] = [
        ['UPDATE artifact_tasks SET `ArtifactID` = ? WHERE `UUID` = ?', ['no-such-artifact', l0.UUID]],
        ['UPDATE artifact_tasks SET `TaskID` = ? WHERE `UUID` = ?', [otherRunsTask.UUID, l1.UUID]],
        ['UPDATE tasks SET `ParentTaskUUID` = ? WHERE `UUID` = ?', ['no-such-task', t4.UUID]],
        ['UPDATE tasks SET `ParentTaskUUID` = NULL WHERE `UUID` = ?', [t5.UUID]],
        ['UPDATE tasks SET `ParentTaskUUID` = ? WHERE `UUID` = ?', [leaf6.UUID, root6.UUID]],
        ['UPDATE tasks SET `Type` = 1 WHERE `UUID` = ?', [leaf7.UUID]],
        ['UPDATE tasks SET `Type` = 3 WHERE `UUID` = ?', [root8.UUID]],
        ['UPDATE artifact_tasks SET `Type` = 0 WHERE `UUID` = ?', [l9.UUID]],
        [dialect === 'mysql' ? 'DROP INDEX idx_tasks_logical_key ON tasks' : 'DROP INDEX idx_tasks_logical_key', []],
        ['UPDATE tasks SET `LogicalKey` = ? WHERE `UUID` = ?', ['shared-key', a10.UUID]],
        ['UPDATE tasks SET `LogicalKey` = ? WHERE `UUID` = ?', ['shared-key', b10.UUID]],
        ["UPDATE tasks SET `Fingerprint` = 'f1' WHERE `UUID` = ?", [root11.UUID]],
        ["UPDATE artifacts SET `IdentityKey` = 'f00d' WHERE `UUID` = ?", [imported.UUID]],
      ];
      const orphan = { ...orphanRow, UUID: 'orphan-task', RunUUID: 'no-such-run', ParentTaskUUID: null, Type: 1, LogicalKey: 'orphan-key', Fingerprint: '' };
      const withoutForeignKeys = async (q: Queryable) => {
        for (const [sql, params] of statements) await q.run(sql, params);
        await insertMany(q, 'tasks', Object.keys(orphan), [Object.values(orphan) as Param[]]);
      };
      if (dialect === 'sqlite') {
        await db.run('PRAGMA foreign_keys = OFF');
        await withoutForeignKeys(db);
        await db.run('PRAGMA foreign_keys = ON');
      } else if (dialect === 'postgres') {
        // FKs are triggers there; replica mode fires none of them (the test user is a superuser).
        await db.transaction(async (tx) => {
          await tx.run('SET LOCAL session_replication_role = replica');
          await withoutForeignKeys(tx);
        });
      } else {
        await db.transaction(async (tx) => {
          await tx.run('SET SESSION foreign_key_checks = 0');
          await withoutForeignKeys(tx);
          await tx.run('SET SESSION foreign_key_checks = 1');
        });
      }
      expect1('FK_LINK_ARTIFACT', r0, l0.UUID, 'no-such-artifact');
      expect1('FK_LINK_TASK', r1, l1.UUID, otherRunsTask.UUID);
      expect1('FK_TASK_RUN', 'no-such-run', 'orphan-task', 'no-such-run');
      expect1('PARENT_IN_RUN', r4, t4.UUID, 'no-such-task');
      expect1('PARENT_IN_RUN', r5, t5.UUID, null);
      expect1('ROOT_HAS_NO_PARENT', r6, root6.UUID, leaf6.UUID);
      expect1('ONE_ROOT_PER_RUN', r7, r7, 2);
      expect1('ROOT_HAS_NO_PARENT', r7, leaf7.UUID, expect.any(String));
      // A root may not carry a fingerprint either.
      expect1('FINGERPRINT_ONLY_ON_SUCCEEDED_CONTAINERS', r7, leaf7.UUID, leaf7.Fingerprint);
      expect1('ONE_ROOT_PER_RUN', r8, r8, 0);
      expect1('PARENT_IN_RUN', r8, root8.UUID, null);
      expect1('LINK_TYPE_SET', r9, l9.UUID, 0);
      expect1('LOGICAL_KEY_UNIQUE', r10, a10.UUID, 'shared-key');
      expect1('LOGICAL_KEY_UNIQUE', r10, b10.UUID, 'shared-key');
      expect1('FINGERPRINT_ONLY_ON_SUCCEEDED_CONTAINERS', r11, root11.UUID, 'f1');
      // Artifacts belong to no run.
      expect1('IDENTITY_KEY_RECOMPUTED', '', imported.UUID, 'f00d');
    } finally {
      await db.close();
    }
    const reader = await openDb(kfp.url, { readOnly: true });
    try {
      const found = (await structuralFindings(reader, null)).map(({ check, runUuid, id, found }) => ({ check, runUuid, id, found }));
      // Exactly these: nothing missed, nothing reported twice or about rows that are fine.
      expect(found).toHaveLength(expected.length);
      for (const e of expected) expect(found).toContainEqual(e);
      // Asked about some runs only, the checks report those runs only.
      const some = await structuralFindings(reader, new Set(['no-such-run']));
      expect(some.map((f) => f.check)).toEqual(['FK_TASK_RUN']);
      if (dialect === 'mysql') {
        // A KFP database without the (UUID, RunUUID) index that one check forces: the same findings, no error.
        await tamper(kfp.url, async (db) => {
          await db.run('ALTER TABLE artifact_tasks DROP FOREIGN KEY fk_artifact_tasks_task_run');
          await db.run('DROP INDEX idx_tasks_uuid_run ON tasks');
        });
        const without = (await structuralFindings(reader, null)).map(({ check, runUuid, id, found }) => ({ check, runUuid, id, found }));
        expect(without).toEqual(found);
      }
    } finally {
      await reader.close();
    }
  });

  it('--runs checks only the named runs; --sample N checks N', async () => {
    const kfp = await migratedCopy('subset');
    const [a, b] = await (async () => {
      const db = await openDb(kfp.url, { readOnly: true });
      try {
        return await db.all<{ UUID: string }>('SELECT `UUID` FROM run_details ORDER BY `UUID` LIMIT 2');
      } finally {
        await db.close();
      }
    })();
    await tamper(kfp.url, (db) => db.run('UPDATE tasks SET `State` = 0 WHERE `RunUUID` = ? AND `Type` = 2', [b!.UUID]).then(() => undefined));
    const only = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, runs: [a!.UUID] });
    expect(only.runs).toMatchObject({ checked: 1, matched: 1, drifted: 0 });
    const both = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, runs: [a!.UUID, b!.UUID] });
    expect(both.runs).toMatchObject({ checked: 2, drifted: 1 });
    const sample = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, sample: 5 });
    expect(sample.runs.checked).toBe(5);
    const bad = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url, '--runs', 'no-such-run']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no-such-run');
  });
});
