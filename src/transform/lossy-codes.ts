/**
 * The differences the forward + reverse round trip cannot avoid (design.md §1). `verify` compares
 * reverse(KFP rows) with the source MLMD records; a difference that matches one of these rules is
 * a documented loss, anything else is drift.
 *
 * Each rule recognises the exact shape of its loss (e.g. a time that is the source time floored to
 * whole seconds), not merely the field, so a wrong value in the same field is still drift.
 * Rules are checked in order; the first that applies names the difference.
 */
import type { KfpRunDetails, MlmdArtifact, MlmdContext, MlmdEvent, MlmdExecution, MlmdValue } from './model.ts';
import { FINISHED_RUN_STATES, LIMITS } from './rules.ts';
import { artifactMetadataValue, canonicalEqual, finiteJson, nonFinitePaths } from './values.ts';

export const LOSSY_CODES = {
  REJECTED: { doc: 'the record was skipped by the forward mapping and is listed in the rejects, whose code says why (e.g. URI_TOO_LONG, UNKNOWN_EXECUTION_TYPE)' },
  TIMESTAMP_SECONDS: { doc: 'KFP 3 keeps artifact times in whole seconds (CreatedAtInSec, LastUpdateInSec); they come back as seconds × 1000' },
  UPDATE_TIME_NOT_KEPT: { doc: 'a task that has not finished keeps no last-update time (its StateHistory holds only the RUNNING entry); its create time is shown' },
  ROOT_STATE_FROM_RUN: { doc: 'the ROOT task takes its state and finish time from run_details, because the MLMD root DAG stays RUNNING forever' },
  RUNNING_IN_FINISHED_RUN: { doc: 'an execution still RUNNING (or NEW) when its run had finished was migrated as FAILED (containers) or with the state recomputed from its children (DAGs)' },
  NEW_AS_RUNNING: { doc: 'MLMD NEW has no KFP 3 state; it is RUNNING after the round trip (KFP 2.x never writes NEW)' },
  NULL_STATE_AS_UNKNOWN: { doc: 'an execution without last_known_state is RUNTIME_STATE_UNSPECIFIED in KFP 3 and comes back as UNKNOWN (0)' },
  ROOT_NAME_SYNTHESIZED: { doc: 'a root DAG found by its shape (no parent, empty task_name) rather than its name gets the name run/<uuid> KFP gives every root' },
  ROOT_SYNTHESIZED: { doc: 'a run without a root DAG execution got a ROOT task synthesized from run_details (reject NO_ROOT); it shows as an extra execution' },
  DANGLING_PARENT: { doc: 'an execution whose parent_dag_id was missing or pointed outside the run was attached to the ROOT (reject DANGLING_PARENT)' },
  TASK_PROPS_SYNTHESIZED: { doc: 'task_name or display_name missing on the source execution comes back from the task Name / DisplayName' },
  POD_PROPS_NORMALISED: { doc: 'container pod_name / pod_uid / namespace always come back ("" when no pod ran; the task namespace when one did), as KFP 2.x writes them; an absent or differently empty source value is not kept' },
  EMPTY_PARAMETERS_DROPPED: { doc: 'an empty inputs / outputs struct yields no IOParameter, so the property is absent after the round trip' },
  PROPERTY_KIND_NORMALISED: { doc: 'a KFP execution property stored with an unexpected value kind (e.g. parent_dag_id as a string or double) is read by value and comes back with the kind KFP writes' },
  EXTERNAL_ID_DROPPED: { doc: 'external_id (never set by KFP) has no column in the KFP 3 tables' },
  METRICS_URI_DROPPED: { doc: 'metrics artifacts (system.Metrics split into Type 6 rows, ClassificationMetrics, SlicedClassificationMetrics) have URI NULL as the KFP 3 launcher writes them; the MLMD URI (a placeholder) is lost' },
  STORE_SESSION_INFO_DROPPED: { doc: 'KFP 3 stores no store_session_info (it derives it from the kfp-launcher config); it is absent, or the configured value, after the round trip' },
  ARTIFACT_DISPLAY_NAME_FROM_NAME: { doc: 'an artifact display_name comes back from the row Name: the URI basename for importer outputs without one, the output key for split metrics, the fallback key when it was empty' },
  NAME_TRUNCATED: { doc: 'an artifact display_name longer than artifacts.Name (128 characters) comes back truncated' },
  ARTIFACT_NAME_DROPPED: { doc: 'Artifact.name (never set by KFP) has no column' },
  ARTIFACT_STATE_LIVE: { doc: 'KFP 3 artifacts have no state; every artifact comes back LIVE, the only state KFP 2.x writes' },
  DECLARED_PROPERTIES_AS_CUSTOM: { doc: 'declared artifact properties (KFP declares none) were merged into Metadata and come back as custom properties' },
  INT_AS_DOUBLE: { doc: 'an artifact int other than 0/1 is a JSON number in Metadata and comes back as a double (KFP 2.x writes ints on artifacts only for booleans)' },
  BOOL_AS_INT: { doc: 'an artifact bool_value (KFP never writes one) comes back as the int 1/0 KFP uses for booleans' },
  STRUCT_WRAPPER_NORMALISED: { doc: 'Metadata holds struct values without their {"list":…} / {"struct":…} wrapper; arrays come back as list and objects as struct, so a struct without (or with a mismatched) wrapper comes back re-wrapped, and a wrapped null is dropped' },
  PROTO_AS_STRUCT: { doc: 'an artifact proto_value (never written by KFP) is kept as an {"@type","value"} object and comes back as a struct' },
  CORRUPT_AS_STRING: { doc: 'an undecodable artifact value (reject CORRUPT_PROPERTY) was kept as its raw text and comes back as a string' },
  NON_FINITE_AS_TEXT: { doc: 'a NaN or infinite number inside a struct (reject NON_FINITE_NUMBER) was written as the string "NaN" / "Infinity" / "-Infinity" and comes back as that string (a double property comes back as the double)' },
  DOUBLE_PRECISION: { doc: 'a double read back through a database text form differs in its last digits (SQLite keeps about 15 significant digits)' },
  EVENT_TIME_APPROXIMATED: { doc: 'KFP 3 links have no time: INPUT events show the task create time, OUTPUT events the artifact create time' },
  EVENT_PATH_FIRST_KEY: { doc: 'a link keeps only the first key step of an event path (ArtifactKey); index steps and further keys are lost' },
  EVENT_TYPE_COERCED: { doc: 'an event of a type KFP never writes (DECLARED_*, INTERNAL_*, PENDING_OUTPUT) was mapped by its direction and comes back as INPUT or OUTPUT (reject EVENT_TYPE_COERCED)' },
  CONTEXT_TIMES_APPROXIMATED: { doc: 'context times are not kept: the run context shows the run creation time, the shared pipeline context 0' },
  PIPELINE_ROOT_RECOMPUTED: { doc: 'pipeline_root is rebuilt from run_details.PipelineRoot as KFP does (<root>/<pipeline>/<run>); a run that used the launcher default root has an empty column and none can be rebuilt' },
} as const satisfies Record<string, { doc: string }>;

export type LossyCode = keyof typeof LOSSY_CODES;

export type DifferenceEntity = 'execution' | 'artifact' | 'event' | 'context' | 'association' | 'attribution' | 'parent_context' | 'type';

/** What a rule may look at besides the two values. */
export interface DifferenceContext {
  entity: DifferenceEntity;
  source?: MlmdExecution | MlmdArtifact | MlmdEvent | MlmdContext;
  reversed?: MlmdExecution | MlmdArtifact | MlmdEvent | MlmdContext;
  run: KfpRunDetails | null;
  /** The id of the reversed view's root execution. */
  rootExecutionId: number | null;
  /** Ids of the source executions of the run. */
  runExecutionIds: ReadonlySet<number>;
  /** `<entity>:<mlmdId>` of every record the forward mapping skipped (disposition `skipped`). */
  rejected: ReadonlySet<string>;
}

interface Rule {
  code: LossyCode;
  applies: (field: string, expected: unknown, found: unknown, ctx: DifferenceContext) => boolean;
}

// ------------------------------------------------------------------ helpers

const isValue = (v: unknown): v is MlmdValue => typeof v === 'object' && v !== null && 'kind' in v;
const custom = (field: string, ...keys: string[]) => keys.some((k) => field === `customProperties.${k}`);
const valueOf = (v: unknown): unknown => (isValue(v) ? ('value' in v ? v.value : v.kind === 'corrupt' ? v.raw : v.base64) : undefined);
const isExec = (ctx: DifferenceContext) => ctx.entity === 'execution';
const isArtifact = (ctx: DifferenceContext) => ctx.entity === 'artifact';
const reversedType = (ctx: DifferenceContext): string | null => {
  const t = ctx.reversed && 'type' in ctx.reversed ? ctx.reversed.type : null;
  return typeof t === 'string' ? t : null;
};
const METRIC_TYPES: ReadonlySet<string> = new Set(['system.Metrics', 'system.ClassificationMetrics', 'system.SlicedClassificationMetrics']);
const COLUMN_PROPS = ['task_name', 'display_name', 'parent_dag_id', 'iteration_index', 'iteration_count', 'pod_name', 'pod_uid', 'namespace', 'cache_fingerprint'];

/** JSON with sorted keys: the equality every comparison here uses. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  if (typeof v === 'number' && Object.is(v, -0)) return '0';
  return JSON.stringify(v) ?? 'undefined';
}

/** Equal up to the last digits of every number (DOUBLE_PRECISION); structure and strings must match. */
function nearlyEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => nearlyEqual(x, b[i]));
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return canonicalEqual(ka, kb) && ka.every((k) => nearlyEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

const floorToSecondMs = (ms: unknown) => (typeof ms === 'number' ? Math.floor(ms / 1000) * 1000 : NaN);
const isTime = (field: string) => field === 'createMs' || field === 'updateMs';

/** An artifact custom property as KFP 3 Metadata stores it: the comparison point of every value-normalisation rule. */
const asMetadata = (v: unknown) => (isValue(v) ? canonicalJson(artifactMetadataValue(v)) : undefined);

// ------------------------------------------------------------------ the rules

export const LOSSY_RULES: readonly Rule[] = [
  {
    code: 'REJECTED',
    applies: (field, expected, found, ctx) => {
      if ((field !== 'present' && !field.startsWith('context:')) || expected !== true || found !== false) return false;
      const s = ctx.source;
      if (!s) return false;
      // Associations and attributions go with the execution or artifact they name.
      const subject = ctx.entity === 'association' ? 'execution' : ctx.entity === 'attribution' ? 'artifact' : ctx.entity;
      if (ctx.rejected.has(`${subject}:${'id' in s ? s.id : -1}`)) return true;
      // An event (or link) goes with the execution or artifact it names.
      return ctx.entity === 'event' && 'artifactId' in s && (ctx.rejected.has(`artifact:${s.artifactId}`) || ctx.rejected.has(`execution:${s.executionId}`) || ctx.rejected.has(`event:${s.id}`));
    },
  },
  {
    code: 'ROOT_SYNTHESIZED',
    applies: (field, expected, found, ctx) => isExec(ctx) && field === 'present' && expected === false && found === true && ctx.reversed?.id === ctx.rootExecutionId,
  },
  {
    code: 'ROOT_STATE_FROM_RUN',
    applies: (field, _e, _f, ctx) => isExec(ctx) && ctx.source?.id === ctx.rootExecutionId && (field === 'lastKnownState' || field === 'updateMs'),
  },
  {
    code: 'RUNNING_IN_FINISHED_RUN',
    applies: (field, expected, found, ctx) =>
      isExec(ctx) && field === 'lastKnownState' && (expected === 1 || expected === 2) && FINISHED_RUN_STATES.has(ctx.run?.state ?? '') && [3, 4, 5, 6].includes(found as number),
  },
  { code: 'NEW_AS_RUNNING', applies: (field, expected, found, ctx) => isExec(ctx) && field === 'lastKnownState' && expected === 1 && found === 2 },
  { code: 'NULL_STATE_AS_UNKNOWN', applies: (field, expected, found, ctx) => isExec(ctx) && field === 'lastKnownState' && expected === null && found === 0 },
  {
    code: 'UPDATE_TIME_NOT_KEPT',
    applies: (field, _e, found, ctx) => {
      const r = ctx.reversed as MlmdExecution | undefined;
      return isExec(ctx) && field === 'updateMs' && !!r && (r.lastKnownState === 0 || r.lastKnownState === 2 || r.lastKnownState === null) && found === r.createMs;
    },
  },
  {
    code: 'ROOT_NAME_SYNTHESIZED',
    applies: (field, expected, found, ctx) => isExec(ctx) && field === 'name' && expected === null && found === `run/${ctx.run?.uuid ?? ''}`,
  },
  {
    code: 'DANGLING_PARENT',
    applies: (field, expected, found, ctx) => {
      if (!isExec(ctx) || field !== 'customProperties.parent_dag_id' || valueOf(found) !== ctx.rootExecutionId) return false;
      const p = Number(valueOf(expected));
      return expected === undefined || !Number.isInteger(p) || !ctx.runExecutionIds.has(p) || p === ctx.source?.id;
    },
  },
  { code: 'TASK_PROPS_SYNTHESIZED', applies: (field, expected, found, ctx) => isExec(ctx) && custom(field, 'task_name', 'display_name') && expected === undefined && isValue(found) },
  {
    code: 'POD_PROPS_NORMALISED',
    applies: (field, expected, found, ctx) => {
      if (!isExec(ctx) || !custom(field, 'pod_name', 'pod_uid', 'namespace') || !isValue(found) || found.kind !== 'string') return false;
      if (expected === undefined) return true;
      return isValue(expected) && expected.kind === 'string' && (expected.value === '' || (field === 'customProperties.namespace' && found.value === ''));
    },
  },
  {
    code: 'EMPTY_PARAMETERS_DROPPED',
    applies: (field, expected, found, ctx) =>
      isExec(ctx) && custom(field, 'inputs', 'outputs') && found === undefined && isValue(expected) && expected.kind === 'struct' && Object.keys(expected.value).length === 0,
  },
  {
    code: 'PROPERTY_KIND_NORMALISED',
    applies: (field, expected, found, ctx) =>
      isExec(ctx) && custom(field, ...COLUMN_PROPS) && isValue(expected) && isValue(found) && expected.kind !== found.kind && String(valueOf(expected)) === String(valueOf(found)),
  },
  { code: 'EXTERNAL_ID_DROPPED', applies: (field, expected, found) => field === 'externalId' && expected !== null && found === null },
  {
    code: 'METRICS_URI_DROPPED',
    applies: (field, _e, found, ctx) => isArtifact(ctx) && field === 'uri' && found === null && METRIC_TYPES.has(reversedType(ctx) ?? ''),
  },
  { code: 'TIMESTAMP_SECONDS', applies: (field, expected, found, ctx) => (isArtifact(ctx) || isExec(ctx)) && isTime(field) && found === floorToSecondMs(expected) },
  { code: 'CONTEXT_TIMES_APPROXIMATED', applies: (field, _e, _f, ctx) => ctx.entity === 'context' && isTime(field) },
  { code: 'PIPELINE_ROOT_RECOMPUTED', applies: (field, _e, _f, ctx) => ctx.entity === 'context' && field === 'customProperties.pipeline_root' },
  {
    code: 'STORE_SESSION_INFO_DROPPED',
    applies: (field, expected, _f, ctx) => (isArtifact(ctx) || ctx.entity === 'context') && field === 'customProperties.store_session_info' && expected !== undefined,
  },
  {
    code: 'NAME_TRUNCATED',
    applies: (field, expected, found, ctx) =>
      isArtifact(ctx) && field === 'customProperties.display_name' && typeof valueOf(expected) === 'string' && typeof valueOf(found) === 'string' &&
      [...(valueOf(expected) as string)].length > LIMITS.artifactName && [...(valueOf(expected) as string)].slice(0, LIMITS.artifactName).join('') === valueOf(found),
  },
  {
    code: 'ARTIFACT_DISPLAY_NAME_FROM_NAME',
    applies: (field, expected, found, ctx) =>
      isArtifact(ctx) && field === 'customProperties.display_name' && isValue(found) &&
      (expected === undefined || valueOf(expected) === '' || reversedType(ctx) === 'system.Metrics'),
  },
  { code: 'ARTIFACT_NAME_DROPPED', applies: (field, expected, found, ctx) => isArtifact(ctx) && field === 'name' && expected !== null && found === null },
  { code: 'ARTIFACT_STATE_LIVE', applies: (field, expected, found, ctx) => isArtifact(ctx) && field === 'state' && expected !== 2 && found === 2 },
  {
    code: 'DECLARED_PROPERTIES_AS_CUSTOM',
    applies: (field, expected, found, ctx) => {
      if (!isArtifact(ctx)) return false;
      if (field.startsWith('properties.')) return expected !== undefined && found === undefined;
      const source = ctx.source as MlmdArtifact | undefined;
      const key = field.slice('customProperties.'.length);
      return field.startsWith('customProperties.') && expected === undefined && !!source && key in source.properties && asMetadata(found) === asMetadata(source.properties[key]);
    },
  },
  {
    code: 'INT_AS_DOUBLE',
    applies: (field, expected, found, ctx) => isArtifact(ctx) && isValue(expected) && isValue(found) && expected.kind === 'int' && found.kind === 'double' && expected.value === found.value && field.startsWith('customProperties.'),
  },
  {
    code: 'BOOL_AS_INT',
    applies: (field, expected, found, ctx) => isArtifact(ctx) && field.startsWith('customProperties.') && isValue(expected) && isValue(found) && expected.kind === 'bool' && found.kind === 'int' && found.value === (expected.value ? 1 : 0),
  },
  {
    code: 'PROTO_AS_STRUCT',
    applies: (field, expected, found, ctx) => isArtifact(ctx) && field.startsWith('customProperties.') && isValue(expected) && expected.kind === 'proto' && asMetadata(expected) === asMetadata(found),
  },
  {
    code: 'CORRUPT_AS_STRING',
    applies: (field, expected, found, ctx) => isArtifact(ctx) && field.startsWith('customProperties.') && isValue(expected) && expected.kind === 'corrupt' && isValue(found) && found.kind === 'string' && found.value === expected.raw,
  },
  {
    code: 'NON_FINITE_AS_TEXT',
    applies: (_field, expected, found) =>
      isValue(expected) && isValue(found) && expected.kind === 'struct' && found.kind === 'struct' && nonFinitePaths(expected).length > 0 &&
      canonicalEqual(finiteJson(expected.value), found.value),
  },
  {
    code: 'STRUCT_WRAPPER_NORMALISED',
    applies: (field, expected, found, ctx) => {
      if (!isArtifact(ctx) || !field.startsWith('customProperties.') || !isValue(expected) || expected.kind !== 'struct') return false;
      if (found === undefined) return artifactMetadataValue(expected) === null;
      return asMetadata(expected) === asMetadata(found);
    },
  },
  {
    code: 'DOUBLE_PRECISION',
    applies: (_field, expected, found) => {
      if (isValue(expected) && isValue(found)) return expected.kind === found.kind && nearlyEqual(valueOf(expected), valueOf(found));
      return typeof expected === 'number' && typeof found === 'number' && nearlyEqual(expected, found);
    },
  },
  { code: 'EVENT_TIME_APPROXIMATED', applies: (field, _e, _f, ctx) => ctx.entity === 'event' && field === 'ms' },
  {
    code: 'EVENT_PATH_FIRST_KEY',
    applies: (field, expected, found, ctx) => {
      if (ctx.entity !== 'event' || field !== 'path' || !Array.isArray(expected)) return false;
      const first = (expected as MlmdEvent['path']).find((s) => 'key' in s);
      return canonicalJson(found) === canonicalJson(first ? [first] : []);
    },
  },
  {
    code: 'EVENT_TYPE_COERCED',
    applies: (field, expected, found, ctx) => {
      if (ctx.entity !== 'event') return false;
      const coercedToInput = [2, 5].includes(expected as number) && found === 3;
      const coercedToOutput = [1, 6, 7].includes(expected as number) && found === 4;
      if (field === 'type') return coercedToInput || coercedToOutput;
      // Two source events folded into one link: the coerced one has no event of its own any more.
      const s = ctx.source as MlmdEvent | undefined;
      return field === 'present' && expected === true && found === false && !!s && ![3, 4].includes(s.type);
    },
  },
];

/** The documented loss a difference is, or `null` when it is drift. */
export function classifyDifference(field: string, expected: unknown, found: unknown, ctx: DifferenceContext): LossyCode | null {
  return LOSSY_RULES.find((r) => r.applies(field, expected, found, ctx))?.code ?? null;
}
