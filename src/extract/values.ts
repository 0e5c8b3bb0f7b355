/**
 * Decoding of MLMD property rows into `MlmdValue`s (mlmd-source.md §1.3), and the inverse
 * encoding of Struct values that seed data and tests need.
 *
 * Decoding never throws: a migration has to report a broken value and carry on, where the MLMD
 * server itself would fail the whole read.
 */
import protobuf from 'protobufjs';
import type { JsonObject, JsonValue, MlmdValue, Props } from '../transform/model.ts';
import { setOwnKey } from '../util/own-key.ts';

/** MLMD's marker for a `struct_value` stored in `string_value`. */
export const STRUCT_PREFIX = 'mlmd-struct::';

/** The value columns of an `ArtifactProperty` / `ExecutionProperty` / `ContextProperty` row. */
export interface PropertyValueColumns {
  int_value?: unknown;
  double_value?: unknown;
  string_value?: unknown;
  proto_value?: unknown;
  bool_value?: unknown;
}

const wellKnown = (file: string): protobuf.Root => {
  const json = protobuf.common.get(file);
  if (!json) throw new Error(`protobufjs does not bundle ${file}`);
  return protobuf.Root.fromJSON(json);
};
const StructType = wellKnown('google/protobuf/struct.proto').lookupType('google.protobuf.Struct');
const AnyType = wellKnown('google/protobuf/any.proto').lookupType('google.protobuf.Any');

// Standard alphabet; padding optional because MLMD's decoder tolerates its absence.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** The first non-NULL of int, double, string, proto, bool wins — MLMD's own read order. */
export function decodeValue(row: PropertyValueColumns): MlmdValue {
  if (row.int_value != null) return decodeNumber('int', row.int_value);
  if (row.double_value != null) return decodeNumber('double', row.double_value);
  if (row.string_value != null) {
    const text = asText(row.string_value);
    return text.startsWith(STRUCT_PREFIX) ? decodeStructText(text) : { kind: 'string', value: text };
  }
  if (row.proto_value != null) return decodeProtoText(asText(row.proto_value));
  if (row.bool_value != null) return { kind: 'bool', value: Number(row.bool_value) !== 0 };
  return { kind: 'corrupt', raw: '', reason: 'no value column is set' };
}

/** Splits property rows of one node into declared and custom properties. */
export function splitProperties(
  rows: Iterable<PropertyValueColumns & { name: unknown; is_custom_property: unknown }>,
): { properties: Props; customProperties: Props } {
  const properties: Props = {};
  const customProperties: Props = {};
  for (const row of rows) {
    const target = Number(row.is_custom_property) !== 0 ? customProperties : properties;
    setOwnKey(target, String(row.name), decodeValue(row));
  }
  return { properties, customProperties };
}

/** `mlmd-struct::` + standard padded base64 of the serialized `google.protobuf.Struct`. */
export function encodeStructValue(obj: JsonObject): string {
  const message = StructType.fromObject(toStructObject(obj));
  return STRUCT_PREFIX + Buffer.from(StructType.encode(message).finish()).toString('base64');
}

/** Decodes a full `mlmd-struct::…` string; exported for readers of other sources (e.g. the shim). */
export function decodeStructText(text: string): MlmdValue {
  const payload = text.slice(STRUCT_PREFIX.length);
  if (!BASE64.test(payload)) return { kind: 'corrupt', raw: text, reason: 'struct payload is not base64' };
  try {
    const message = StructType.decode(Buffer.from(payload, 'base64')) as unknown as StructMessage;
    return { kind: 'struct', value: structToJson(message) };
  } catch (e) {
    return { kind: 'corrupt', raw: text, reason: `struct payload is not a google.protobuf.Struct: ${(e as Error).message}` };
  }
}

function decodeProtoText(text: string): MlmdValue {
  if (!BASE64.test(text)) return { kind: 'corrupt', raw: text, reason: 'proto_value is not base64' };
  let message: protobuf.Message;
  try {
    message = AnyType.decode(Buffer.from(text, 'base64'));
  } catch (e) {
    return { kind: 'corrupt', raw: text, reason: `proto_value is not a google.protobuf.Any: ${(e as Error).message}` };
  }
  const any = message as unknown as { type_url?: string; value?: Uint8Array };
  // MLMD refuses an Any without a type URL; there is nothing a reader could do with it either.
  if (!any.type_url) return { kind: 'corrupt', raw: text, reason: 'proto_value has no type_url' };
  // `base64` carries the Any's `value` bytes; with `typeUrl` that is the whole Any.
  return { kind: 'proto', typeUrl: any.type_url, base64: Buffer.from(any.value ?? new Uint8Array()).toString('base64') };
}

function decodeNumber(kind: 'int' | 'double', raw: unknown): MlmdValue {
  const value = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : Number(asText(raw));
  if (typeof raw !== 'number' && !Number.isFinite(value)) {
    return { kind: 'corrupt', raw: asText(raw), reason: `${kind}_value is not a number` };
  }
  return { kind, value };
}

function asText(raw: unknown): string {
  // MySQL hands BLOB/MEDIUMBLOB columns over as Buffers; MLMD stores base64 text in them.
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  return String(raw);
}

// ------------------------------------------------------------------ Struct <-> JSON

interface StructMessage {
  fields?: Record<string, ValueMessage>;
}
interface ValueMessage {
  kind?: string;
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage;
  listValue?: { values?: ValueMessage[] };
}

function structToJson(message: StructMessage): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(message.fields ?? {})) setOwnKey(out, key, valueToJson(value));
  return out;
}

function valueToJson(v: ValueMessage): JsonValue {
  switch (v.kind) {
    case 'numberValue':
      return v.numberValue ?? 0;
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'structValue':
      return structToJson(v.structValue ?? {});
    case 'listValue':
      return (v.listValue?.values ?? []).map(valueToJson);
    default:
      // null_value, or a Value with no kind set (protobuf's JSON mapping has no better answer).
      return null;
  }
}

function toStructObject(obj: JsonObject): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) setOwnKey(fields, key, toValueObject(value));
  return { fields };
}

function toValueObject(v: JsonValue): unknown {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValueObject) } };
  return { structValue: toStructObject(v) };
}

