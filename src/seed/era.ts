/**
 * KFP 2.x releases wrote MLMD differently over time (kfp-facts.md §A.9, checked against the release
 * tags of kubeflow/pipelines). A seeded run is written as one of these eras so that the migration
 * sees every variant a real database accumulates. An era is named after the first backend release
 * that wrote that way; it holds until the next era's release (the backend went from 2.5 to 2.14).
 */
export type Era = 'kfp-2.0' | 'kfp-2.2' | 'kfp-2.3' | 'kfp-2.4' | 'kfp-2.5' | 'kfp-2.14' | 'kfp-2.16' | 'kfp-2.17' | 'kfp-2.17-mlflow';

/**
 * How (and whether) the launcher settles a DAG execution's state once a container under it finishes.
 *  - `never`: DAG executions stay RUNNING for good (before 2.4).
 *  - `created-children` (2.4): the container's parent DAG, the root included, becomes COMPLETE when
 *    every child created so far is COMPLETE, CACHED or CANCELED, else FAILED when one failed.
 *  - `total-dag-tasks` (2.5–2.16): the same, against the DAG's `total_dag_tasks`. The root has none,
 *    so it counts as 0: a root whose first finished child failed is marked COMPLETE.
 *  - `expected-count` (2.17 on): against `iteration_count` (loops) or `total_dag_tasks`, DAGs without
 *    either (the root) skipped, and a settled DAG settles its parent in turn.
 */
export type DagStateRule = 'never' | 'created-children' | 'total-dag-tasks' | 'expected-count';

export interface EraProfile {
  /** Start of the era's runs, epoch milliseconds (fixed: seeds must be reproducible). */
  baseMs: number;
  sdkVersion: string;
  /** `store_session_info` on the run context (2.2). */
  runContextSessionInfo: boolean;
  /** `store_session_info` on output and imported artifacts (2.3). */
  artifactSessionInfo: boolean;
  /** Output URIs carry a random salt segment: `<root>/<task>/<salt>/<key>` (2.4). */
  outputUriSalt: boolean;
  /** `parameter_producer_task` / `artifact_producer_task` on DAGs (2.4). */
  producerTasks: boolean;
  dagStateRule: DagStateRule;
  /** `total_dag_tasks` (2.5). */
  totalDagTasks: boolean;
  /** `executor-logs` output artifact of successful containers, when log publishing is on (2.5). */
  executorLogs: boolean;
  /** A failed container publishes its executor-logs artifact, and only that (2.16). */
  failedExecutorLogs: boolean;
  /** `task_name` holds the task key, `display_name` the task_info.name, and output URIs the key (2.14). */
  taskNameIsKey: boolean;
  /** Loop and iteration DAGs have the loop's task key as task_name; before, task_info.name (2.16). */
  loopTaskNameIsKey: boolean;
  /** Importers get `display_name` = task_info.name, like every other execution (before 2.14; then ""). */
  importerDisplayName: boolean;
  /** `system.ImporterWorkspaceExecution` exists (2.15). */
  workspaceImporter: boolean;
  /** The executor-logs URI carries `-<retryIndex>` (2.17). */
  logsRetrySuffix: boolean;
  /** The MLflow plugin is configured: `plugins.mlflow.run_id` on containers and DAGs (2.17). */
  mlflowPlugin: boolean;
  /**
   * The driver names provisioned outputs by their key (Pythonic artifacts, #12256) and keys a
   * task's cache by its mounted and workspace PVCs too (#12220): both in its cache key (2.15).
   */
  cacheKeyNamesOutputsAndPvcs: boolean;
  /** `cachingOptions.cacheKey` replaces the computed cache key (#13762, master only). */
  customCacheKeys: boolean;
}

const KFP_2_0: EraProfile = {
  baseMs: Date.UTC(2023, 5, 12, 8, 0, 0),
  sdkVersion: 'kfp-2.0.1',
  runContextSessionInfo: false,
  artifactSessionInfo: false,
  outputUriSalt: false,
  producerTasks: false,
  dagStateRule: 'never',
  totalDagTasks: false,
  executorLogs: false,
  failedExecutorLogs: false,
  taskNameIsKey: false,
  loopTaskNameIsKey: false,
  importerDisplayName: true,
  workspaceImporter: false,
  logsRetrySuffix: false,
  mlflowPlugin: false,
  cacheKeyNamesOutputsAndPvcs: false,
  customCacheKeys: false,
};

const KFP_2_5: EraProfile = {
  ...KFP_2_0,
  baseMs: Date.UTC(2025, 4, 20, 8, 0, 0),
  sdkVersion: 'kfp-2.13.0',
  runContextSessionInfo: true,
  artifactSessionInfo: true,
  outputUriSalt: true,
  producerTasks: true,
  dagStateRule: 'total-dag-tasks',
  totalDagTasks: true,
  executorLogs: true,
};

const KFP_2_17: EraProfile = {
  ...KFP_2_5,
  baseMs: Date.UTC(2025, 11, 2, 8, 0, 0),
  sdkVersion: 'kfp-2.15.0',
  dagStateRule: 'expected-count',
  failedExecutorLogs: true,
  taskNameIsKey: true,
  loopTaskNameIsKey: true,
  importerDisplayName: false,
  workspaceImporter: true,
  logsRetrySuffix: true,
  cacheKeyNamesOutputsAndPvcs: true,
};

export const ERAS: Record<Era, EraProfile> = {
  // KFP 2.0.x–2.1 (mid-2023 to early 2024).
  'kfp-2.0': KFP_2_0,
  // KFP 2.2 (May 2024): the run context's store_session_info, not yet the artifacts'.
  'kfp-2.2': { ...KFP_2_0, baseMs: Date.UTC(2024, 4, 6, 8, 0, 0), sdkVersion: 'kfp-2.7.0', runContextSessionInfo: true },
  // KFP 2.3 (September 2024): artifacts' store_session_info.
  'kfp-2.3': { ...KFP_2_0, baseMs: Date.UTC(2024, 8, 10, 8, 0, 0), sdkVersion: 'kfp-2.8.0', runContextSessionInfo: true, artifactSessionInfo: true },
  // KFP 2.4 (January 2025): producer tasks, salted URIs, the first DAG state updater.
  'kfp-2.4': {
    ...KFP_2_0,
    baseMs: Date.UTC(2025, 0, 20, 8, 0, 0),
    sdkVersion: 'kfp-2.11.0',
    runContextSessionInfo: true,
    artifactSessionInfo: true,
    outputUriSalt: true,
    producerTasks: true,
    dagStateRule: 'created-children',
  },
  // KFP 2.5 (May 2025): total_dag_tasks, executor logs.
  'kfp-2.5': KFP_2_5,
  // KFP 2.14 (August 2025): task_name is the key (not yet for loops), importers' display_name "".
  'kfp-2.14': { ...KFP_2_5, baseMs: Date.UTC(2025, 7, 18, 8, 0, 0), sdkVersion: 'kfp-2.14.0', taskNameIsKey: true, importerDisplayName: false },
  // KFP 2.15–2.16 (November 2025 to February 2026): workspace importers, then loops' keys and failed tasks' logs.
  'kfp-2.16': {
    ...KFP_2_5,
    baseMs: Date.UTC(2025, 10, 26, 8, 0, 0),
    sdkVersion: 'kfp-2.15.0',
    taskNameIsKey: true,
    loopTaskNameIsKey: true,
    importerDisplayName: false,
    workspaceImporter: true,
    failedExecutorLogs: true,
    cacheKeyNamesOutputsAndPvcs: true,
  },
  // KFP 2.17 and master: the propagating DAG updater, per-retry log URIs. (Its runs keep the
  // December 2025 dates the seed gave its "current master" runs before eras followed releases.)
  'kfp-2.17': KFP_2_17,
  // The same with the MLflow plugin configured, on master (which also takes a task's custom cache key).
  'kfp-2.17-mlflow': { ...KFP_2_17, baseMs: Date.UTC(2026, 6, 13, 8, 0, 0), mlflowPlugin: true, customCacheKeys: true },
};

/** The order later seed cycles rotate eras through, oldest first: ERAS's own order. */
export const ERA_ROTATION = Object.keys(ERAS) as readonly Era[];
