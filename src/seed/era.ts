/**
 * KFP 2.x releases wrote MLMD differently over time (kfp-facts.md §A.9). A seeded run is written as
 * one of three eras so that the migration sees every variant a real database accumulates.
 */
export type Era = 'legacy' | 'mid' | 'current';

export interface EraProfile {
  /** Start of the era's runs, epoch milliseconds (fixed: seeds must be reproducible). */
  baseMs: number;
  sdkVersion: string;
  /** `store_session_info` on artifacts and the run context (2024-04). */
  sessionInfo: boolean;
  /** `parameter_producer_task` / `artifact_producer_task` and the DAG state updater (2024-10). */
  producerTasks: boolean;
  dagStateUpdates: boolean;
  /** `total_dag_tasks` (2025-02). */
  totalDagTasks: boolean;
  /** `executor-logs` output artifact (2025-04). */
  executorLogs: boolean;
  /** `task_name` holds the task key rather than `task_info.name` (2025-07). */
  taskNameIsKey: boolean;
  /** The executor-logs URI carries `-<retryIndex>` (current master). */
  logsRetrySuffix: boolean;
  /** `system.ImporterWorkspaceExecution` exists (2025-11). */
  workspaceImporter: boolean;
}

export const ERAS: Record<Era, EraProfile> = {
  // Mid-2023: KFP 2.0.x.
  legacy: {
    baseMs: Date.UTC(2023, 5, 12, 8, 0, 0),
    sdkVersion: 'kfp-2.0.1',
    sessionInfo: false,
    producerTasks: false,
    dagStateUpdates: false,
    totalDagTasks: false,
    executorLogs: false,
    taskNameIsKey: false,
    logsRetrySuffix: false,
    workspaceImporter: false,
  },
  // May 2025: KFP 2.5.
  mid: {
    baseMs: Date.UTC(2025, 4, 20, 8, 0, 0),
    sdkVersion: 'kfp-2.13.0',
    sessionInfo: true,
    producerTasks: true,
    dagStateUpdates: true,
    totalDagTasks: true,
    executorLogs: true,
    taskNameIsKey: false,
    logsRetrySuffix: false,
    workspaceImporter: false,
  },
  // December 2025: current master.
  current: {
    baseMs: Date.UTC(2025, 11, 2, 8, 0, 0),
    sdkVersion: 'kfp-2.15.0',
    sessionInfo: true,
    producerTasks: true,
    dagStateUpdates: true,
    totalDagTasks: true,
    executorLogs: true,
    taskNameIsKey: true,
    logsRetrySuffix: true,
    workspaceImporter: true,
  },
};
