/**
 * How MLMD stores a `struct_value`: "mlmd-struct::" followed by the standard, padded base64 of a
 * serialized google.protobuf.Struct, in `string_value` (mlmd-source.md §1.3). The codec is
 * extract's (values.ts); the seed writes with it, and tests read planted values back strictly.
 */
import { decodeStructText, encodeStructValue, STRUCT_PREFIX } from '../extract/values.ts';
import type { JsonObject } from '../transform/model.ts';

/** The `string_value` text MLMD writes for a struct property. */
export const mlmdStruct: (o: JsonObject) => string = encodeStructValue;

/** Decodes a "mlmd-struct::" text back to JSON; throws on a broken payload (tests use it to prove what they planted). */
export function decodeMlmdStruct(text: string): JsonObject {
  if (!text.startsWith(STRUCT_PREFIX)) throw new Error('not an mlmd-struct value');
  const b64 = text.slice(STRUCT_PREFIX.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('not standard padded base64');
  const v = decodeStructText(text);
  if (v.kind !== 'struct') throw new Error(v.kind === 'corrupt' ? v.reason : `not a struct (${v.kind})`);
  return v.value;
}
