import type { JsonObject, JsonValue, MlmdValue, Props } from './model.ts';

/** Plain readers for KFP's custom properties, tolerant of the value kind drifting between KFP versions. */

export function propString(props: Props, name: string): string | null {
  const v = props[name];
  if (!v) return null;
  if (v.kind === 'string') return v.value;
  if (v.kind === 'int' || v.kind === 'double') return String(v.value);
  return null;
}

export function propInt(props: Props, name: string): number | null {
  const v = props[name];
  if (!v) return null;
  if (v.kind === 'int') return v.value;
  if (v.kind === 'double' && Number.isInteger(v.value)) return v.value;
  if (v.kind === 'string' && /^-?\d+$/.test(v.value)) return Number(v.value);
  return null;
}

export function propStruct(props: Props, name: string): JsonObject | null {
  const v = props[name];
  return v && v.kind === 'struct' ? v.value : null;
}

/** A property as typed JSON, so that provenance keeps the MLMD value kind: `{"int":5}`, `{"struct":{…}}`, … */
export function typedValue(v: MlmdValue): JsonValue {
  switch (v.kind) {
    case 'int':
    case 'double':
    case 'string':
    case 'bool':
      return { [v.kind]: v.value };
    case 'struct':
      return { struct: v.value };
    case 'proto':
      return { proto: { typeUrl: v.typeUrl, base64: v.base64 } };
    case 'corrupt':
      return { corrupt: v.raw };
  }
}

/**
 * An artifact property as the KFP 3 launcher would store it in `Metadata`: `{"list":X}` and `{"struct":Y}`
 * wrappers removed, 0/1 ints turned back into the SDK booleans they came from, other ints kept as numbers.
 */
export function artifactMetadataValue(v: MlmdValue): JsonValue {
  switch (v.kind) {
    case 'int':
      return v.value === 0 ? false : v.value === 1 ? true : v.value;
    case 'double':
      return v.value;
    case 'string':
      return v.value;
    case 'bool':
      return v.value;
    case 'struct': {
      const keys = Object.keys(v.value);
      if (keys.length === 1 && (keys[0] === 'list' || keys[0] === 'struct')) return v.value[keys[0]] ?? null;
      return v.value;
    }
    case 'proto':
      return { '@type': v.typeUrl, value: v.base64 };
    case 'corrupt':
      return v.raw;
  }
}

/**
 * `canonicalJson(a) === canonicalJson(b)` (lossy-codes.ts) without writing either: equality of JSON
 * values whatever the order of object keys. verify compares every field of every record, and
 * building the two strings was a fifth of its time. Numbers JSON cannot hold read as null and -0 as
 * 0, keys holding undefined do not count, and undefined, functions and symbols are all alike —
 * exactly as in the strings.
 */
export function canonicalEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const x = jsonAtom(a);
  const y = jsonAtom(b);
  if (x === y) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
  const xa = Array.isArray(x);
  if (xa !== Array.isArray(y)) return false;
  if (xa) {
    const ya = y as unknown[];
    if ((x as unknown[]).length !== ya.length) return false;
    return (x as unknown[]).every((v, i) => canonicalEqual(v, ya[i]));
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  let defined = 0;
  for (const k of Object.keys(xo)) {
    if (xo[k] === undefined) continue;
    defined++;
    if (!Object.hasOwn(yo, k) || yo[k] === undefined || !canonicalEqual(xo[k], yo[k])) return false;
  }
  for (const k of Object.keys(yo)) if (yo[k] !== undefined) defined--;
  return defined === 0;
}

/** What a value is for canonicalJson's equality: non-finite numbers are null, the unwritable are one `undefined`. */
function jsonAtom(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  return v;
}
