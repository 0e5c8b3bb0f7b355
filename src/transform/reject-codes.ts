import type { Disposition } from './model.ts';

/**
 * Every reason a record is skipped, degraded or adjusted, with its meaning. The rejects file, the
 * summary and the table of docs/mapping.md (test/docs.test.ts holds them equal) all read this list.
 *  - skipped: the record is not migrated;
 *  - degraded: migrated, but part of it was bad input and was repaired (the reason says how);
 *  - adjusted: migrated by a documented mapping rule that changes what the row says (not bad input).
 */
export const REJECT_CODES = {
  RUN_FAILED: { disposition: 'skipped', doc: 'the run could not be mapped or written (the reason holds the error, e.g. a value the KFP database refuses); nothing of it was written and the next migrate tries it again' },
  ORPHAN_RUN: { disposition: 'skipped', doc: 'run context with no run_details row (a deleted run); its executions and events are not migrated' },
  NON_KFP_CONTEXT: { disposition: 'skipped', doc: 'context of a non-KFP-v2 type (TFX pipeline_run, KFP v1 KfpRun, …); served from the archive by the shim' },
  NON_KFP_EXECUTION: { disposition: 'skipped', doc: 'execution associated with no KFP v2 run (TFX, KFP v1); served from the archive by the shim' },
  UNKNOWN_EXECUTION_TYPE: { disposition: 'skipped', doc: 'execution in a KFP run whose type is not one KFP 2.x writes' },
  MISSING_ARTIFACT: { disposition: 'skipped', doc: 'event naming an artifact that does not exist; the link is not migrated' },
  MISSING_EXECUTION: { disposition: 'skipped', doc: 'event or association naming an execution that does not exist' },
  URI_TOO_LONG: { disposition: 'skipped', doc: 'artifact URI longer than 2048 characters (artifacts.URI); the artifact and its links are not migrated' },
  KEY_TOO_LONG: { disposition: 'skipped', doc: 'event path key longer than 191 characters (artifact_tasks.ArtifactKey); the link is not migrated' },
  UNKNOWN_EVENT_TYPE: { disposition: 'skipped', doc: 'event of type UNKNOWN; no direction to map' },
  CORRUPT_PROPERTY: { disposition: 'degraded', doc: 'undecodable property value (e.g. a broken mlmd-struct:: payload); kept as its raw text' },
  DANGLING_PARENT: { disposition: 'degraded', doc: 'parent_dag_id missing or pointing outside the run; the task is attached to the run ROOT' },
  NO_ROOT: { disposition: 'degraded', doc: 'run without a root DAG execution; a ROOT task is synthesized from run_details' },
  TRUNCATED_STRING: { disposition: 'degraded', doc: 'name or display name longer than its column; truncated (the full text is kept in provenance)' },
  EVENT_TYPE_COERCED: { disposition: 'degraded', doc: 'event of a type KFP never writes (DECLARED_*, INTERNAL_*, PENDING_OUTPUT); mapped by its direction' },
  NON_NUMERIC_METRIC: { disposition: 'degraded', doc: 'system.Metrics entry that is not a number; kept on a Type 1 sidecar row' },
  NON_FINITE_NUMBER: {
    disposition: 'degraded',
    doc: 'property holding NaN, Infinity or -Infinity (a double, or a number inside a struct), which no KFP 3 JSON column can hold; written as the string "NaN" / "Infinity" / "-Infinity" (a system.Metrics entry on the Type 1 sidecar row); a double comes back as the double to legacy clients',
  },
  EMPTY_METRICS: { disposition: 'degraded', doc: 'system.Metrics artifact with no entries; kept as one Type 1 row so its links survive' },
  SPEC_UNREADABLE: {
    disposition: 'adjusted',
    doc: "the run's pipeline spec (run_details.PipelineSpecManifest, or its pipeline version's) is not readable YAML/JSON or holds no PipelineSpec; the run is mapped without it, as a run with no spec: task_name is the key, inputs come from the parent DAG or a sibling that produced them, no executor images",
  },
  KEY_UNRESOLVED: { disposition: 'adjusted', doc: 'task_name matched no task key of the pipeline spec; the raw task_name is used as Name' },
  KEY_AMBIGUOUS: {
    disposition: 'adjusted',
    doc: 'task_name (a display name, as KFP before 2.14 wrote it) fits several tasks of the DAG and nothing the executions recorded tells them apart; the tasks are paired with those executions in id order',
  },
  RUNNING_IN_FINISHED_RUN: { disposition: 'adjusted', doc: 'execution still RUNNING when its run had finished: containers become FAILED with a message, DAGs are recomputed from their children' },
  DUPLICATE_TASK: { disposition: 'adjusted', doc: 'retried execution with the same run, parent, key and iteration as a newer one; migrated with LogicalKey NULL' },
  FINGERPRINT_NOT_REPRODUCED: {
    disposition: 'adjusted',
    doc: 'SUCCEEDED container whose stored KFP 2.x cache_fingerprint could not be recomputed from its records (the reason starts with why: NO_SPEC, TASK_NOT_IN_SPEC, EXECUTOR_NOT_FOUND, INPUTS_UNREADABLE, MISSING_INPUT_EVENT, PVC_UNRESOLVED, NOT_ENCODABLE, KEY_DIFFERS); tasks.Fingerprint keeps the MLMD value, so the task serves no KFP 3 cache hit',
  },
  FINGERPRINT_NO_KFP3_KEY: {
    disposition: 'adjusted',
    doc: 'SUCCEEDED container whose KFP 2.x fingerprint reproduced, but whose KFP 3 key needs an input artifact this migration skipped (INPUT_ARTIFACT_NOT_MIGRATED); tasks.Fingerprint keeps the MLMD value',
  },
  IDENTITY_KEY_SHARED: {
    disposition: 'adjusted',
    doc: 'imported artifact KFP 3 cannot tell from another in its namespace (same type, URI, name and metadata): only one row may hold the IdentityKey a reimport=false importer looks for — the oldest migrated one, or the one KFP 3 created — and this one is migrated without it',
  },
} as const satisfies Record<string, { disposition: Disposition; doc: string }>;

export type RejectCode = keyof typeof REJECT_CODES;
