/**
 * `seed`: a KFP-2.x-shaped MLMD database plus the KFP 2.x tables that go with it
 * (`experiments`, `run_details` with a compiled PipelineSpec, the v1 `tasks` cache table).
 *
 * Runs rotate through twelve shapes (shapes.ts), so `runs: 12` already holds each of:
 *  - containers only, with artifacts of every type (system.Artifact/Dataset/Model/Metrics/
 *    ClassificationMetrics/SlicedClassificationMetrics/HTML/Markdown, google.VertexModel) and SDK
 *    booleans stored as int 0/1;
 *  - a nested pipeline DAG with DAG output parameters and artifacts (parameter_/artifact_producer_task);
 *  - dsl.If: condition-N taken, condition-M not taken (CANCELED with inputs, no outputs), and
 *    condition-branches-N holding two conditions;
 *  - ParallelFor with iteration DAGs (iteration_count=3, iteration_index) and a dsl.Collected consumer;
 *  - a loop over an empty list (iteration_count=0), a loop that did not trigger, a nested loop;
 *  - exit-handler-N with the exit task under the enclosing DAG, a FAILED container whose only output
 *    is executor-logs, and a task left RUNNING (run FAILED);
 *  - importers (system.ImporterExecution and system.ImporterWorkspaceExecution, task_name = display
 *    name, artifacts without display_name), one imported artifact reused by a run in another namespace;
 *  - k8s createpvc/deletepvc ops (the deletepvc did not trigger and is published COMPLETE);
 *  - cache hits (CACHED, cached_execution_id as a string, outputs copied, OUTPUT events to the same artifacts);
 *  - a retried task (two executions with the same key and parent) in a CANCELED run;
 *  - a run still RUNNING.
 * Each run is written the way one KFP release wrote MLMD (era.ts, from 2.0 to 2.17 and master:
 * store_session_info, producer tasks, total_dag_tasks, which DAGs — the root included — the launcher
 * settled, executor logs, task_name as display name or key, importer display names, workspace
 * importers, MLflow plugin ids). The first twelve runs use each shape's own era; later runs take
 * every shape, plus RELEASE_SHAPES (groups and tasks the user named), through every era in turn
 * (`planRun`), so `runs: 129` holds every shape as every release wrote it.
 * Namespaces: `team-a`, `team-b` and single-user "".
 * `hostile: true` adds the records listed in hostile.ts, each reported with its reject code.
 *
 * Everything derives from `seed` through one PRNG and fixed era timestamps, so the same options
 * give identical databases; all ids are explicit.
 */
import type { Db, Param, Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { tableExists } from '../db/catalog.ts';
import { createV1TasksTable } from '../load/v1-tasks.ts';
import { ERAS, ERA_ROTATION, type Era } from './era.ts';
import { EXPERIMENT_COLUMN_NAMES, RUN_DETAILS_COLUMN_NAMES, V1_TASK_COLUMN_NAMES, createKfp2Tables } from './kfp2-ddl.ts';
import { type HostileRecord, plantHostile } from './hostile.ts';
import { createMlmdSchema, syncIdSequences } from './mlmd-ddl.ts';
import { MlmdStore } from './mlmd-store.ts';
import { Prng } from './prng.ts';
import { insertMany } from '../db/insert.ts';
import { DEFAULT_PIPELINE_ROOT, RunBuilder, type SeedWorld } from './run-builder.ts';
import { LEGACY_TRAINING, RELEASE_SHAPES, type RunState, SHAPES, type Shape } from './shapes.ts';

export interface SeedOptions {
  runs: number;
  seed: number;
  schemaVersion?: 8 | 9 | 10;
  hostile?: boolean;
}

export interface SeedReport {
  runs: { uuid: string; shape: string; era: Era; namespace: string; state: string }[];
  executions: number;
  artifacts: number;
  events: number;
  /** What hostile records were planted, with the reason code the migration must report. */
  hostile: HostileRecord[];
}

export const SEED_NAMESPACES = ['team-a', 'team-b', ''] as const;
const EXPERIMENT_NAMES = ['Default', 'nightly-training'] as const;
/** Runs held in memory between writes: bounds memory on large seeds. */
const RUNS_PER_FLUSH = 250;

const V1_CONDITIONS: Record<RunState, string> = { SUCCEEDED: 'Succeeded', FAILED: 'Failed', CANCELED: 'Failed', RUNNING: 'Running' };

interface Experiment {
  uuid: string;
  name: string;
  namespace: string;
  lastRunSec: number;
}

async function refuseNonEmpty(db: Queryable, table: string, what: string): Promise<void> {
  if (await tableExists(db, table)) {
    throw new BridgeError('USAGE', `the ${what} already has a \`${table}\` table`, 'seed writes into an empty database only; point it at a new one');
  }
}

const LATER_SHAPES: readonly Shape[] = [...SHAPES, ...RELEASE_SHAPES];

/**
 * Which shape run `i` takes, and which KFP release wrote it. The first twelve runs are the twelve
 * shapes, each in its own era. After them the shapes (with RELEASE_SHAPES) come round again and
 * again, each time one era further along ERA_ROTATION, so that every shape meets every release;
 * every third time round the training slot is the pre-2024 training pipeline.
 */
export function planRun(i: number): { shape: Shape; era: Era } {
  if (i < SHAPES.length) return { shape: SHAPES[i]!, era: SHAPES[i]!.era };
  const j = i - SHAPES.length;
  const slot = j % LATER_SHAPES.length;
  const cycle = Math.floor(j / LATER_SHAPES.length);
  if (slot === 0 && cycle % 3 === 0) return { shape: LEGACY_TRAINING, era: LEGACY_TRAINING.era };
  return { shape: LATER_SHAPES[slot]!, era: ERA_ROTATION[(slot + cycle) % ERA_ROTATION.length]! };
}

export async function seedDatabases(mlmd: Db, kfp: Db, opts: SeedOptions): Promise<SeedReport> {
  if (!Number.isInteger(opts.runs) || opts.runs < 0) throw new BridgeError('USAGE', `--runs must be a whole number ≥ 0 (got ${opts.runs})`);
  if (!Number.isInteger(opts.seed)) throw new BridgeError('USAGE', `--seed must be a whole number (got ${opts.seed})`);
  const version = opts.schemaVersion ?? 10;
  await refuseNonEmpty(mlmd, 'MLMDEnv', 'MLMD database');
  await refuseNonEmpty(kfp, 'run_details', 'KFP database');
  await createMlmdSchema(mlmd, version);
  await createKfp2Tables(kfp);
  await createV1TasksTable(kfp);

  const prng = new Prng(opts.seed);
  const world: SeedWorld = {
    store: await MlmdStore.open(mlmd),
    prng,
    cache: new Map(),
    imports: new Map(),
    pipelineContexts: new Map(),
    kfp: { runDetails: [], v1Tasks: [] },
  };
  const experiments: Experiment[] = SEED_NAMESPACES.flatMap((namespace) =>
    EXPERIMENT_NAMES.map((name) => ({ uuid: prng.uuid(), name, namespace, lastRunSec: 0 })),
  );
  const pipelineIds = new Map<string, [string, string]>();
  const report: SeedReport = { runs: [], executions: 0, artifacts: 0, events: 0, hostile: [] };
  let index = 0;

  const buildRun = (shape: Shape, namespace: string, o: { writeRunDetails?: boolean; tamper?: (run: RunBuilder) => void; label?: string } = {}) => {
    const i = index++;
    const cacheRowsBefore = world.kfp.v1Tasks.length;
    const era = ERAS[shape.era];
    const startMs = era.baseMs + i * 41 * 60_000 + prng.int(0, 59_999);
    const run = new RunBuilder(world, {
      uuid: prng.uuid(),
      pipelineName: shape.pipeline,
      displayName: `${shape.pipeline} run ${i + 1}`,
      namespace,
      era: shape.era,
      startMs,
      params: shape.params,
    });
    const state = shape.build(run);
    run.finish();
    o.tamper?.(run);
    if (o.writeRunDetails === false) {
      // A deleted run's cache rows went with it (ON DELETE CASCADE); its MLMD records stay.
      world.kfp.v1Tasks.length = cacheRowsBefore;
      return run;
    }

    const experiment = prng.pick(experiments.filter((e) => e.namespace === namespace));
    const createdSec = Math.floor(startMs / 1000) - prng.int(3, 20);
    experiment.lastRunSec = Math.max(experiment.lastRunSec, createdSec);
    const lastMs = Math.max(...run.executions.map((e) => e.updateMs));
    const finishedSec = state === 'RUNNING' ? 0 : Math.floor(lastMs / 1000) + prng.int(2, 30);
    let ids = pipelineIds.get(shape.pipeline);
    if (!ids) {
      ids = [prng.uuid(), prng.uuid()];
      pipelineIds.set(shape.pipeline, ids);
    }
    const history = [
      { UpdateTimeInSec: createdSec, State: 'PENDING' },
      { UpdateTimeInSec: createdSec + 1, State: 'RUNNING' },
      ...(state === 'RUNNING' ? [] : [{ UpdateTimeInSec: finishedSec, State: state }]),
    ];
    const values: Record<string, Param> = {
      UUID: run.opts.uuid,
      DisplayName: run.opts.displayName,
      Name: run.workflowName,
      Description: '',
      Namespace: namespace,
      ExperimentUUID: experiment.uuid,
      JobUUID: null,
      StorageState: 'AVAILABLE',
      ServiceAccount: 'pipeline-runner',
      PipelineId: ids[0],
      PipelineVersionId: ids[1],
      PipelineName: shape.pipeline,
      PipelineSpecManifest: run.spec.toYaml(),
      WorkflowSpecManifest: null,
      Parameters: null,
      RuntimeParameters: JSON.stringify(shape.params),
      PipelineRoot: DEFAULT_PIPELINE_ROOT,
      CreatedAtInSec: createdSec,
      ScheduledAtInSec: createdSec,
      FinishedAtInSec: finishedSec,
      Conditions: V1_CONDITIONS[state],
      State: state,
      StateHistory: JSON.stringify(history),
      PluginsInput: null,
      PluginsOutput: null,
      PipelineRuntimeManifest: '',
      WorkflowRuntimeManifest: '',
      PipelineContextId: 0,
      PipelineRunContextId: 0,
      RetryGeneration: 0,
      RetryClaimedAtInSec: 0,
      ArchivedAtInSec: 0,
    };
    world.kfp.runDetails.push(RUN_DETAILS_COLUMN_NAMES.map((c) => values[c] ?? null));
    if (i % 4 === 0) addArgoNodeRows(world, run, createdSec, finishedSec, state);
    report.runs.push({ uuid: run.opts.uuid, shape: o.label ?? shape.name, era: shape.era, namespace, state });
    return run;
  };

  const flush = async () => {
    await mlmd.transaction((q) => world.store.flush(q));
    await kfp.transaction(async (q) => {
      await insertMany(q, 'run_details', RUN_DETAILS_COLUMN_NAMES, world.kfp.runDetails);
      await insertMany(q, 'tasks', V1_TASK_COLUMN_NAMES, world.kfp.v1Tasks);
    });
    world.kfp.runDetails = [];
    world.kfp.v1Tasks = [];
  };

  for (let i = 0; i < opts.runs; i++) {
    const { shape, era } = planRun(i);
    buildRun({ ...shape, era }, SEED_NAMESPACES[shape.namespaceSlot]);
    if ((i + 1) % RUNS_PER_FLUSH === 0) await flush();
  }
  if (opts.hostile) {
    const ordinary = SHAPES[0]!;
    report.hostile = plantHostile(
      world.store,
      (pipeline, o) => buildRun({ ...ordinary, pipeline }, 'team-b', { ...o, label: `hostile:${pipeline}` }),
      ERAS['kfp-2.0'].baseMs - 86_400_000,
    );
  }
  await flush();
  await syncIdSequences(mlmd);
  await kfp.transaction((q) =>
    insertMany(
      q,
      'experiments',
      EXPERIMENT_COLUMN_NAMES,
      experiments.map((e) => [e.uuid, e.name, '', Math.floor(ERAS['kfp-2.0'].baseMs / 1000) - 86_400, e.lastRunSec, e.namespace, 'AVAILABLE']),
    ),
  );
  report.executions = world.store.totals.executions;
  report.artifacts = world.store.totals.artifacts;
  report.events = world.store.totals.events;
  return report;
}

/** Rows the persistence agent writes from Argo node statuses: no MLMD id, no fingerprint. */
function addArgoNodeRows(world: SeedWorld, run: RunBuilder, createdSec: number, finishedSec: number, state: RunState): void {
  const nodes = [run.workflowName, `${run.workflowName}.root-driver`];
  for (const name of nodes) {
    world.kfp.v1Tasks.push([
      world.prng.uuid(),
      run.opts.namespace,
      '',
      run.opts.uuid,
      `${run.workflowName}-${world.prng.int(1_000_000_000, 4_294_967_295)}`,
      '',
      createdSec,
      createdSec + 1,
      finishedSec,
      '',
      name,
      null,
      state,
      null,
      null,
      null,
      '[]',
      null,
    ]);
  }
}
