/**
 * The mapping rules of design.md §2 and kfp-facts.md §F as tables. Each table reads like the doc;
 * the code in tasks.ts / artifacts.ts / links.ts only looks things up here.
 */
import { EXECUTION_STATE, type JsonObject } from './model.ts';
import type { SpecTask } from './spec.ts';
import { canonicalEqual } from './values.ts';

// ------------------------------------------------------------------ KFP 3 enums (kfp-facts.md §C.7)

export const TASK_TYPE = {
  TASK_TYPE_UNSPECIFIED: 0,
  ROOT: 1,
  RUNTIME: 2,
  CONDITION_BRANCH: 3,
  CONDITION: 4,
  LOOP: 5,
  EXIT_HANDLER: 6,
  IMPORTER: 7,
  DAG: 8,
} as const;
export type TaskType = (typeof TASK_TYPE)[keyof typeof TASK_TYPE];

export const TASK_STATE = { RUNTIME_STATE_UNSPECIFIED: 0, RUNNING: 1, SUCCEEDED: 2, SKIPPED: 3, FAILED: 4, CACHED: 5 } as const;
export type TaskState = (typeof TASK_STATE)[keyof typeof TASK_STATE];
export const TASK_STATE_NAME: Record<number, string> = Object.fromEntries(Object.entries(TASK_STATE).map(([k, v]) => [v, k]));

export const IO_TYPE = {
  UNSPECIFIED: 0,
  COMPONENT_DEFAULT_INPUT: 1,
  TASK_OUTPUT_INPUT: 2,
  COMPONENT_INPUT: 3,
  RUNTIME_VALUE_INPUT: 4,
  COLLECTED_INPUTS: 5,
  ITERATOR_INPUT: 6,
  ITERATOR_INPUT_RAW: 7,
  ITERATOR_OUTPUT: 8,
  OUTPUT: 9,
  ONE_OF_OUTPUT: 10,
  TASK_FINAL_STATUS_OUTPUT: 11,
} as const;
export type IoType = (typeof IO_TYPE)[keyof typeof IO_TYPE];
export const IO_TYPE_NAME: Record<number, string> = Object.fromEntries(Object.entries(IO_TYPE).map(([k, v]) => [v, k]));
/** `iOTypeIsOutput` of the KFP 3 server. */
export const isOutputIoType = (t: number): boolean => t >= 8 && t <= 11;

export const ARTIFACT_TYPE = {
  TYPE_UNSPECIFIED: 0,
  Artifact: 1,
  Model: 2,
  Dataset: 3,
  HTML: 4,
  Markdown: 5,
  Metric: 6,
  ClassificationMetric: 7,
  SlicedClassificationMetric: 8,
} as const;

// ------------------------------------------------------------------ MLMD type names KFP 2.x writes

export const MLMD_EXECUTION_TYPE = {
  DAG: 'system.DAGExecution',
  CONTAINER: 'system.ContainerExecution',
  IMPORTER: 'system.ImporterExecution',
  IMPORTER_WORKSPACE: 'system.ImporterWorkspaceExecution',
} as const;
export const KFP_EXECUTION_TYPES: ReadonlySet<string> = new Set(Object.values(MLMD_EXECUTION_TYPE));
export const RUN_CONTEXT_TYPE = 'system.PipelineRun';
export const PIPELINE_CONTEXT_TYPE = 'system.Pipeline';

// ------------------------------------------------------------------ states (kfp-facts.md §F.1 State)

/** MLMD `last_known_state` → `tasks.State`. CANCELED means "not triggered" in KFP 2.x, hence SKIPPED. */
export const TASK_STATE_BY_MLMD_STATE: Record<number, TaskState> = {
  [EXECUTION_STATE.UNKNOWN]: TASK_STATE.RUNTIME_STATE_UNSPECIFIED,
  [EXECUTION_STATE.NEW]: TASK_STATE.RUNNING,
  [EXECUTION_STATE.RUNNING]: TASK_STATE.RUNNING,
  [EXECUTION_STATE.COMPLETE]: TASK_STATE.SUCCEEDED,
  [EXECUTION_STATE.FAILED]: TASK_STATE.FAILED,
  [EXECUTION_STATE.CACHED]: TASK_STATE.CACHED,
  [EXECUTION_STATE.CANCELED]: TASK_STATE.SKIPPED,
};

/** `run_details.State` text → the ROOT task's state. KFP 3 has no CANCELED, so a canceled run's root FAILED. */
export const ROOT_STATE_BY_RUN_STATE: Record<string, TaskState> = {
  SUCCEEDED: TASK_STATE.SUCCEEDED,
  FAILED: TASK_STATE.FAILED,
  SKIPPED: TASK_STATE.SKIPPED,
  RUNNING: TASK_STATE.RUNNING,
  PENDING: TASK_STATE.RUNNING,
  PAUSED: TASK_STATE.RUNNING,
  CANCELED: TASK_STATE.FAILED,
  CANCELING: TASK_STATE.FAILED,
};

/** Run states after which no task can still be running. */
export const FINISHED_RUN_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELED']);

export const isTerminalTaskState = (s: number): boolean =>
  s === TASK_STATE.SUCCEEDED || s === TASK_STATE.SKIPPED || s === TASK_STATE.FAILED || s === TASK_STATE.CACHED;

// ------------------------------------------------------------------ task types (kfp-facts.md §F.1 Type, §C.9)

/** What the type rules look at for one execution. */
export interface TaskFacts {
  isRoot: boolean;
  mlmdType: string;
  /** The resolved task key. */
  key: string;
  hasIterationCount: boolean;
  /** Spec facts, `null` when the run has no usable spec or the key is not in it. */
  spec: { hasIterator: boolean; hasCondition: boolean } | null;
}

export interface TaskTypeRule {
  doc: string;
  when: (t: TaskFacts) => boolean;
  type: TaskType;
  /** Fixed DisplayName the KFP 3 runtime gives this type; otherwise `display_name` is kept. */
  displayName?: string;
}

const isDag = (t: TaskFacts) => t.mlmdType === MLMD_EXECUTION_TYPE.DAG;
const isConditionName = (key: string) => key.startsWith('condition') && !key.startsWith('condition-branch');

/** First match wins. With a spec, follow the KFP 3 runtime (driver/dag.go); without one, fall back to the group-name prefixes. */
export const TASK_TYPE_RULES: readonly TaskTypeRule[] = [
  { doc: 'the root DAG (name run/<uuid>)', when: (t) => t.isRoot, type: TASK_TYPE.ROOT, displayName: undefined },
  { doc: 'system.ContainerExecution (also k8s PVC ops)', when: (t) => t.mlmdType === MLMD_EXECUTION_TYPE.CONTAINER, type: TASK_TYPE.RUNTIME },
  {
    doc: 'system.ImporterExecution / system.ImporterWorkspaceExecution',
    when: (t) => t.mlmdType === MLMD_EXECUTION_TYPE.IMPORTER || t.mlmdType === MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE,
    type: TASK_TYPE.IMPORTER,
  },
  {
    doc: 'DAG with iteration_count, or whose spec task has an iterator (catches loops that never fanned out)',
    when: (t) => isDag(t) && (t.hasIterationCount || (t.spec?.hasIterator ?? false)),
    type: TASK_TYPE.LOOP,
    displayName: 'Loop',
  },
  {
    doc: 'DAG whose spec task has triggerPolicy.condition (in practice condition-N)',
    when: (t) => isDag(t) && (t.spec?.hasCondition ?? false),
    type: TASK_TYPE.CONDITION_BRANCH,
    displayName: 'Condition Branch',
  },
  {
    doc: 'DAG named condition* (not condition-branch*) with no condition in the spec',
    when: (t) => isDag(t) && t.spec !== null && isConditionName(t.key),
    type: TASK_TYPE.CONDITION,
    displayName: 'Condition',
  },
  {
    doc: 'no spec: for-loop-* is a LOOP',
    when: (t) => isDag(t) && t.spec === null && t.key.startsWith('for-loop-'),
    type: TASK_TYPE.LOOP,
    displayName: 'Loop',
  },
  {
    doc: 'no spec: condition-* (not condition-branches-*) is a CONDITION_BRANCH',
    when: (t) => isDag(t) && t.spec === null && isConditionName(t.key),
    type: TASK_TYPE.CONDITION_BRANCH,
    displayName: 'Condition Branch',
  },
  {
    doc: 'every other DAG: nested pipelines, condition-branches-*, exit-handler-* (the KFP 3 runtime never writes EXIT_HANDLER)',
    when: isDag,
    type: TASK_TYPE.DAG,
  },
];

export function taskTypeRule(t: TaskFacts): TaskTypeRule | undefined {
  return TASK_TYPE_RULES.find((r) => r.when(t));
}

// ------------------------------------------------------------------ task keys (kfp-facts.md §F.0-3)

/** What an execution recorded, set against one spec task its `task_name` may stand for. */
export interface KeyCandidateFacts {
  /** The execution's `inputs` property, `null` when it has none. */
  inputs: JsonObject | null;
  isDagExecution: boolean;
  candidate: SpecTask;
  /** Whether the candidate's component is a DAG; `null` when the spec does not say. */
  candidateRunsDag: boolean | null;
}

export interface KeyEvidenceRule {
  doc: string;
  consistent: (f: KeyCandidateFacts) => boolean;
}

/**
 * Before KFP 2.14 `task_name` held task_info.name, which several tasks of one DAG may share (a
 * Python loop calling set_display_name). A candidate task stays in the running only if it agrees
 * with every rule; an execution left with one candidate has its key.
 */
export const KEY_EVIDENCE_RULES: readonly KeyEvidenceRule[] = [
  {
    doc: 'a DAG execution runs a DAG component; a container or importer execution runs an executor',
    consistent: (f) => f.candidateRunsDag === null || f.candidateRunsDag === f.isDagExecution,
  },
  {
    doc: 'every constant input of the spec task has the value the execution recorded in `inputs`',
    consistent: (f) =>
      Object.entries(f.candidate.parameters).every(
        ([name, src]) => src.kind !== 'runtimeValue' || src.constant === undefined || f.inputs?.[name] === undefined || canonicalEqual(f.inputs[name], src.constant),
      ),
  },
];

// ------------------------------------------------------------------ artifacts (kfp-facts.md §F.2)

/** Schema title (MLMD artifact type name) → `artifacts.Type`. Anything else is Type 1 with `_kfp_schema_title` kept in Metadata. */
export const ARTIFACT_TYPE_BY_SCHEMA_TITLE: Record<string, number> = {
  'system.Artifact': ARTIFACT_TYPE.Artifact,
  'system.Model': ARTIFACT_TYPE.Model,
  'system.Dataset': ARTIFACT_TYPE.Dataset,
  'system.HTML': ARTIFACT_TYPE.HTML,
  'system.Markdown': ARTIFACT_TYPE.Markdown,
  'system.Metrics': ARTIFACT_TYPE.Metric,
  'system.ClassificationMetrics': ARTIFACT_TYPE.ClassificationMetric,
  'system.SlicedClassificationMetrics': ARTIFACT_TYPE.SlicedClassificationMetric,
};
export const SCHEMA_TITLE_KEY = '_kfp_schema_title';
/** Types whose rows carry no URI, as the KFP 3 launcher writes them. */
export const URI_LESS_ARTIFACT_TYPES: ReadonlySet<number> = new Set([
  ARTIFACT_TYPE.Metric,
  ARTIFACT_TYPE.ClassificationMetric,
  ARTIFACT_TYPE.SlicedClassificationMetric,
]);
/** Artifact custom properties that are KFP bookkeeping, not user metadata. */
export const ARTIFACT_PROPS_NOT_IN_METADATA: ReadonlySet<string> = new Set(['display_name', 'store_session_info']);

// ------------------------------------------------------------------ column limits (kfp-facts.md §C.1–C.3)

export const LIMITS = { taskName: 128, taskDisplayName: 128, artifactName: 128, uri: 2048, artifactKey: 191, namespace: 63 } as const;

// ------------------------------------------------------------------ execution custom properties without a column

/**
 * Execution custom properties the mapping consumes into columns, and the task types that have the
 * column. A property on any other type of task — or one not listed (cached_execution_id, image,
 * total_dag_tasks, parameter/artifact_producer_task, plugins.*, unknown keys) — is kept verbatim in
 * `StatusMetadata.customProperties.mlmd`, so nothing KFP 2.x recorded is lost. (`namespace`,
 * `display_name`, `task_name` and `cache_fingerprint` are kept there whenever the column differs.)
 */
const ALL_TASK_TYPES: readonly number[] = Object.values(TASK_TYPE);
export const EXECUTION_PROPS_IN_COLUMNS: Readonly<Record<string, readonly number[]>> = {
  task_name: ALL_TASK_TYPES,
  display_name: ALL_TASK_TYPES,
  parent_dag_id: ALL_TASK_TYPES,
  namespace: ALL_TASK_TYPES,
  cache_fingerprint: ALL_TASK_TYPES,
  inputs: ALL_TASK_TYPES,
  iteration_count: [TASK_TYPE.LOOP],
  outputs: [TASK_TYPE.RUNTIME],
  pod_name: [TASK_TYPE.RUNTIME],
  pod_uid: [TASK_TYPE.RUNTIME],
};

export function isPropInColumns(prop: string, taskType: number): boolean {
  return EXECUTION_PROPS_IN_COLUMNS[prop]?.includes(taskType) ?? false;
}

// ------------------------------------------------------------------ cache keys (kfp-facts.md §B.2, §B.4)

/**
 * What one driver release puts into the CacheKey it hashes. The material is the same for all
 * (cache-material.ts); these rules say how it becomes a key.
 */
export interface CacheKeyRules {
  name: string;
  doc: string;
  /** What stands for an input artifact: its MLMD id as a decimal string, or its KFP artifacts.UUID. */
  inputArtifacts: 'mlmd-id' | 'kfp-uuid';
  /** Output artifact specs carry `name` = the output key (provisionOutputs names them since Pythonic artifacts). */
  outputArtifactNames: boolean;
  /** The mounted PVC names and the run's workspace PVC are in `containerSpec.pvcNames`. */
  pvcNames: boolean;
  /** `__kfp_pipeline_name=<pipelineInfo.name>` is appended to `cmdArgs`. */
  pipelineNameArg: boolean;
  /** Kubernetes platform ops (createpvc/deletepvc) have their outputs provisioned before they are keyed. */
  k8sOpOutputs: boolean;
}

/**
 * KFP 2.x, oldest first. A stored fingerprint does not say which release wrote it, so the
 * self-check tries each (a sha256 match cannot be a coincidence). PVC names and output names came
 * with the same release, 2.15 (#12220 and #12256).
 */
export const KFP2_CACHE_KEY_RULES: readonly CacheKeyRules[] = [
  {
    name: 'kfp-2.0',
    doc: 'KFP 2.0–2.14: input artifacts by MLMD id, unnamed output specs, no PVC names',
    inputArtifacts: 'mlmd-id',
    outputArtifactNames: false,
    pvcNames: false,
    pipelineNameArg: false,
    k8sOpOutputs: true,
  },
  {
    name: 'kfp-2.15',
    doc: 'KFP 2.15 to master: output specs named by their key, mounted and workspace PVC names',
    inputArtifacts: 'mlmd-id',
    outputArtifactNames: true,
    pvcNames: true,
    pipelineNameArg: false,
    k8sOpOutputs: true,
  },
];

/** KFP 3 (PR #13986): artifact UUIDs, the pipeline name folded into the command, and k8s ops keyed before their outputs exist. */
export const KFP3_CACHE_KEY_RULES: CacheKeyRules = {
  name: 'kfp-3',
  doc: 'KFP 3: input artifacts by KFP artifact UUID, __kfp_pipeline_name in cmdArgs, k8s ops without outputs',
  inputArtifacts: 'kfp-uuid',
  outputArtifactNames: true,
  pvcNames: true,
  pipelineNameArg: true,
  k8sOpOutputs: false,
};

/** The images a driver recognises as Kubernetes platform ops: no launcher, no executor logs, no PVC names in their key. */
export const K8S_OP_IMAGES: ReadonlySet<string> = new Set(['argostub/createpvc', 'argostub/deletepvc']);

/** The output a driver adds when log publishing is on (`PUBLISH_LOGS`, default true). */
export const EXECUTOR_LOGS_OUTPUT = { key: 'executor-logs', type: { schemaTitle: 'system.Artifact' } } as const;

/** Where a task's workspace lives: `<run name>-kfp-workspace`, mounted when an input is a workspace path or a workspace-imported artifact. */
export const WORKSPACE = { pvcSuffix: '-kfp-workspace', pathPlaceholder: '{{$.workspace_path}}', mountPath: '/kfp-workspace', metadataFlag: '_kfp_workspace' } as const;

/**
 * Why a stored KFP 2.x fingerprint could not be recomputed (plan and verify count by these; the
 * FINGERPRINT_NOT_REPRODUCED reject names one). Checked in this order: the first that applies is given.
 */
export const FINGERPRINT_MISS_REASONS = {
  NO_SPEC: 'the run has no readable pipeline spec (run_details.PipelineSpecManifest)',
  TASK_NOT_IN_SPEC: "the execution's task key is not a task of its DAG in the spec",
  EXECUTOR_NOT_FOUND: "the task's component has no container executor in deploymentSpec",
  INPUTS_UNREADABLE: 'the execution has no readable `inputs` property',
  MISSING_INPUT_EVENT: 'an input artifact the task spec wires has no INPUT event',
  PVC_UNRESOLVED: 'the name of a mounted PVC cannot be resolved from the run (its constant, parent input or producer output)',
  NOT_ENCODABLE: 'a value protojson refuses (NaN, Infinity, a string that is not UTF-8): no driver could have hashed it',
  KEY_DIFFERS: 'everything was found, but no KFP 2.x rule gives the stored fingerprint (the spec, image or command differ from what the driver saw)',
} as const;
export type FingerprintMissReason = keyof typeof FINGERPRINT_MISS_REASONS;

/** Why a reproduced fingerprint still has no KFP 3 key (FINGERPRINT_NO_KFP3_KEY). */
export const KFP3_KEY_MISS_REASONS = {
  INPUT_ARTIFACT_NOT_MIGRATED: 'an input artifact has no artifacts row in the run namespace (it was skipped), so it has no KFP artifact UUID',
} as const;
export type Kfp3KeyMissReason = keyof typeof KFP3_KEY_MISS_REASONS;
