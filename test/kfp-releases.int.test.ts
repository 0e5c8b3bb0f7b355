/**
 * MLMD as each KFP 2.x release wrote it (src/seed/era.ts, kfp-facts.md §A.9), end to end on SQLite,
 * MariaDB and PostgreSQL (MLMD and KFP on the same server, so PostgreSQL→PostgreSQL too): the seed writes every shape in every release's way, the migration maps each to the
 * rows KFP 3 expects, and verify finds nothing but documented losses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Row } from '../src/db/connection.ts';
import { readStoredRejects } from '../src/migrate/migrator.ts';
import { ERA_ROTATION, type Era } from '../src/seed/era.ts';
import type { SeedReport } from '../src/seed/index.ts';
import { RELEASE_SHAPES, SHAPES } from '../src/seed/shapes.ts';
import { decodeMlmdStruct } from '../src/seed/struct-value.ts';
import type { Reject } from '../src/transform/model.ts';
import { runCli } from './helpers/cli.ts';
import { KFP_DIALECTS, type TempDatabase, withDb, withMlmdDb } from './helpers/databases.ts';
import { seedUrls } from './helpers/seeded.ts';

/** The first twelve runs, then every shape once in each era: each shape meets each release. */
const RUNS = SHAPES.length + (SHAPES.length + RELEASE_SHAPES.length) * ERA_ROTATION.length;

const BEFORE_2_14: ReadonlySet<Era> = new Set(['kfp-2.0', 'kfp-2.2', 'kfp-2.3', 'kfp-2.4', 'kfp-2.5']);
/** Releases whose launcher settled the state of a container's parent DAG, the root included. */
const SETTLING_ROOT: ReadonlySet<Era> = new Set(['kfp-2.4', 'kfp-2.5', 'kfp-2.14', 'kfp-2.16']);
const since = (era: Era, first: Era) => ERA_ROTATION.indexOf(era) >= ERA_ROTATION.indexOf(first);

interface Exec {
  id: number;
  type: string;
  state: number;
  name: string | null;
  /** Custom properties: strings and structs as their stored text, ints as numbers. */
  p: Record<string, string | number>;
}

/** Every execution of one run, with its custom properties. */
async function runExecutions(db: Db, runUuid: string): Promise<Exec[]> {
  const rows = await db.all<Row>(
    `SELECT e.id, t.name AS type, e.last_known_state AS state, e.name, p.name AS prop, p.int_value, p.string_value
       FROM Context c JOIN Association a ON a.context_id = c.id JOIN Execution e ON e.id = a.execution_id
       JOIN Type t ON t.id = e.type_id JOIN Type ct ON ct.id = c.type_id AND ct.name = 'system.PipelineRun'
       LEFT JOIN ExecutionProperty p ON p.execution_id = e.id AND p.is_custom_property = ?
      WHERE c.name = ? ORDER BY e.id`,
    // A flag: 1 on MySQL and SQLite, a BOOLEAN on PostgreSQL; each driver sends `true` as its database reads it.
    [true, runUuid],
  );
  const out = new Map<number, Exec>();
  for (const r of rows) {
    const id = Number(r.id);
    const e = out.get(id) ?? { id, type: String(r.type), state: Number(r.state), name: r.name === null ? null : String(r.name), p: {} };
    if (r.prop !== null) e.p[String(r.prop)] = r.int_value !== null ? Number(r.int_value) : String(r.string_value);
    out.set(id, e);
  }
  return [...out.values()];
}

// KFP_DIALECTS: every server a KFP database runs on holds the MLMD database as well.
describe.each(KFP_DIALECTS)('KFP 2.x releases on $dialect', ({ dialect, temp }) => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  let report: SeedReport;
  let migrated: Awaited<ReturnType<typeof runCli>>;
  let rejects: Reject[];
  const runsOf = (shape: string) => report.runs.filter((r) => r.shape === shape);

  beforeAll(async () => {
    mlmd = await temp(`rel_mlmd_${dialect}`);
    kfp = await temp(`rel_kfp_${dialect}`);
    report = await seedUrls(mlmd.url, kfp.url, { runs: RUNS, seed: 23 });
    migrated = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url]);
    rejects = await withDb(kfp.url, async (db) => {
      const all: Reject[] = [];
      for await (const r of readStoredRejects(db)) all.push(r);
      return all;
    });
  });
  afterAll(async () => {
    await mlmd.drop();
    await kfp.drop();
  });

  it('seeds every shape as every release wrote it', () => {
    for (const shape of [...SHAPES, ...RELEASE_SHAPES]) {
      const eras = new Set(runsOf(shape.name).map((r) => r.era));
      // The training slot alternates with the pre-2024 training pipeline, so it misses a few eras.
      if (shape.name !== 'containers') expect([...eras].sort(), shape.name).toEqual([...ERA_ROTATION].sort());
    }
  });

  it('writes each release’s MLMD shape', async () => {
    await withMlmdDb(mlmd.url, async (db) => {
      const contextSession = new Map(
        (await db.all<Row>(
          "SELECT c.name, p.string_value AS v FROM Context c JOIN ContextProperty p ON p.context_id = c.id AND p.name = 'store_session_info'",
        )).map((r) => [String(r.name), r.v]),
      );
      // Which eras each check below met: a check whose records no run had would pass by checking nothing.
      const met = new Map<string, Set<Era>>();
      const check = <T>(name: string, era: Era, items: T[]): T[] => {
        if (items.length > 0) met.set(name, (met.get(name) ?? new Set()).add(era));
        return items;
      };
      for (const run of report.runs) {
        const execs = await runExecutions(db, run.uuid);
        const root = execs.find((e) => e.name === `run/${run.uuid}`)!;
        const dags = execs.filter((e) => e.type === 'system.DAGExecution' && e !== root);
        const containers = execs.filter((e) => e.type === 'system.ContainerExecution');
        const label = `${run.shape} as ${run.era}`;
        // store_session_info: the run context from 2.2, output artifacts from 2.3.
        expect(contextSession.has(run.uuid), label).toBe(since(run.era, 'kfp-2.2'));
        // DAG outputs' producers from 2.4, total_dag_tasks from 2.5.
        for (const d of check('total_dag_tasks', run.era, dags)) expect(d.p.total_dag_tasks !== undefined, label).toBe(since(run.era, 'kfp-2.5'));
        if (!since(run.era, 'kfp-2.4')) expect(dags.some((d) => d.p.parameter_producer_task !== undefined || d.p.artifact_producer_task !== undefined), label).toBe(false);
        // The root: RUNNING for good, except where the launcher settled it like any parent DAG.
        if (!SETTLING_ROOT.has(run.era)) expect(root.state, label).toBe(2);
        // task_name: task_info.name before 2.14, the key since; display_name always task_info.name.
        for (const make of check('task_name of Make data', run.era, containers.filter((c) => c.p.display_name === 'Make data'))) {
          expect(make.p.task_name, label).toBe(BEFORE_2_14.has(run.era) ? 'Make data' : 'make-data');
        }
        // A loop's (and its iterations') task_name: task_info.name before 2.16, the key since.
        for (const sweep of check('task_name of a loop', run.era, dags.filter((d) => d.p.display_name === 'Sweep seeds'))) {
          expect(sweep.p.task_name, label).toBe(since(run.era, 'kfp-2.16') ? 'for-loop-3' : 'Sweep seeds');
        }
        // Importers: display_name = task_info.name before 2.14, "" since; the workspace importer from 2.15.
        for (const imp of check('importer display_name', run.era, execs.filter((e) => e.type.startsWith('system.Importer')))) {
          expect(imp.p.display_name, label).toBe(BEFORE_2_14.has(run.era) ? imp.p.task_name : '');
          if (imp.type === 'system.ImporterWorkspaceExecution') expect(since(run.era, 'kfp-2.16'), label).toBe(true);
        }
        // The MLflow plugin's run id: every container and non-root DAG; an iteration copies its loop's.
        for (const e of check('plugins.mlflow.run_id', run.era, [...containers, ...dags])) expect(e.p['plugins.mlflow.run_id'] !== undefined, label).toBe(run.era === 'kfp-2.17-mlflow');
        for (const it of check('iteration copies its loop', run.era, dags.filter((d) => d.p.iteration_index !== undefined))) {
          const loop = dags.find((d) => d.id === it.p.parent_dag_id)!;
          expect(it.p['plugins.mlflow.run_id'], label).toBe(loop.p['plugins.mlflow.run_id']);
          expect(it.p.artifact_producer_task, label).toBe(loop.p.artifact_producer_task);
        }
      }
      // Every check met records in every release (each shape is seeded once per release).
      for (const name of ['total_dag_tasks', 'task_name of Make data', 'task_name of a loop', 'importer display_name', 'plugins.mlflow.run_id', 'iteration copies its loop']) {
        expect([...(met.get(name) ?? [])].sort(), name).toEqual([...ERA_ROTATION].sort());
      }
      // Some root of each settling release ended COMPLETE or FAILED.
      const roots = await db.all<Row>("SELECT name, last_known_state AS s FROM Execution WHERE name LIKE 'run/%'");
      const rootState = new Map(roots.map((r) => [String(r.name).slice(4), Number(r.s)]));
      for (const era of SETTLING_ROOT) expect(report.runs.some((r) => r.era === era && rootState.get(r.uuid) !== 2), era).toBe(true);

      // Artifacts: store_session_info from 2.3; before 2.4 no salt, so every loop iteration's output has the same URI.
      const arts = await db.all<Row>(
        `SELECT a.id, a.uri, c.name AS run, (SELECT COUNT(*) FROM ArtifactProperty p WHERE p.artifact_id = a.id AND p.name = 'store_session_info') AS session
           FROM Artifact a JOIN Event ev ON ev.artifact_id = a.id AND ev.type = 4
           JOIN Association x ON x.execution_id = ev.execution_id JOIN Context c ON c.id = x.context_id
           JOIN Type ct ON ct.id = c.type_id AND ct.name = 'system.PipelineRun'
          WHERE ev.id = (SELECT MIN(o.id) FROM Event o WHERE o.artifact_id = a.id AND o.type = 4)`,
      );
      const eraOf = new Map(report.runs.map((r) => [r.uuid, r.era]));
      expect(new Set(arts.map((a) => eraOf.get(String(a.run))))).toEqual(new Set(ERA_ROTATION));
      for (const a of arts) {
        const era = eraOf.get(String(a.run))!;
        expect(Number(a.session) > 0, `artifact ${a.id} of ${era}`).toBe(since(era, 'kfp-2.3'));
      }
      // (The first loop-edge-cases run is a 2.0 one; later ones hit its cache and make no artifacts.)
      const grid = runsOf('loop-edge-cases').find((r) => r.era === 'kfp-2.0')!;
      const cells = arts.filter((a) => a.run === grid.uuid && String(a.uri).endsWith('/Grid cell/result'));
      expect(cells.length).toBe(4);
      expect(new Set(cells.map((a) => a.uri)).size).toBe(1);

      // executor-logs: from 2.5, on successes; a failed container publishes only them from 2.16.
      const failedLogs = await db.all<Row>(
        `SELECT c.name AS run FROM Execution e JOIN Event ev ON ev.execution_id = e.id AND ev.type = 4
           JOIN EventPath ep ON ep.event_id = ev.id AND ep.step_key = 'executor-logs'
           JOIN Association x ON x.execution_id = e.id JOIN Context c ON c.id = x.context_id
           JOIN Type ct ON ct.id = c.type_id AND ct.name = 'system.PipelineRun'
          WHERE e.last_known_state = 4`,
      );
      expect(failedLogs.length).toBeGreaterThan(0);
      for (const r of failedLogs) expect(since(eraOf.get(String(r.run))!, 'kfp-2.16')).toBe(true);
      const logs = await db.all<Row>(
        `SELECT DISTINCT c.name AS run FROM EventPath ep JOIN Event ev ON ev.id = ep.event_id
           JOIN Association x ON x.execution_id = ev.execution_id JOIN Context c ON c.id = x.context_id
           JOIN Type ct ON ct.id = c.type_id AND ct.name = 'system.PipelineRun' WHERE ep.step_key = 'executor-logs'`,
      );
      for (const r of logs) expect(since(eraOf.get(String(r.run))!, 'kfp-2.5')).toBe(true);

      // The cached struct decoding still reads every release's producer properties.
      const producers = await db.all<Row>("SELECT string_value AS v FROM ExecutionProperty WHERE name = 'parameter_producer_task'");
      expect(producers.length).toBeGreaterThan(0);
      for (const p of producers) expect(Object.keys(decodeMlmdStruct(String(p.v))).length).toBeGreaterThan(0);
    });
  });

  it('migrates every release’s runs (exit 0: only adjusted records) and verifies clean', async () => {
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    const v = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url, '--json']);
    expect(v.code).toBe(0);
    const verdict = JSON.parse(v.stdout) as { runs: { checked: number; matched: number }; byCode: Record<string, number>; structural: unknown[] };
    expect(verdict.runs).toMatchObject({ checked: RUNS, matched: RUNS });
    expect(verdict.byCode.DRIFT).toBeUndefined();
    expect(verdict.structural).toEqual([]);
    // A root some release settled comes back as run_details says, a documented loss.
    expect(verdict.byCode.ROOT_STATE_FROM_RUN).toBeGreaterThan(0);
  });

  it('maps named groups and tasks sharing a display name to their keys, whatever release wrote task_name', async () => {
    const runs = runsOf('named-groups');
    expect(runs.length).toBe(ERA_ROTATION.length);
    await withDb(kfp.url, async (db) => {
      for (const run of runs) {
        const tasks = await db.all<{ Name: string; DisplayName: string; Type: number; ScopePath: string; LogicalKey: string | null; InputParameters: string | null; parent: string | null }>(
          'SELECT t.`Name`, t.`DisplayName`, t.`Type`, t.`ScopePath`, t.`LogicalKey`, t.`InputParameters`, p.`Name` AS parent FROM tasks t LEFT JOIN tasks p ON p.`UUID` = t.`ParentTaskUUID` WHERE t.`RunUUID` = ? ORDER BY t.`ScopePath`',
          [run.uuid],
        );
        const label = `named-groups as ${run.era}`;
        expect(tasks.map((t) => [t.ScopePath, t.Name, t.DisplayName, Number(t.Type), t.parent]), label).toEqual([
          ['root', 'ROOT', expect.stringMatching(/^named-groups run \d+$/), 1, null],
          ['root.condition-2', 'condition-2', 'Condition Branch', 3, 'ROOT'],
          ['root.condition-2.celebrate', 'celebrate', 'Celebrate', 2, 'condition-2'],
          ['root.evaluation-pipeline', 'evaluation-pipeline', 'Evaluation sub-pipeline', 8, 'ROOT'],
          ['root.evaluation-pipeline.score', 'score', 'Score model', 2, 'evaluation-pipeline'],
          ['root.exit-handler-1', 'exit-handler-1', 'Run ETL', 8, 'ROOT'],
          ['root.exit-handler-1.shard', 'shard', 'Process shard', 2, 'exit-handler-1'],
          ['root.exit-handler-1.shard-2', 'shard-2', 'Process shard', 2, 'exit-handler-1'],
          ['root.exit-handler-1.shard-3', 'shard-3', 'Process shard', 2, 'exit-handler-1'],
          ['root.for-loop-3', 'for-loop-3', 'Loop', 5, 'ROOT'],
          ['root.for-loop-3.fit', 'fit', 'Fit', 2, 'for-loop-3'],
          ['root.for-loop-3.fit', 'fit', 'Fit', 2, 'for-loop-3'],
          ['root.make-data', 'make-data', 'Make data', 2, 'ROOT'],
          ['root.notify', 'notify', 'Notify', 2, 'ROOT'],
        ]);
        expect(tasks.every((t) => t.LogicalKey !== null), label).toBe(true);
        // Each shard got the key whose constant input it recorded.
        const index = (name: string) => (JSON.parse(tasks.find((t) => t.Name === name)!.InputParameters!) as { value: unknown }[])[0]!.value;
        expect(['shard', 'shard-2', 'shard-3'].map(index), label).toEqual([0, 1, 2]);
        const mine = rejects.filter((r) => r.runUuid === run.uuid).map((r) => r.code);
        expect(mine.filter((c) => c.startsWith('KEY_') || c === 'DUPLICATE_TASK'), label).toEqual([]);
      }
    });
  });

  it('takes the ROOT state from run_details, whatever state a release left the root DAG in', async () => {
    await withDb(kfp.url, async (db) => {
      const rows = await db.all<{ State: number; FinishedInSec: number; run_state: string; FinishedAtInSec: number }>(
        'SELECT t.`State`, t.`FinishedInSec`, r.`State` AS run_state, r.`FinishedAtInSec` FROM tasks t JOIN run_details r ON r.`UUID` = t.`RunUUID` WHERE t.`Type` = 1',
      );
      expect(rows.length).toBe(RUNS);
      const expected: Record<string, number> = { SUCCEEDED: 2, FAILED: 4, CANCELED: 4, RUNNING: 1 };
      for (const r of rows) expect([Number(r.State), Number(r.FinishedInSec)]).toEqual([expected[r.run_state], Number(r.FinishedAtInSec)]);
    });
  });

  it('maps importers of every release: key, display name, workspace flag', async () => {
    await withDb(kfp.url, async (db) => {
      for (const run of [...runsOf('importers'), ...runsOf('importer-reuse')]) {
        const imps = await db.all<{ Name: string; DisplayName: string; TypeAttrs: string }>(
          'SELECT `Name`, `DisplayName`, `TypeAttrs` FROM tasks WHERE `RunUUID` = ? AND `Type` = 7 ORDER BY `Name`',
          [run.uuid],
        );
        expect(imps.map((t) => [t.Name, t.DisplayName, JSON.parse(t.TypeAttrs)]), `importers as ${run.era}`).toEqual([
          ['importer', 'Import dataset', { downloadToWorkspace: false }],
          ['importer-2', 'Import base model', { downloadToWorkspace: since(run.era, 'kfp-2.16') }],
        ]);
      }
    });
  });

  it('keeps the MLflow plugin’s run ids: tasks in StatusMetadata, collapsed iterations in mlmd_id_map', async () => {
    const sweep = runsOf('parallel-for').find((r) => r.era === 'kfp-2.17-mlflow')!;
    await withDb(kfp.url, async (db) => {
      const tasks = await db.all<{ Name: string; Type: number; StatusMetadata: string | null }>('SELECT `Name`, `Type`, `StatusMetadata` FROM tasks WHERE `RunUUID` = ?', [sweep.uuid]);
      const runIdOf = (t: { StatusMetadata: string | null }) =>
        (JSON.parse(t.StatusMetadata ?? '{}') as { customProperties?: { mlmd?: Record<string, { string: string }> } }).customProperties?.mlmd?.['plugins.mlflow.run_id']?.string;
      for (const t of tasks.filter((x) => Number(x.Type) !== 1)) expect(runIdOf(t), t.Name).toMatch(/^[0-9a-f]{32}$/);
      const loop = tasks.find((t) => Number(t.Type) === 5)!;
      const iterations = await db.all<{ extra: string }>("SELECT extra FROM mlmd_id_map WHERE kind = 'iteration' AND run_uuid = ?", [sweep.uuid]);
      expect(iterations.length).toBe(3);
      for (const it of iterations) {
        const saved = (JSON.parse(it.extra) as { customProperties: Record<string, { string: string }> }).customProperties;
        expect(saved['plugins.mlflow.run_id']!.string).toBe(runIdOf(loop));
      }
    });
  });

  it('gives every MLMD artifact its own row, even where a release wrote several to one URI', async () => {
    const grid = runsOf('loop-edge-cases').find((r) => r.era === 'kfp-2.0')!;
    await withDb(kfp.url, async (db) => {
      const rows = await db.all<{ URI: string; n: number }>(
        'SELECT a.`URI`, COUNT(DISTINCT a.`UUID`) AS n FROM artifacts a JOIN artifact_tasks l ON l.`ArtifactID` = a.`UUID` WHERE l.`RunUUID` = ? AND l.`Type` = 9 GROUP BY a.`URI`',
        [grid.uuid],
      );
      const shared = rows.find((r) => r.URI.endsWith('/Grid cell/result'))!;
      expect(Number(shared.n)).toBe(4);
    });
  });

  it('recomputes the loops KFP 2.4–2.16 never settled, and reports each as adjusted', async () => {
    const sweeps = runsOf('parallel-for').filter((r) => SETTLING_ROOT.has(r.era));
    expect(sweeps.length).toBeGreaterThan(0);
    await withDb(kfp.url, async (db) => {
      for (const run of sweeps) {
        const [loop] = await db.all<{ UUID: string; State: number }>('SELECT `UUID`, `State` FROM tasks WHERE `RunUUID` = ? AND `Type` = 5', [run.uuid]);
        // SUCCEEDED, or CACHED when every iteration hit the cache of an earlier sweep.
        expect([2, 5], run.era).toContain(Number(loop!.State));
        const [mapped] = await db.all<{ mlmd_id: number }>("SELECT mlmd_id FROM mlmd_id_map WHERE kind = 'execution' AND kfp_uuid = ?", [loop!.UUID]);
        expect(rejects.some((r) => r.runUuid === run.uuid && r.code === 'RUNNING_IN_FINISHED_RUN' && r.mlmdId === Number(mapped!.mlmd_id)), run.era).toBe(true);
      }
    });
  });
});
