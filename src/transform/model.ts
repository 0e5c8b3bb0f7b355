import type { FingerprintTally } from './fingerprints.ts';

/**
 * The records that cross the extract → transform → load boundary, as plain data.
 * MLMD side: what `extract` reads for one run. KFP side: the rows `load` writes, JSON columns
 * already rendered as text so that re-running a migration writes byte-identical rows.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One MLMD property value, decoded from its row (mlmd-source.md §1.3). */
export type MlmdValue =
  | { kind: 'int'; value: number }
  | { kind: 'double'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'struct'; value: JsonObject }
  | { kind: 'bool'; value: boolean }
  | { kind: 'proto'; typeUrl: string; base64: string }
  /** A value that could not be decoded (e.g. a broken `mlmd-struct::` payload); `raw` is the column text. */
  | { kind: 'corrupt'; raw: string; reason: string };

export type Props = Record<string, MlmdValue>;

/** A KFP row whose JSON column could not be read, found by the reverse mapping (which then shows the row without it). */
export interface CorruptColumn {
  table: 'artifacts';
  /** The row's UUID. */
  uuid: string;
  column: 'Metadata';
  /** The MLMD id the row is shown under, once known. */
  mlmdId: number | null;
  problem: string;
}

export const EXECUTION_STATE = { UNKNOWN: 0, NEW: 1, RUNNING: 2, COMPLETE: 3, FAILED: 4, CACHED: 5, CANCELED: 6 } as const;
export const EVENT_TYPE = {
  UNKNOWN: 0,
  DECLARED_OUTPUT: 1,
  DECLARED_INPUT: 2,
  INPUT: 3,
  OUTPUT: 4,
  INTERNAL_INPUT: 5,
  INTERNAL_OUTPUT: 6,
  PENDING_OUTPUT: 7,
} as const;

export interface MlmdType {
  id: number;
  name: string;
  /** 0 execution, 1 artifact, 2 context (`Type.type_kind`). */
  typeKind: number;
  version: string | null;
}

export interface MlmdExecution {
  id: number;
  typeId: number;
  /** Type name, e.g. `system.ContainerExecution`; `null` when the type row is missing. */
  type: string | null;
  name: string | null;
  lastKnownState: number | null;
  createMs: number;
  updateMs: number;
  externalId: string | null;
  properties: Props;
  customProperties: Props;
}

export interface MlmdArtifact {
  id: number;
  typeId: number;
  type: string | null;
  uri: string | null;
  state: number | null;
  name: string | null;
  createMs: number;
  updateMs: number;
  externalId: string | null;
  properties: Props;
  customProperties: Props;
}

export type PathStep = { key: string } | { index: number };

export interface MlmdEvent {
  /** `Event.id`: not on the wire, but the stable key of an event inside the database. */
  id: number;
  artifactId: number;
  executionId: number;
  type: number;
  ms: number | null;
  path: PathStep[];
}

export interface MlmdContext {
  id: number;
  typeId: number;
  type: string | null;
  name: string;
  createMs: number;
  updateMs: number;
  externalId: string | null;
  properties: Props;
  customProperties: Props;
}

/** The KFP 2.x `run_details` row of a run (plus its experiment's namespace), read from the KFP database. */
export interface KfpRunDetails {
  uuid: string;
  displayName: string;
  /** The Kubernetes (Argo workflow) name. */
  name: string;
  namespace: string;
  experimentUuid: string;
  /** `experiments.Namespace` of `experimentUuid`, when that row exists. */
  experimentNamespace: string | null;
  /** Run state text: PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, CANCELING, CANCELED, PAUSED, … */
  state: string | null;
  createdAtInSec: number;
  finishedAtInSec: number;
  pipelineName: string | null;
  /** The compiled pipeline spec YAML (may hold several documents). */
  pipelineSpecManifest: string | null;
  pipelineRoot: string | null;
}

/** Where an artifact first came from, over the whole database (its earliest OUTPUT event). */
export interface ArtifactOrigin {
  executionId: number;
  executionType: string | null;
  /** The first path step's key of that OUTPUT event. */
  key: string | null;
}

/** Everything `transform` needs to map one KFP run. */
export interface RunBundle {
  runContext: MlmdContext;
  pipelineContext: MlmdContext | null;
  /** `null` when no `run_details` row has the context's name: an orphan run. */
  runDetails: KfpRunDetails | null;
  /** Executions associated with the run context, ascending by id. */
  executions: MlmdExecution[];
  /** Every event of those executions, ascending by id. */
  events: MlmdEvent[];
  /** Every artifact those events name and that exists, ascending by id. */
  artifacts: MlmdArtifact[];
  /** Keyed by artifact id, for the artifacts above. */
  artifactOrigins: Record<number, ArtifactOrigin>;
  /** Execution ids the run context is associated with but that do not exist (MLMD has no foreign keys). */
  danglingExecutionIds?: number[];
}

// ---------------------------------------------------------------- KFP 3 rows (kfp-facts.md §C.1–C.3)

export interface TaskRow {
  UUID: string;
  Namespace: string;
  RunUUID: string;
  pods: string;
  CreatedAtInSec: number;
  StartedInSec: number;
  FinishedInSec: number;
  Fingerprint: string;
  Name: string | null;
  DisplayName: string | null;
  ParentTaskUUID: string | null;
  State: number;
  StatusMetadata: string | null;
  StateHistory: string | null;
  InputParameters: string | null;
  OutputParameters: string | null;
  Type: number;
  TypeAttrs: string;
  ScopePath: string | null;
  LogicalKey: string | null;
}

export interface ArtifactRow {
  UUID: string;
  Namespace: string;
  Type: number | null;
  URI: string | null;
  URIHash: string | null;
  Name: string | null;
  Description: string | null;
  CreatedAtInSec: number;
  LastUpdateInSec: number;
  Metadata: string | null;
  NumberValue: number | null;
  IdentityKey: string | null;
}

export interface ArtifactTaskRow {
  UUID: string;
  ArtifactID: string;
  TaskID: string;
  Type: number;
  Iteration: number;
  RunUUID: string;
  Producer: string | null;
  ArtifactKey: string;
}

/** What `mlmd_id_map` records: which KFP row stands for which MLMD record (design.md §3). */
export type IdKind = 'execution' | 'synthetic_root' | 'iteration' | 'artifact' | 'run_context' | 'pipeline_context' | 'type';

export interface IdMapRow {
  kind: IdKind;
  mlmdId: number;
  kfpUuid: string;
  runUuid: string | null;
  /** JSON text with what the reverse mapping needs and no KFP column holds (e.g. an iteration's state and times). */
  extra: string | null;
}

// ---------------------------------------------------------------- rejects

export type Disposition = 'skipped' | 'degraded' | 'adjusted';
export type RejectEntity = 'run' | 'context' | 'execution' | 'artifact' | 'event' | 'property';

export interface Reject {
  code: string;
  disposition: Disposition;
  entity: RejectEntity;
  mlmdId: number;
  runUuid: string | null;
  reason: string;
}

/** The result of mapping one run. */
export interface RunMigration {
  runUuid: string;
  contextId: number;
  namespace: string;
  tasks: TaskRow[];
  artifacts: ArtifactRow[];
  links: ArtifactTaskRow[];
  idMap: IdMapRow[];
  rejects: Reject[];
  /** The self-check of the run's stored fingerprints (fingerprints.ts `FingerprintTally`); absent when nothing was recomputed. */
  fingerprints?: FingerprintTally;
}
