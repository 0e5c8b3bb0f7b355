/**
 * How MLMD stores a `struct_value`: "mlmd-struct::" followed by the standard, padded base64 of a
 * serialized google.protobuf.Struct, in `string_value` (mlmd-source.md §1.3).
 */
import protobuf from 'protobufjs';
import type { JsonObject, JsonValue } from '../transform/model.ts';

export const MLMD_STRUCT_PREFIX = 'mlmd-struct::';

const structDescriptor = protobuf.common.get('google/protobuf/struct.proto');
if (!structDescriptor) throw new Error('protobufjs does not ship google/protobuf/struct.proto');
const StructType = protobuf.Root.fromJSON(structDescriptor).lookupType('google.protobuf.Struct');

/** The protobufjs object form of a google.protobuf.Value. */
function toValue(v: JsonValue): Record<string, unknown> {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v) };
}

function toStruct(o: JsonObject): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = toValue(v);
  return { fields };
}

export function encodeStructBytes(o: JsonObject): Uint8Array {
  return StructType.encode(StructType.fromObject(toStruct(o))).finish();
}

/** The `string_value` text MLMD writes for a struct property. */
export function mlmdStruct(o: JsonObject): string {
  return MLMD_STRUCT_PREFIX + Buffer.from(encodeStructBytes(o)).toString('base64');
}

function fromValue(v: Record<string, unknown>): JsonValue {
  if ('numberValue' in v) return v.numberValue as number;
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('listValue' in v) return (((v.listValue as { values?: Record<string, unknown>[] }).values) ?? []).map(fromValue);
  if ('structValue' in v) return fromStruct(v.structValue as Record<string, unknown>);
  return null;
}

function fromStruct(s: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries((s.fields as Record<string, Record<string, unknown>>) ?? {})) out[k] = fromValue(v);
  return out;
}

/** Decodes a "mlmd-struct::" text back to JSON; throws on a broken payload (tests use it to prove what they planted). */
export function decodeMlmdStruct(text: string): JsonObject {
  if (!text.startsWith(MLMD_STRUCT_PREFIX)) throw new Error('not an mlmd-struct value');
  const b64 = text.slice(MLMD_STRUCT_PREFIX.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('not standard padded base64');
  const msg = StructType.decode(Buffer.from(b64, 'base64'));
  return fromStruct(StructType.toObject(msg, { oneofs: false }) as Record<string, unknown>);
}
