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
 * form written by `goJsonStringify`; decoding is that form itself.
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

export type KfpMessageName = 'TaskPod' | 'StatusMetadata' | 'TaskStatus' | 'TypeAttributes' | 'IOParameter' | 'IOProducer';
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
  TaskPod: 'PipelineTask.TaskPod',
  StatusMetadata: 'PipelineTask.StatusMetadata',
  TaskStatus: 'PipelineTask.TaskStatus',
  TypeAttributes: 'PipelineTask.TypeAttributes',
  IOParameter: 'PipelineTask.InputOutputs.IOParameter',
  IOProducer: 'IOProducer',
};

const ENUM_PATHS: Record<KfpEnumName, string> = {
  TaskState: 'PipelineTask.TaskState',
  TaskType: 'PipelineTask.TaskType',
  TaskPodType: 'PipelineTask.TaskPodType',
  IOType: 'IOType',
  ArtifactType: 'Artifact.ArtifactType',
};

const PROTO_FILE = fileURLToPath(new URL('../../proto/kfp/v2beta1.proto', import.meta.url));

let loadedRoot: Root | undefined;
function root(): Root {
  if (!loadedRoot) {
    const r = protobuf.loadSync(PROTO_FILE);
    r.resolveAll();
    loadedRoot = r;
  }
  return loadedRoot;
}

function messageType(name: KfpMessageName): Type {
  const path = MESSAGE_PATHS[name];
  if (path === undefined) throw new KfpJsonError(String(name), 'not a KFP JSON-column message');
  return root().lookupType(`${PACKAGE}.${path}`);
}

function enumType(name: KfpEnumName): Enum {
  const path = ENUM_PATHS[name];
  if (path === undefined) throw new KfpJsonError(String(name), 'not a KFP enum');
  return root().lookupEnum(`${PACKAGE}.${path}`);
}

// ---------------------------------------------------------------------------------------------
// Public API

export function encodeKfpJson(name: KfpMessageName, value: Record<string, unknown>): string {
  return goJsonStringify(normalizeMessage(messageType(name), value, 'encode', name));
}

export function encodeKfpJsonList(name: KfpMessageName, values: Record<string, unknown>[]): string {
  const type = messageType(name);
  if (!Array.isArray(values)) throw new KfpJsonError(name, 'expected an array of messages');
  return goJsonStringify(values.map((v, i) => normalizeMessage(type, v, 'encode', `${name}[${i}]`)));
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
  return normalizeMessage(messageType(name), parsed, 'decode', name);
}

/** SQL NULL and the JSON literal `null` both read as null, as KFP's own readers treat them. */
export function decodeKfpJsonOrNull(name: KfpMessageName, text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  const parsed = parseJson(name, text);
  return parsed === null ? null : normalizeMessage(messageType(name), parsed, 'decode', name);
}

/** SQL NULL, `null` and `[]` all read as no messages: the server writes Go nil slices as `null`. */
export function decodeKfpJsonList(name: KfpMessageName, text: string | null): Record<string, unknown>[] {
  if (text === null) return [];
  const parsed = parseJson(name, text);
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new KfpJsonError(name, 'expected a JSON array of messages');
  const type = messageType(name);
  return parsed.map((v, i) => normalizeMessage(type, v, 'decode', `${name}[${i}]`));
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
// Normalising a message to its canonical plain form

type Mode = 'encode' | 'decode';

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_TYPES = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32_TYPES = new Set(['uint32', 'fixed32']);

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

const fieldKeyCache: Record<Mode, WeakMap<Type, Map<string, Field>>> = { encode: new WeakMap(), decode: new WeakMap() };

/** The keys a message's fields go by: JSON names only when encoding, proto names as well when decoding. */
function fieldsByKey(type: Type, mode: Mode): Map<string, Field> {
  let byKey = fieldKeyCache[mode].get(type);
  if (!byKey) {
    byKey = new Map();
    for (const field of type.fieldsArray) {
      byKey.set(field.jsonName, field);
      if (mode === 'decode') byKey.set(field.protoName, field);
    }
    fieldKeyCache[mode].set(type, byKey);
  }
  return byKey;
}

function normalizeMessage(type: Type, input: unknown, mode: Mode, path: string): Record<string, unknown> {
  if (!isPlainObject(input)) throw new KfpJsonError(path, `expected an object for ${fullName(type)}`);
  const byKey = fieldsByKey(type, mode);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(input)) {
    const field = byKey.get(key);
    const fieldPath = `${path}.${key}`;
    if (!field) {
      const known = type.fieldsArray.map((f) => f.jsonName).join(', ');
      throw new KfpJsonError(fieldPath, `unknown field of ${fullName(type)} (fields: ${known})`);
    }
    if (Object.prototype.hasOwnProperty.call(out, field.jsonName)) {
      throw new KfpJsonError(fieldPath, 'field given twice (JSON name and proto name)');
    }
    const value = normalizeField(field, raw, mode, fieldPath);
    if (value !== OMIT) out[field.jsonName] = value;
  }
  return out;
}

const OMIT = Symbol('omit');

function normalizeField(field: Field, raw: unknown, mode: Mode, path: string): unknown {
  // protojson treats `null` as "not set" for every field except google.protobuf.Value, where it is a value.
  const isValueField = isMessageType(field.resolvedType) && fullName(field.resolvedType) === 'google.protobuf.Value';
  if (raw === undefined || (raw === null && !(isValueField && !field.repeated && !field.map))) return OMIT;

  if (field.map) {
    if (!isPlainObject(raw)) throw new KfpJsonError(path, 'expected an object for a map field');
    const keyType = (field as unknown as MapField).keyType;
    if (keyType !== 'string') throw new KfpJsonError(path, `map key type ${keyType} is not supported`);
    const entries = Object.entries(raw);
    if (entries.length === 0) return OMIT;
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const entryPath = `${path}[${JSON.stringify(k)}]`;
      checkWellFormed(k, entryPath);
      setOwn(out, k, normalizeSingular(field, v, mode, entryPath));
    }
    return out;
  }

  if (field.repeated) {
    if (!Array.isArray(raw)) throw new KfpJsonError(path, 'expected an array for a repeated field');
    if (raw.length === 0) return OMIT;
    return raw.map((v, i) => normalizeSingular(field, v, mode, `${path}[${i}]`));
  }

  const value = normalizeSingular(field, raw, mode, path);
  if (!tracksPresence(field) && isZeroFor(field, value)) return OMIT;
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

function normalizeSingular(field: Field, raw: unknown, mode: Mode, path: string): unknown {
  const resolved = field.resolvedType;
  if (isEnumType(resolved)) return normalizeEnum(resolved, raw, mode, path);
  if (isMessageType(resolved)) return normalizeMessageValue(resolved, raw, mode, path);
  return normalizeScalar(field.type, raw, mode, path);
}

function normalizeEnum(type: Enum, raw: unknown, mode: Mode, path: string): string | number {
  if (typeof raw === 'string') {
    const n = type.values[raw];
    if (n === undefined) {
      throw new KfpJsonError(path, `unknown ${fullName(type)} value ${JSON.stringify(raw)} (values: ${Object.keys(type.values).join(', ')})`);
    }
    return raw;
  }
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= -2147483648 && raw <= 2147483647) {
    const name = type.valuesById[raw];
    if (name !== undefined) return name;
    // protojson writes an enum number it has no name for as a number; reading keeps it, writing refuses it.
    if (mode === 'decode') return raw;
    throw new KfpJsonError(path, `${raw} is not a value of ${fullName(type)}`);
  }
  throw new KfpJsonError(path, `expected a ${fullName(type)} value name or number`);
}

function normalizeMessageValue(type: Type, raw: unknown, mode: Mode, path: string): unknown {
  switch (fullName(type)) {
    case 'google.protobuf.Value':
      return normalizeJsonValue(raw, path);
    case 'google.protobuf.Timestamp':
      return formatTimestamp(parseTimestamp(raw, mode, path), path);
    case 'google.protobuf.Any':
      return normalizeAny(raw, path);
    default:
      return normalizeMessage(type, raw, mode, path);
  }
}

function normalizeScalar(protoType: string, raw: unknown, mode: Mode, path: string): unknown {
  if (protoType === 'string') {
    if (typeof raw !== 'string') throw new KfpJsonError(path, 'expected a string');
    checkWellFormed(raw, path);
    return raw;
  }
  if (protoType === 'bool') {
    if (typeof raw !== 'boolean') throw new KfpJsonError(path, 'expected a boolean');
    return raw;
  }
  if (INT64_TYPES.has(protoType)) {
    const unsigned = protoType === 'uint64' || protoType === 'fixed64';
    return parseInteger(raw, mode, path, unsigned ? 0n : -(2n ** 63n), unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n).toString();
  }
  if (INT32_TYPES.has(protoType) || UINT32_TYPES.has(protoType)) {
    const unsigned = UINT32_TYPES.has(protoType);
    return Number(parseInteger(raw, mode, path, unsigned ? 0n : -(2n ** 31n), unsigned ? 2n ** 32n - 1n : 2n ** 31n - 1n));
  }
  if (protoType === 'double') {
    if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
    throw new KfpJsonError(path, 'expected a finite number');
  }
  // float and bytes would need their own protojson rules; none of the column messages uses them.
  throw new KfpJsonError(path, `proto scalar type ${protoType} is not supported by this codec`);
}

const DECIMAL = /^-?(0|[1-9][0-9]*)$/;
const LENIENT_DECIMAL = /^-?[0-9]+$/;

function parseInteger(raw: unknown, mode: Mode, path: string, min: bigint, max: bigint): bigint {
  let n: bigint;
  if (typeof raw === 'bigint' && mode === 'encode') {
    n = raw;
  } else if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw new KfpJsonError(path, `${raw} is not a safe integer (pass a bigint or decimal string)`);
    n = BigInt(raw);
  } else if (typeof raw === 'string' && (mode === 'decode' ? LENIENT_DECIMAL : DECIMAL).test(raw)) {
    n = BigInt(raw);
  } else {
    throw new KfpJsonError(path, 'expected an integer (number, bigint or decimal string)');
  }
  if (n < min || n > max) throw new KfpJsonError(path, `${n} is out of range`);
  return n;
}

/** google.protobuf.Value and everything inside it: plain JSON, numbers as float64. */
function normalizeJsonValue(raw: unknown, path: string): unknown {
  if (raw === null || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') {
    // protojson refuses NaN and infinities inside a Value.
    if (!Number.isFinite(raw)) throw new KfpJsonError(path, `${raw} cannot be held by google.protobuf.Value`);
    return raw;
  }
  if (typeof raw === 'string') {
    checkWellFormed(raw, path);
    return raw;
  }
  if (Array.isArray(raw)) return raw.map((v, i) => normalizeJsonValue(v, `${path}[${i}]`));
  if (isPlainObject(raw)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      checkWellFormed(k, path);
      setOwn(out, k, normalizeJsonValue(v, `${path}.${k}`));
    }
    return out;
  }
  throw new KfpJsonError(path, `a ${typeof raw} cannot be held by google.protobuf.Value`);
}

/**
 * google.protobuf.Any in protojson is the packed message's own JSON plus "@type". This codec has no
 * registry of packed types, so it carries such objects through unchanged (the KFP server does not
 * put details into task errors today).
 */
function normalizeAny(raw: unknown, path: string): unknown {
  if (!isPlainObject(raw) || typeof raw['@type'] !== 'string' || raw['@type'] === '') {
    throw new KfpJsonError(path, 'expected an object with a non-empty "@type" for google.protobuf.Any');
  }
  return normalizeJsonValue(raw, path);
}

/** Plain assignment would treat a "__proto__" key as the prototype, not as data. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function checkWellFormed(s: string, path: string): void {
  // Go's protojson refuses strings that are not valid UTF-8; a lone surrogate cannot become UTF-8.
  if (LONE_SURROGATE.test(s)) throw new KfpJsonError(path, 'string contains a lone UTF-16 surrogate (not valid UTF-8)');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// ---------------------------------------------------------------------------------------------
// google.protobuf.Timestamp, as protojson reads and writes it

interface Instant {
  seconds: bigint;
  nanos: number;
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range protojson accepts.
const MIN_SECONDS = -62135596800n;
const MAX_SECONDS = 253402300799n;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function parseTimestamp(raw: unknown, mode: Mode, path: string): Instant {
  if (typeof raw === 'string') return parseRfc3339(raw, path);
  if (mode === 'decode') throw new KfpJsonError(path, 'expected an RFC 3339 timestamp string');
  if (raw instanceof Date) {
    const ms = raw.getTime();
    if (Number.isNaN(ms)) throw new KfpJsonError(path, 'invalid Date');
    return fromMillis(ms);
  }
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw new KfpJsonError(path, 'a millisecond timestamp must be a safe integer');
    return fromMillis(raw);
  }
  if (isPlainObject(raw)) {
    for (const k of Object.keys(raw)) {
      if (k !== 'seconds' && k !== 'nanos') throw new KfpJsonError(`${path}.${k}`, 'unknown field of a { seconds, nanos } timestamp');
    }
    const seconds = parseInteger(raw['seconds'] ?? 0, 'encode', `${path}.seconds`, -(2n ** 63n), 2n ** 63n - 1n);
    const nanos = Number(parseInteger(raw['nanos'] ?? 0, 'encode', `${path}.nanos`, 0n, 999_999_999n));
    return { seconds, nanos };
  }
  throw new KfpJsonError(path, 'expected an RFC 3339 string, { seconds, nanos }, a Date or epoch milliseconds');
}

function fromMillis(ms: number): Instant {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

function parseRfc3339(s: string, path: string): Instant {
  const m = RFC3339.exec(s);
  if (!m) throw new KfpJsonError(path, `${JSON.stringify(s)} is not an RFC 3339 timestamp`);
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
    throw new KfpJsonError(path, `${JSON.stringify(s)} is not a valid date and time`);
  }
  let seconds = BigInt(date.getTime() / 1000);
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offH = Number(zone.slice(1, 3));
    const offM = Number(zone.slice(4, 6));
    if (offH > 23 || offM > 59) throw new KfpJsonError(path, `${JSON.stringify(s)} has an invalid UTC offset`);
    seconds -= BigInt(sign * (offH * 3600 + offM * 60));
  }
  const nanos = frac === undefined ? 0 : Number(frac.padEnd(9, '0'));
  return { seconds, nanos };
}

function formatTimestamp(t: Instant, path: string): string {
  if (t.seconds < MIN_SECONDS || t.seconds > MAX_SECONDS) {
    throw new KfpJsonError(path, 'timestamp outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z');
  }
  const base = new Date(Number(t.seconds) * 1000).toISOString().slice(0, 19);
  if (t.nanos === 0) return `${base}Z`;
  // protojson writes the shortest of 3, 6 or 9 fractional digits that loses nothing.
  let frac = String(t.nanos).padStart(9, '0');
  if (frac.endsWith('000')) frac = frac.slice(0, 6);
  if (frac.endsWith('000')) frac = frac.slice(0, 3);
  return `${base}.${frac}Z`;
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
  const parts: string[] = [];
  writeGoJson(value, parts, '$', new Set());
  return parts.join('');
}

function writeGoJson(value: unknown, out: string[], path: string, ancestors: Set<object>): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    out.push(goFloat64(value, path));
  } else if (typeof value === 'bigint') {
    out.push(value.toString());
  } else if (typeof value === 'string') {
    out.push(goQuote(value));
  } else if (Array.isArray(value) || isPlainObject(value)) {
    if (ancestors.has(value)) throw new KfpJsonError(path, 'cyclic structure');
    ancestors.add(value);
    if (Array.isArray(value)) {
      out.push('[');
      for (let i = 0; i < value.length; i++) {
        if (i > 0) out.push(',');
        writeGoJson(value[i], out, `${path}[${i}]`, ancestors);
      }
      out.push(']');
    } else {
      const keys = Object.keys(value).sort(compareUtf8);
      out.push('{');
      keys.forEach((k, i) => {
        if (i > 0) out.push(',');
        out.push(goQuote(k), ':');
        writeGoJson(value[k], out, `${path}.${k}`, ancestors);
      });
      out.push('}');
    }
    ancestors.delete(value);
  } else {
    throw new KfpJsonError(path, `${value === undefined ? 'undefined' : typeof value} has no Go JSON form`);
  }
}

/**
 * Go writes float64 with the shortest round-trip digits, in exponent form only below 1e-6 or from
 * 1e21 on, and strips one leading zero of a negative exponent. For finite non-zero numbers that is
 * exactly JavaScript's Number-to-String; the one difference is negative zero, which Go keeps.
 */
function goFloat64(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new KfpJsonError(path, `${n} has no JSON form (Go refuses it)`);
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

function goQuote(s: string): string {
  return `"${s.replace(GO_ESCAPES, goEscape)}"`;
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
 * Orders strings by code point, which is the order of their UTF-8 bytes. Plain `<` on JS strings
 * compares UTF-16 units and puts U+E000..U+FFFF after astral characters; shifting the units fixes that.
 */
function compareUtf8(a: string, b: string): number {
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
