/**
 * The JSON columns of the KFP 3 tables (`pods`, `InputParameters`, `OutputParameters`, `TypeAttrs`,
 * `StateHistory`, `StatusMetadata`, `artifact_tasks.Producer`) hold v2beta1 messages as the KFP 3
 * server stores them: Go `protojson.Marshal`, then `json.Unmarshal` into a map, then `json.Marshal`
 * (kfp-facts.md §C.8). This module reproduces that byte for byte, driven by the message definitions in
 * proto/kfp/v2beta1.proto, so no caller builds these shapes by hand.
 *
 * Both directions go through one normaliser that turns a message into its canonical plain form:
 * lowerCamelCase keys, enums as value names, int64 as decimal strings, Timestamps as RFC 3339 UTC
 * strings, google.protobuf.Value as plain JSON, implicit-presence zero values dropped. Encoding is that
 * form as `goJsonStringify` writes it (each message is written as soon as its fields are normalised,
 * since its fields fix its key order); decoding is that form itself.
 *
 * Encoding is strict because a bad input is a bug in the caller (an unknown field, an enum name or
 * number the proto does not define, a lone surrogate the Go side would refuse). Decoding follows what
 * protojson.Unmarshal accepts (proto field names as keys, numeric enums, int64 as numbers) because it
 * reads rows other writers produced.
 *
 * Timestamp inputs accepted when encoding: an RFC 3339 string (any offset, up to 9 fractional digits),
 * `{ seconds, nanos }` (seconds as number, bigint or decimal string), a `Date`, or an integer number of
 * milliseconds since the Unix epoch.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Enum, Field, MapField, Root, Type } from 'protobufjs';
import { setOwnKey } from '../util/own-key.ts';

export type KfpMessageName = 'TaskPod' | 'StatusMetadata' | 'TaskStatus' | 'TypeAttributes' | 'IOParameter' | 'IOProducer' | 'CacheKey';
export type KfpEnumName = 'TaskState' | 'TaskType' | 'TaskPodType' | 'IOType' | 'ArtifactType';

/** Thrown for any value that cannot be encoded or decoded; `path` names the offending field. */
export class KfpJsonError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'KfpJsonError';
    this.path = path;
  }
}

const PACKAGE = 'kubeflow.pipelines.backend.api.v2beta1';

const MESSAGE_PATHS: Record<KfpMessageName, string> = {
  TaskPod: `${PACKAGE}.PipelineTask.TaskPod`,
  StatusMetadata: `${PACKAGE}.PipelineTask.StatusMetadata`,
  TaskStatus: `${PACKAGE}.PipelineTask.TaskStatus`,
  TypeAttributes: `${PACKAGE}.PipelineTask.TypeAttributes`,
  IOParameter: `${PACKAGE}.PipelineTask.InputOutputs.IOParameter`,
  IOProducer: `${PACKAGE}.IOProducer`,
  // Not a column: what a driver hashes into a task's cache fingerprint (transform/cache-key.ts).
  CacheKey: 'ml_pipelines.CacheKey',
};

const ENUM_PATHS: Record<KfpEnumName, string> = {
  TaskState: `${PACKAGE}.PipelineTask.TaskState`,
  TaskType: `${PACKAGE}.PipelineTask.TaskType`,
  TaskPodType: `${PACKAGE}.PipelineTask.TaskPodType`,
  IOType: `${PACKAGE}.IOType`,
  ArtifactType: `${PACKAGE}.Artifact.ArtifactType`,
};

const PROTO_FILES = ['../../proto/kfp/v2beta1.proto', '../../proto/kfp/cache_key.proto'].map((f) => fileURLToPath(new URL(f, import.meta.url)));

let loadedRoot: Root | undefined;
function root(): Root {
  if (!loadedRoot) {
    const r = protobuf.loadSync(PROTO_FILES);
    r.resolveAll();
    loadedRoot = r;
  }
  return loadedRoot;
}

// protobufjs walks its namespaces on every lookup, and every encode and decode starts with one.
const typesByPath = new Map<string, Type>();
const enumsByPath = new Map<string, Enum>();

function messageType(name: KfpMessageName): Type {
  const path = MESSAGE_PATHS[name];
  if (path === undefined) throw new KfpJsonError(String(name), 'not a KFP JSON-column message');
  let type = typesByPath.get(path);
  if (!type) {
    type = root().lookupType(path);
    typesByPath.set(path, type);
  }
  return type;
}

function enumType(name: KfpEnumName): Enum {
  const path = ENUM_PATHS[name];
  if (path === undefined) throw new KfpJsonError(String(name), 'not a KFP enum');
  let type = enumsByPath.get(path);
  if (!type) {
    type = root().lookupEnum(path);
    enumsByPath.set(path, type);
  }
  return type;
}

// ---------------------------------------------------------------------------------------------
// Public API

export function encodeKfpJson(name: KfpMessageName, value: Record<string, unknown>): string {
  return goJsonStringify(encodeMessage(messageType(name), value, [name]));
}

export function encodeKfpJsonList(name: KfpMessageName, values: Record<string, unknown>[]): string {
  const type = messageType(name);
  if (!Array.isArray(values)) throw new KfpJsonError(name, 'expected an array of messages');
  return goJsonStringify(values.map((v, i) => encodeMessage(type, v, [name, i])));
}

/** For columns where the server stores the JSON literal `null` for an absent message (e.g. `TypeAttrs`). */
export function encodeKfpJsonOrNull(name: KfpMessageName, value: Record<string, unknown> | null): string {
  return value === null ? 'null' : encodeKfpJson(name, value);
}

export function decodeKfpJson(name: KfpMessageName, text: string): Record<string, unknown> {
  const parsed = parseJson(name, text);
  if (parsed === null) {
    throw new KfpJsonError(name, 'column holds JSON null, not a message (use decodeKfpJsonOrNull where null is allowed)');
  }
  return normalizeMessage(messageType(name), parsed, [name]);
}

/** SQL NULL and the JSON literal `null` both read as null, as KFP's own readers treat them. */
export function decodeKfpJsonOrNull(name: KfpMessageName, text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  const parsed = parseJson(name, text);
  return parsed === null ? null : normalizeMessage(messageType(name), parsed, [name]);
}

/** SQL NULL, `null` and `[]` all read as no messages: the server writes Go nil slices as `null`. */
export function decodeKfpJsonList(name: KfpMessageName, text: string | null): Record<string, unknown>[] {
  if (text === null) return [];
  const parsed = parseJson(name, text);
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new KfpJsonError(name, 'expected a JSON array of messages');
  const type = messageType(name);
  return parsed.map((v, i) => normalizeMessage(type, v, [name, i]));
}

/** The number a `Type`/`State` column stores for an enum value name, from the proto. */
export function kfpEnumNumber(enumName: KfpEnumName, valueName: string): number {
  const n = enumType(enumName).values[valueName];
  if (n === undefined) throw new KfpJsonError(enumName, `unknown value name ${JSON.stringify(valueName)}`);
  return n;
}

/** The value name for a number read from a `Type`/`State` column. */
export function kfpEnumName(enumName: KfpEnumName, valueNumber: number): string {
  const name = enumType(enumName).valuesById[valueNumber];
  if (name === undefined) throw new KfpJsonError(enumName, `unknown value number ${valueNumber}`);
  return name;
}

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new KfpJsonError(name, `not valid JSON (${(e as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Where a value sits, for error messages

/**
 * The root name, then field names and object keys (`.k`), indexes (`[i]`) and map keys (`["k"]`).
 * Every value is visited with one and almost none is wrong, so the walk pushes and pops segments and
 * only a failure turns them into text.
 */
type Path = (string | number | MapKey)[];

class MapKey {
  constructor(readonly key: string) {}
}

function pathText(path: Path): string {
  let text = String(path[0]);
  for (let i = 1; i < path.length; i++) {
    const segment = path[i];
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string') text += `.${segment}`;
    else text += `[${JSON.stringify(segment!.key)}]`;
  }
  return text;
}

function errorAt(path: Path, message: string): KfpJsonError {
  return new KfpJsonError(pathText(path), message);
}

// ---------------------------------------------------------------------------------------------
// Normalising a message to its canonical plain form

type Mode = 'encode' | 'decode';

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

interface IntegerType {
  min: bigint;
  max: bigint;
  /** The same bounds as numbers, to range-check a safe integer without making a bigint. */
  minNumber: number;
  maxNumber: number;
  /** protojson writes 64-bit integers as decimal strings. */
  int64: boolean;
}

const INTEGER_TYPES = new Map<string, IntegerType>();
for (const [names, min, max] of [
  [['int64', 'sint64', 'sfixed64'], -(2n ** 63n), 2n ** 63n - 1n],
  [['uint64', 'fixed64'], 0n, 2n ** 64n - 1n],
  [['int32', 'sint32', 'sfixed32'], -(2n ** 31n), 2n ** 31n - 1n],
  [['uint32', 'fixed32'], 0n, 2n ** 32n - 1n],
] as const) {
  for (const name of names) {
    INTEGER_TYPES.set(name, { min, max, minNumber: Number(min), maxNumber: Number(max), int64: INT64_TYPES.has(name) });
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isMessageType(t: unknown): t is Type {
  return t instanceof protobuf.Type;
}

function isEnumType(t: unknown): t is Enum {
  return t instanceof protobuf.Enum;
}

/**
 * Whether protojson writes the field even when it holds its zero value. protobufjs's own
 * `hasPresence` misses singular message fields in proto3, so decide from the proto rules directly.
 */
function tracksPresence(field: Field): boolean {
  if (field.repeated || field.map) return false;
  if (field.partOf) return true; // real oneofs and the synthetic ones of proto3 `optional`
  return isMessageType(field.resolvedType);
}

function fullName(t: Type | Enum): string {
  return t.fullName.replace(/^\./, '');
}

/** How one element of a field is normalised; the well-known message types have JSON forms of their own. */
type ElementKind = 'scalar' | 'enum' | 'message' | 'value' | 'struct' | 'timestamp' | 'any';

/** What normalising and writing a field need to know about it, worked out once per field instead of once per value. */
interface FieldInfo {
  field: Field;
  jsonName: string;
  kind: ElementKind;
  presence: boolean;
  /** protojson treats `null` as "not set" for every field except a singular google.protobuf.Value, where it is a value. */
  nullIsValue: boolean;
  /** Position among the message's fields in JSON-name order, the order Go writes them in. */
  order: number;
  quotedName: string;
  /**
   * The field's string form is made only of characters Go never escapes: enum value names are
   * identifiers, int64s decimal digits, timestamps digits and `-:.TZ`. Skipping the escape check
   * matters most for timestamps, which are built by concatenation and which a regex test would
   * first have to flatten.
   */
  verbatim: boolean;
}

/** The well-known message types whose protojson form is not their fields. */
const WELL_KNOWN_KINDS: Record<string, ElementKind> = {
  'google.protobuf.Value': 'value',
  'google.protobuf.Struct': 'struct',
  'google.protobuf.Timestamp': 'timestamp',
  'google.protobuf.Any': 'any',
};

function fieldInfo(field: Field, order: number): FieldInfo {
  const resolved = field.resolvedType;
  let kind: ElementKind = 'scalar';
  if (isEnumType(resolved)) kind = 'enum';
  else if (isMessageType(resolved)) {
    const name = fullName(resolved);
    kind = WELL_KNOWN_KINDS[name] ?? 'message';
  }
  const singular = !field.repeated && !field.map;
  return {
    field,
    jsonName: field.jsonName,
    kind,
    presence: tracksPresence(field),
    nullIsValue: kind === 'value' && singular,
    order,
    quotedName: goQuote(field.jsonName),
    verbatim: singular && (kind === 'enum' || kind === 'timestamp' || (kind === 'scalar' && INT64_TYPES.has(field.type))),
  };
}

interface MessageFields {
  inJsonOrder: FieldInfo[];
  /** The keys fields go by when encoding. */
  byJsonName: Map<string, FieldInfo>;
  /** The keys fields go by when decoding, which accepts proto names as well. */
  byAnyName: Map<string, FieldInfo>;
}

const messageFieldsCache = new WeakMap<Type, MessageFields>();

function messageFields(type: Type): MessageFields {
  let fields = messageFieldsCache.get(type);
  if (!fields) {
    const inJsonOrder = [...type.fieldsArray].sort((a, b) => compareUtf8(a.jsonName, b.jsonName)).map(fieldInfo);
    const infos = new Map(inJsonOrder.map((info) => [info.field, info]));
    const byJsonName = new Map<string, FieldInfo>();
    const byAnyName = new Map<string, FieldInfo>();
    for (const field of type.fieldsArray) {
      const info = infos.get(field)!;
      byJsonName.set(field.jsonName, info);
      byAnyName.set(field.jsonName, info);
      byAnyName.set(field.protoName, info);
    }
    fields = { inJsonOrder, byJsonName, byAnyName };
    messageFieldsCache.set(type, fields);
  }
  return fields;
}

function unknownField(type: Type, path: Path): KfpJsonError {
  const known = type.fieldsArray.map((f) => f.jsonName).join(', ');
  return errorAt(path, `unknown field of ${fullName(type)} (fields: ${known})`);
}

/** The canonical plain form of a message, which is what decoding returns; keys follow the input's order. */
function normalizeMessage(type: Type, input: unknown, path: Path): Record<string, unknown> {
  if (!isPlainObject(input)) throw errorAt(path, `expected an object for ${fullName(type)}`);
  const byKey = messageFields(type).byAnyName;
  const out: Record<string, unknown> = {};
  // Object.keys and a read per key, not Object.entries, which costs V8 an array per entry.
  for (const key of Object.keys(input)) {
    const raw = input[key];
    const info = byKey.get(key);
    path.push(key);
    if (!info) throw unknownField(type, path);
    if (Object.prototype.hasOwnProperty.call(out, info.jsonName)) {
      throw errorAt(path, 'field given twice (JSON name and proto name)');
    }
    const value = normalizeField(info, raw, 'decode', path);
    path.pop();
    if (value !== OMIT) out[info.jsonName] = value;
  }
  return out;
}

/** A message already written as Go JSON, which `goJson` copies as it stands. */
class GoJsonText {
  constructor(readonly text: string) {}
}

/**
 * Encoding normalises each field as decoding does, with the encoder's strict rules, then writes the
 * message at once instead of building its plain form for `goJsonStringify` to sort: the keys can only
 * be the fields' JSON names, so their order and quoting are known ahead.
 */
function encodeMessage(type: Type, input: unknown, path: Path): GoJsonText | Record<string, unknown> {
  if (!isPlainObject(input)) throw errorAt(path, `expected an object for ${fullName(type)}`);
  const fields = messageFields(type);
  // Each field's normalised value, in JSON-name order; JSON names are the only keys, so none comes twice.
  const values: unknown[] = new Array(fields.inJsonOrder.length);
  for (const key of Object.keys(input)) {
    const raw = input[key];
    const info = fields.byJsonName.get(key);
    path.push(key);
    if (!info) throw unknownField(type, path);
    const value = normalizeField(info, raw, 'encode', path);
    path.pop();
    if (value !== OMIT) values[info.order] = value;
  }
  return writeMessage(fields.inJsonOrder, values);
}

/**
 * Writes the fields set in `values`. The one value the writer can refuse here is a hole that a sparse
 * input array left in a list; then the message is returned in its plain form instead, so that the
 * final write meets the hole where it always has: after every other check, with the same path.
 */
function writeMessage(fields: FieldInfo[], values: unknown[]): GoJsonText | Record<string, unknown> {
  const out: string[] = ['{'];
  try {
    for (let i = 0; i < fields.length; i++) {
      const value = values[i];
      if (value === undefined) continue; // unset: a normalised value is never undefined
      const info = fields[i]!;
      if (out.length > 1) out.push(',');
      out.push(info.quotedName, ':');
      if (info.verbatim && typeof value === 'string') out.push('"', value, '"');
      else writeGoJson(value, ['$'], [], out);
    }
  } catch (e) {
    if (!(e instanceof KfpJsonError)) throw e;
    const message: Record<string, unknown> = {};
    fields.forEach((info, i) => {
      if (values[i] !== undefined) message[info.jsonName] = values[i];
    });
    return message;
  }
  out.push('}');
  return new GoJsonText(out.join(''));
}

const OMIT = Symbol('omit');

function normalizeField(info: FieldInfo, raw: unknown, mode: Mode, path: Path): unknown {
  if (raw === undefined || (raw === null && !info.nullIsValue)) return OMIT;
  const field = info.field;

  if (field.map) {
    if (!isPlainObject(raw)) throw errorAt(path, 'expected an object for a map field');
    const keyType = (field as unknown as MapField).keyType;
    if (keyType !== 'string') throw errorAt(path, `map key type ${keyType} is not supported`);
    const keys = Object.keys(raw);
    if (keys.length === 0) return OMIT;
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      path.push(new MapKey(k));
      checkWellFormed(k, path);
      setOwnKey(out, k, normalizeSingular(info, raw[k], mode, path));
      path.pop();
    }
    return out;
  }

  if (field.repeated) {
    if (!Array.isArray(raw)) throw errorAt(path, 'expected an array for a repeated field');
    if (raw.length === 0) return OMIT;
    return raw.map((v, i) => {
      path.push(i);
      const value = normalizeSingular(info, v, mode, path);
      path.pop();
      return value;
    });
  }

  const value = normalizeSingular(info, raw, mode, path);
  if (!info.presence && isZeroFor(field, value)) return OMIT;
  return value;
}

/** Whether a normalised value is the zero that protojson leaves out of an implicit-presence field. */
function isZeroFor(field: Field, value: unknown): boolean {
  const resolved = field.resolvedType;
  if (isEnumType(resolved)) return value === 0 || value === resolved.valuesById[0];
  switch (field.type) {
    case 'string':
      return value === '';
    case 'bool':
      return value === false;
    case 'double':
      return Object.is(value, 0); // Go counts -0 as populated: it compares the bits
    default:
      return INT64_TYPES.has(field.type) ? value === '0' : value === 0;
  }
}

function normalizeSingular(info: FieldInfo, raw: unknown, mode: Mode, path: Path): unknown {
  switch (info.kind) {
    case 'scalar':
      return normalizeScalar(info.field.type, raw, mode, path);
    case 'enum':
      return normalizeEnum(info.field.resolvedType as Enum, raw, mode, path);
    case 'value':
      return normalizeJsonValue(raw, path);
    case 'struct':
      // A Struct is written as the JSON object it holds.
      if (!isPlainObject(raw)) throw errorAt(path, 'expected an object for google.protobuf.Struct');
      return normalizeJsonValue(raw, path);
    case 'timestamp':
      return normalizeTimestamp(raw, mode, path);
    case 'any':
      return normalizeAny(raw, path);
    case 'message': {
      const type = info.field.resolvedType as Type;
      return mode === 'encode' ? encodeMessage(type, raw, path) : normalizeMessage(type, raw, path);
    }
  }
}

function normalizeEnum(type: Enum, raw: unknown, mode: Mode, path: Path): string | number {
  if (typeof raw === 'string') {
    const n = type.values[raw];
    if (n === undefined) {
      throw errorAt(path, `unknown ${fullName(type)} value ${JSON.stringify(raw)} (values: ${Object.keys(type.values).join(', ')})`);
    }
    return raw;
  }
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= -2147483648 && raw <= 2147483647) {
    const name = type.valuesById[raw];
    if (name !== undefined) return name;
    // protojson writes an enum number it has no name for as a number; reading keeps it, writing refuses it.
    if (mode === 'decode') return raw;
    throw errorAt(path, `${raw} is not a value of ${fullName(type)}`);
  }
  throw errorAt(path, `expected a ${fullName(type)} value name or number`);
}

function normalizeScalar(protoType: string, raw: unknown, mode: Mode, path: Path): unknown {
  if (protoType === 'string') {
    if (typeof raw !== 'string') throw errorAt(path, 'expected a string');
    checkWellFormed(raw, path);
    return raw;
  }
  if (protoType === 'bool') {
    if (typeof raw !== 'boolean') throw errorAt(path, 'expected a boolean');
    return raw;
  }
  const integer = INTEGER_TYPES.get(protoType);
  if (integer) {
    // The common case, a safe integer in range, needs no bigint. BigInt has no -0, so neither does the result.
    if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= integer.minNumber && raw <= integer.maxNumber) {
      if (integer.int64) return String(raw);
      return raw === 0 ? 0 : raw;
    }
    const n = parseInteger(raw, mode, path, integer.min, integer.max);
    return integer.int64 ? n.toString() : Number(n);
  }
  if (protoType === 'double') {
    if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
    throw errorAt(path, 'expected a finite number');
  }
  // float and bytes would need their own protojson rules; none of the column messages uses them.
  throw errorAt(path, `proto scalar type ${protoType} is not supported by this codec`);
}

const DECIMAL = /^-?(0|[1-9][0-9]*)$/;
const LENIENT_DECIMAL = /^-?[0-9]+$/;

function parseInteger(raw: unknown, mode: Mode, path: Path, min: bigint, max: bigint): bigint {
  let n: bigint;
  if (typeof raw === 'bigint' && mode === 'encode') {
    n = raw;
  } else if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw errorAt(path, `${raw} is not a safe integer (pass a bigint or decimal string)`);
    n = BigInt(raw);
  } else if (typeof raw === 'string' && (mode === 'decode' ? LENIENT_DECIMAL : DECIMAL).test(raw)) {
    n = BigInt(raw);
  } else {
    throw errorAt(path, 'expected an integer (number, bigint or decimal string)');
  }
  if (n < min || n > max) throw errorAt(path, `${n} is out of range`);
  return n;
}

/** google.protobuf.Value and everything inside it: plain JSON, numbers as float64. */
function normalizeJsonValue(raw: unknown, path: Path): unknown {
  if (raw === null || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') {
    // protojson refuses NaN and infinities inside a Value.
    if (!Number.isFinite(raw)) throw errorAt(path, `${raw} cannot be held by google.protobuf.Value`);
    return raw;
  }
  if (typeof raw === 'string') {
    checkWellFormed(raw, path);
    return raw;
  }
  if (Array.isArray(raw)) {
    return raw.map((v, i) => {
      path.push(i);
      const value = normalizeJsonValue(v, path);
      path.pop();
      return value;
    });
  }
  if (isPlainObject(raw)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(raw)) {
      checkWellFormed(k, path);
      path.push(k);
      setOwnKey(out, k, normalizeJsonValue(raw[k], path));
      path.pop();
    }
    return out;
  }
  throw errorAt(path, `a ${typeof raw} cannot be held by google.protobuf.Value`);
}

/**
 * google.protobuf.Any in protojson is the packed message's own JSON plus "@type". This codec has no
 * registry of packed types, so it carries such objects through unchanged (the KFP server does not
 * put details into task errors today).
 */
function normalizeAny(raw: unknown, path: Path): unknown {
  if (!isPlainObject(raw) || typeof raw['@type'] !== 'string' || raw['@type'] === '') {
    throw errorAt(path, 'expected an object with a non-empty "@type" for google.protobuf.Any');
  }
  return normalizeJsonValue(raw, path);
}


function checkWellFormed(s: string, path: Path): void {
  // Go's protojson refuses strings that are not valid UTF-8; a lone surrogate cannot become UTF-8.
  if (LONE_SURROGATE.test(s)) throw errorAt(path, 'string contains a lone UTF-16 surrogate (not valid UTF-8)');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// ---------------------------------------------------------------------------------------------
// google.protobuf.Timestamp, as protojson reads and writes it

/**
 * Seconds as a number: every second in the range protojson accepts is exact as a double, and the
 * conversion keeps any bigint outside that range outside it, so the range check stays exact.
 */
interface Instant {
  seconds: number;
  nanos: number;
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range protojson accepts.
const MIN_SECONDS = -62135596800;
const MAX_SECONDS = 253402300799;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function normalizeTimestamp(raw: unknown, mode: Mode, path: Path): string {
  return formatTimestamp(parseTimestamp(raw, mode, path), path);
}

function parseTimestamp(raw: unknown, mode: Mode, path: Path): Instant {
  if (typeof raw === 'string') return parseRfc3339(raw, path);
  if (mode === 'decode') throw errorAt(path, 'expected an RFC 3339 timestamp string');
  if (raw instanceof Date) {
    const ms = raw.getTime();
    if (Number.isNaN(ms)) throw errorAt(path, 'invalid Date');
    return fromMillis(ms);
  }
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw errorAt(path, 'a millisecond timestamp must be a safe integer');
    return fromMillis(raw);
  }
  if (isPlainObject(raw)) {
    for (const k of Object.keys(raw)) {
      if (k !== 'seconds' && k !== 'nanos') {
        path.push(k);
        throw errorAt(path, 'unknown field of a { seconds, nanos } timestamp');
      }
    }
    path.push('seconds');
    const seconds = Number(parseInteger(raw['seconds'] ?? 0, 'encode', path, -(2n ** 63n), 2n ** 63n - 1n));
    path.pop();
    path.push('nanos');
    const nanos = Number(parseInteger(raw['nanos'] ?? 0, 'encode', path, 0n, 999_999_999n));
    path.pop();
    return { seconds, nanos };
  }
  throw errorAt(path, 'expected an RFC 3339 string, { seconds, nanos }, a Date or epoch milliseconds');
}

function fromMillis(ms: number): Instant {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

function parseRfc3339(s: string, path: Path): Instant {
  const m = RFC3339.exec(s);
  if (!m) throw errorAt(path, `${JSON.stringify(s)} is not an RFC 3339 timestamp`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  const fields = [y, mo, d, h, mi, sec].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = fields;
  // A Date built field by field rolls over invalid dates; a mismatch on read-back exposes them.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day ||
    date.getUTCHours() !== hour || date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second
  ) {
    throw errorAt(path, `${JSON.stringify(s)} is not a valid date and time`);
  }
  let seconds = date.getTime() / 1000;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offH = Number(zone.slice(1, 3));
    const offM = Number(zone.slice(4, 6));
    if (offH > 23 || offM > 59) throw errorAt(path, `${JSON.stringify(s)} has an invalid UTC offset`);
    seconds -= sign * (offH * 3600 + offM * 60);
  }
  const nanos = frac === undefined ? 0 : Number(frac.padEnd(9, '0'));
  return { seconds, nanos };
}

function formatTimestamp(t: Instant, path: Path): string {
  if (t.seconds < MIN_SECONDS || t.seconds > MAX_SECONDS) {
    throw errorAt(path, 'timestamp outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z');
  }
  const days = Math.floor(t.seconds / 86400);
  const base = `${utcDate(days)}T${utcTime(t.seconds - days * 86400)}`;
  const nanos = t.nanos;
  if (nanos === 0) return `${base}Z`;
  // protojson writes the shortest of 3, 6 or 9 fractional digits that loses nothing.
  if (nanos % 1_000_000 === 0) return `${base}.${String(nanos / 1_000_000).padStart(3, '0')}Z`;
  if (nanos % 1000 === 0) return `${base}.${String(nanos / 1000).padStart(6, '0')}Z`;
  return `${base}.${String(nanos).padStart(9, '0')}Z`;
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

// Consecutive timestamps mostly fall on the same day.
let lastDays = Number.NaN;
let lastDate = '';

/**
 * `YYYY-MM-DD` of a day counted from 1970-01-01 in the proleptic Gregorian calendar, as
 * `Date#toISOString` writes it for years 1..9999, by H. Hinnant's civil_from_days: integer arithmetic
 * is several times cheaper than a Date per timestamp.
 */
function utcDate(days: number): string {
  if (days === lastDays) return lastDate;
  const z = days + 719468; // days since 0000-03-01, non-negative from year 1 on
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100)); // from March 1
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // 0 is March
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = era * 400 + yearOfEra + (month <= 2 ? 1 : 0);
  lastDays = days;
  lastDate = `${String(year).padStart(4, '0')}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`;
  return lastDate;
}

/** `HH:MM:SS` of a second of the day. */
function utcTime(second: number): string {
  const hour = Math.floor(second / 3600);
  const minute = Math.floor((second - hour * 3600) / 60);
  return `${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second - hour * 3600 - minute * 60]}`;
}

// ---------------------------------------------------------------------------------------------
// Go encoding/json

/**
 * Writes a plain JSON value exactly as Go's `json.Marshal` writes the equivalent `interface{}` tree:
 * object keys sorted by their UTF-8 bytes, no whitespace, HTML-safe escaping, float64 formatting.
 * Accepts null, booleans, finite numbers, bigints (as Go integers), strings, arrays and plain objects;
 * anything else (undefined, NaN, class instances, cycles) throws, as a value Go could not have held.
 */
export function goJsonStringify(value: unknown): string {
  const out: string[] = [];
  writeGoJson(value, ['$'], [], out);
  // One join gives one flat string. Appending with `+=` leaves a tree of pieces several times the
  // size of the text (measured ~10× for a task's parameters), which every row holds until written.
  return out.join('');
}

/** Appends the Go JSON of `value` to `out`; `ancestors` are the arrays and objects that hold `value`: meeting one again means a cycle. */
function writeGoJson(value: unknown, path: Path, ancestors: object[], out: string[]): void {
  if (typeof value === 'string') {
    out.push(goQuote(value));
    return;
  }
  if (typeof value === 'number') {
    out.push(goFloat64(value, path));
    return;
  }
  if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
    return;
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (typeof value === 'bigint') {
    out.push(value.toString());
    return;
  }
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) {
    if (value instanceof GoJsonText) {
      out.push(value.text);
      return;
    }
    throw errorAt(path, `${value === undefined ? 'undefined' : typeof value} has no Go JSON form`);
  }
  // JSON values are shallow, so scanning the ancestors is cheaper than keeping a Set of them.
  if (ancestors.includes(value as object)) throw errorAt(path, 'cyclic structure');
  ancestors.push(value as object);
  if (isArray) {
    const array = value as unknown[];
    out.push('[');
    for (let i = 0; i < array.length; i++) {
      if (i > 0) out.push(',');
      path.push(i);
      writeGoJson(array[i], path, ancestors, out);
      path.pop();
    }
    out.push(']');
  } else {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    // A key that needs no escaping has no surrogates either, and then UTF-16 order is UTF-8 order.
    let plainKeys = true;
    for (let i = 0; i < keys.length && plainKeys; i++) plainKeys = !NEEDS_ESCAPE.test(keys[i]!);
    if (plainKeys) sortStrings(keys);
    else keys.sort(compareUtf8);
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (i > 0) out.push(',');
      out.push(plainKeys ? `"${k}":` : `${goQuote(k)}:`);
      path.push(k);
      writeGoJson(object[k], path, ancestors, out);
      path.pop();
    }
    out.push('}');
  }
  ancestors.pop();
}

/**
 * Go writes float64 with the shortest round-trip digits, in exponent form only below 1e-6 or from
 * 1e21 on, and strips one leading zero of a negative exponent. For finite non-zero numbers that is
 * exactly JavaScript's Number-to-String; the one difference is negative zero, which Go keeps.
 */
function goFloat64(n: number, path: Path): string {
  if (!Number.isFinite(n)) throw errorAt(path, `${n} has no JSON form (Go refuses it)`);
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

const GO_ESCAPES = /["\\\u0000-\u001f<>&\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** What GO_ESCAPES may match, tested without a global regex or a replacement: most strings need no escaping. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/;

function goQuote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(GO_ESCAPES, goEscape)}"` : `"${s}"`;
}

function goEscape(ch: string): string {
  const short = SHORT_ESCAPES[ch];
  if (short !== undefined) return short;
  const code = ch.charCodeAt(0);
  // A lone surrogate is what invalid UTF-8 becomes in JS; Go writes invalid bytes as U+FFFD.
  if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd';
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Sorts distinct strings in UTF-16 order, in place. Objects have few keys, often sorted already, and
 * for those an insertion sort is several times faster than V8's general-purpose `sort`.
 */
function sortStrings(strings: string[]): void {
  if (strings.length > 32) {
    strings.sort();
    return;
  }
  for (let i = 1; i < strings.length; i++) {
    const s = strings[i]!;
    let j = i - 1;
    for (; j >= 0 && strings[j]! > s; j--) strings[j + 1] = strings[j]!;
    strings[j + 1] = s;
  }
}

/**
 * Orders strings by code point, which is the order of their UTF-8 bytes. Plain `<` on JS strings
 * compares UTF-16 units and puts U+E000..U+FFFF after astral characters; shifting the units fixes that.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

function utf8Rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
