/**
 * Records → MLMD proto messages, as plain objects for @grpc/proto-loader (keepCase, int64 as
 * decimal strings, enums by name). proto2 presence is kept: a NULL column leaves its field
 * absent, which clients can tell apart from a zero value (unset `state` is not UNKNOWN).
 */
import type { JsonObject, JsonValue, MlmdArtifact, MlmdContext, MlmdEvent, MlmdExecution, MlmdValue, Props } from '../transform/model.ts';
import type { ContextLink, NodeKind, ParentLink, TypeRecord } from './backend.ts';

export type Message = Record<string, unknown>;

const ARTIFACT_STATE = ['UNKNOWN', 'PENDING', 'LIVE', 'MARKED_FOR_DELETION', 'DELETED', 'ABANDONED', 'REFERENCE'];
const EXECUTION_STATE = ['UNKNOWN', 'NEW', 'RUNNING', 'COMPLETE', 'FAILED', 'CACHED', 'CANCELED'];
const EVENT_TYPE = [
  'UNKNOWN',
  'DECLARED_OUTPUT',
  'DECLARED_INPUT',
  'INPUT',
  'OUTPUT',
  'INTERNAL_INPUT',
  'INTERNAL_OUTPUT',
  'PENDING_OUTPUT',
];
const PROPERTY_TYPE = ['UNKNOWN', 'INT', 'DOUBLE', 'STRING', 'STRUCT', 'PROTO', 'BOOLEAN'];

/** `base_type` enum names by the built-in type a `ParentType` row points at. */
const BASE_TYPES: Record<'artifact' | 'execution', Record<string, string>> = {
  artifact: { 'mlmd.Dataset': 'DATASET', 'mlmd.Model': 'MODEL', 'mlmd.Metrics': 'METRICS', 'mlmd.Statistics': 'STATISTICS' },
  execution: {
    'mlmd.Train': 'TRAIN',
    'mlmd.Transform': 'TRANSFORM',
    'mlmd.Process': 'PROCESS',
    'mlmd.Evaluate': 'EVALUATE',
    'mlmd.Deploy': 'DEPLOY',
  },
};

/**
 * An enum number the proto knows becomes its name; an unknown one (a newer MLMD, a corrupt row)
 * stays a number, which protobufjs encodes as is — proto2 enums are closed, but dropping the field
 * would hide data.
 */
function enumName(names: readonly string[], n: number): string | number {
  return names[n] ?? n;
}

function set(out: Message, key: string, value: unknown): void {
  if (value !== null && value !== undefined) out[key] = value;
}

const int64 = (n: number | null | undefined): string | null => (n === null || n === undefined ? null : String(Math.trunc(n)));

export function valueMessage(v: MlmdValue): Message {
  switch (v.kind) {
    case 'int':
      return { int_value: String(Math.trunc(v.value)) };
    case 'double':
      return { double_value: v.value };
    case 'string':
      return { string_value: v.value };
    case 'bool':
      return { bool_value: v.value };
    case 'struct':
      return { struct_value: structMessage(v.value) };
    case 'proto':
      return { proto_value: { type_url: v.typeUrl, value: Buffer.from(v.base64, 'base64') } };
    case 'corrupt':
      // MLMD would fail the whole read; a reader of an archive is better served by the raw text.
      return { string_value: v.raw };
  }
}

function propsMessage(props: Props): Record<string, Message> {
  const out: Record<string, Message> = {};
  for (const [k, v] of Object.entries(props)) Object.defineProperty(out, k, { value: valueMessage(v), enumerable: true });
  return out;
}

// google.protobuf.Struct as protobufjs's bundled well-known types spell it (camelCase fields).
function structMessage(obj: { [k: string]: JsonValue }): Message {
  const fields: Record<string, Message> = {};
  for (const [k, v] of Object.entries(obj)) Object.defineProperty(fields, k, { value: jsonValueMessage(v), enumerable: true });
  return { fields };
}

function jsonValueMessage(v: JsonValue): Message {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonValueMessage) } };
  return { structValue: structMessage(v) };
}

function nodeCommon(n: MlmdArtifact | MlmdExecution | MlmdContext): Message {
  const out: Message = { id: String(n.id), type_id: String(n.typeId) };
  if (Object.keys(n.properties).length > 0) out.properties = propsMessage(n.properties);
  if (Object.keys(n.customProperties).length > 0) out.custom_properties = propsMessage(n.customProperties);
  set(out, 'name', n.name);
  set(out, 'type', n.type);
  set(out, 'create_time_since_epoch', int64(n.createMs));
  set(out, 'last_update_time_since_epoch', int64(n.updateMs));
  set(out, 'external_id', n.externalId);
  return out;
}

export function artifactMessage(a: MlmdArtifact): Message {
  const out = nodeCommon(a);
  set(out, 'uri', a.uri);
  if (a.state !== null) out.state = enumName(ARTIFACT_STATE, a.state);
  return out;
}

export function executionMessage(e: MlmdExecution): Message {
  const out = nodeCommon(e);
  if (e.lastKnownState !== null) out.last_known_state = enumName(EXECUTION_STATE, e.lastKnownState);
  return out;
}

export function contextMessage(c: MlmdContext): Message {
  return nodeCommon(c);
}

export function eventMessage(e: MlmdEvent): Message {
  const out: Message = {
    artifact_id: String(e.artifactId),
    execution_id: String(e.executionId),
    type: enumName(EVENT_TYPE, e.type),
  };
  if (e.path.length > 0) {
    out.path = { steps: e.path.map((s) => ('key' in s ? { key: s.key } : { index: String(s.index) })) };
  }
  set(out, 'milliseconds_since_epoch', int64(e.ms));
  return out;
}

export function attributionMessage(l: ContextLink): Message {
  return { artifact_id: String(l.nodeId), context_id: String(l.contextId) };
}

export function associationMessage(l: ContextLink): Message {
  return { execution_id: String(l.nodeId), context_id: String(l.contextId) };
}

export function parentContextMessage(l: ParentLink): Message {
  return { child_id: String(l.childId), parent_id: String(l.parentId) };
}

export interface TypeMessageOptions {
  /** Get*Types (all of a kind) leave external_id out, as MLMD's select-all query has no such column. */
  externalId: boolean;
  /** Only the calls where MLMD derives base_type fill it (never for context types). */
  baseType: boolean;
  /** An execution type's input_type/output_type; MLMD's select by external id has no such columns. */
  structTypes: boolean;
}

export function typeMessage(t: TypeRecord, opts: TypeMessageOptions): Message {
  const out: Message = { id: String(t.id), name: t.name };
  const props = Object.entries(t.properties);
  if (props.length > 0) {
    const map: Record<string, string | number> = {};
    for (const [k, v] of props) Object.defineProperty(map, k, { value: enumName(PROPERTY_TYPE, v), enumerable: true });
    out.properties = map;
  }
  set(out, 'version', t.version);
  set(out, 'description', t.description);
  if (opts.externalId) set(out, 'external_id', t.externalId);
  if (opts.baseType && t.kind !== 'context' && t.baseTypeName) set(out, 'base_type', BASE_TYPES[t.kind][t.baseTypeName]);
  if (t.kind === 'execution' && opts.structTypes) {
    set(out, 'input_type', structTypeMessage(t.inputType));
    set(out, 'output_type', structTypeMessage(t.outputType));
  }
  return out;
}

/**
 * MLMD stores ArtifactStructType as proto JSON (lowerCamel names); our loader wants the proto
 * field names. Map keys (under `properties`) are user data and keep their spelling. (The backend
 * has parsed the text, and reported text that was not JSON.)
 */
function structTypeMessage(json: JsonObject | null): Message | null {
  return json === null ? null : (snakeKeys(json) as Message);
}

function snakeKeys(v: JsonValue, isMap = false): JsonValue {
  if (Array.isArray(v)) return v.map((x) => snakeKeys(x));
  if (v === null || typeof v !== 'object') return v;
  const out: { [k: string]: JsonValue } = {};
  for (const [k, x] of Object.entries(v)) {
    const key = isMap ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    Object.defineProperty(out, key, { value: snakeKeys(x, !isMap && key === 'properties'), enumerable: true });
  }
  return out;
}

export function nodeMessage(kind: NodeKind, n: MlmdArtifact | MlmdExecution | MlmdContext): Message {
  if (kind === 'artifact') return artifactMessage(n as MlmdArtifact);
  if (kind === 'execution') return executionMessage(n as MlmdExecution);
  return contextMessage(n as MlmdContext);
}
