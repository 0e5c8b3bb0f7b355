import type { JsonObject, JsonValue, MlmdValue } from '../model.ts';
import { nonFiniteFromText } from '../values.ts';

/**
 * Values on the way back to MLMD: the typed provenance JSON the forward mapping keeps
 * (`{"int":5}`, `{"struct":{…}}`, …) and the plain `artifacts.Metadata` entries the KFP 3 launcher writes.
 */

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A provenance entry back to the MLMD value it was; `null` when it is not one of the typed shapes. */
export function fromTypedValue(v: JsonValue | undefined): MlmdValue | null {
  if (!isObject(v)) return null;
  const keys = Object.keys(v);
  if (keys.length !== 1) return null;
  const kind = keys[0]!;
  const inner = v[kind];
  switch (kind) {
    case 'int':
      return typeof inner === 'number' ? { kind: 'int', value: inner } : null;
    case 'double': {
      // NaN and the infinities are kept as their text (reject NON_FINITE_NUMBER).
      const value = typeof inner === 'number' ? inner : nonFiniteFromText(inner);
      return value === null ? null : { kind: 'double', value };
    }
    case 'string':
      return typeof inner === 'string' ? { kind: 'string', value: inner } : null;
    case 'bool':
      return typeof inner === 'boolean' ? { kind: 'bool', value: inner } : null;
    case 'struct':
      return isObject(inner) ? { kind: 'struct', value: inner } : null;
    case 'proto':
      return isObject(inner) && typeof inner.typeUrl === 'string' && typeof inner.base64 === 'string'
        ? { kind: 'proto', typeUrl: inner.typeUrl, base64: inner.base64 }
        : null;
    case 'corrupt':
      // The reason was reported when the row was migrated; the raw text is what MLMD held.
      return typeof inner === 'string' ? { kind: 'corrupt', raw: inner, reason: 'undecodable value kept from migration' } : null;
    default:
      return null;
  }
}

/**
 * One `artifacts.Metadata` entry as KFP 2.x's launcher stored it in MLMD (kfp-facts.md §A.5):
 * numbers as doubles, booleans as int 1/0, lists and objects inside the `{"list":…}` /
 * `{"struct":…}` wrappers the UI reads. `null` has no MLMD encoding and yields `null`.
 */
export function metadataToMlmdValue(v: JsonValue): MlmdValue | null {
  if (v === null) return null;
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'number') return { kind: 'double', value: v };
  if (typeof v === 'boolean') return { kind: 'int', value: v ? 1 : 0 };
  if (Array.isArray(v)) return { kind: 'struct', value: { list: v } };
  return { kind: 'struct', value: { struct: v } };
}

export const intValue = (value: number): MlmdValue => ({ kind: 'int', value });
export const stringValue = (value: string): MlmdValue => ({ kind: 'string', value });
export const structValue = (value: JsonObject): MlmdValue => ({ kind: 'struct', value });

export function parseJsonObject(text: string | null): JsonObject | null {
  const r = readJsonObject(text);
  return 'object' in r ? r.object : null;
}

/**
 * A JSON column that must hold an object: `{ object }` (null when the column is NULL), or
 * `{ problem }` saying why the text is not one — for callers that must report a corrupt row
 * rather than read it as empty.
 */
export function readJsonObject(text: string | null): { object: JsonObject | null } | { problem: string } {
  if (text === null) return { object: null };
  let v: JsonValue;
  try {
    v = JSON.parse(text) as JsonValue;
  } catch (e) {
    return { problem: `not JSON (${(e as Error).message})` };
  }
  return isObject(v) ? { object: v } : { problem: `JSON ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}, not an object` };
}
