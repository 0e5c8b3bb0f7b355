import type { JsonObject, JsonValue, MlmdValue, Props } from './model.ts';
import { setOwnKey } from '../util/own-key.ts';

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

/**
 * NaN and the infinities (PostgreSQL's double precision and SQLite's REAL store them in
 * `double_value`; a Struct's number_value can hold them too) have no form in a KFP 3 JSON column:
 * Go's encoding/json and protojson's google.protobuf.Value refuse them. They are written as the
 * text protojson gives a double *field* (reject NON_FINITE_NUMBER).
 */
export const NON_FINITE_TEXT = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY } as const;

/** A finite number as it is; a non-finite one as its NON_FINITE_TEXT. */
export function finiteNumber(n: number): number | string {
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** The double a NON_FINITE_TEXT stands for; `null` for any other value. */
export function nonFiniteFromText(v: unknown): number | null {
  return typeof v === 'string' && Object.hasOwn(NON_FINITE_TEXT, v) ? NON_FINITE_TEXT[v as keyof typeof NON_FINITE_TEXT] : null;
}

/** A JSON value with every non-finite number in it replaced by its text; the same object when it holds none. */
export function finiteJson(v: JsonValue): JsonValue {
  if (typeof v === 'number') return finiteNumber(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let out: JsonValue[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = finiteJson(v[i]!);
      if (x !== v[i] && !out) out = v.slice(0, i);
      if (out) out.push(x);
    }
    return out ?? v;
  }
  let out: JsonObject | null = null;
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = finiteJson(v[k]!);
    if (x !== v[k] && !out) {
      out = {};
      for (const before of keys.slice(0, i)) setOwnKey(out, before, v[before]!);
    }
    if (out) setOwnKey(out, k, x);
  }
  return out ?? v;
}

/** Where a property holds a non-finite number: `""` for the value itself, else the JSON path inside its struct (`.a[2]`). */
export function nonFinitePaths(v: MlmdValue): string[] {
  if (v.kind === 'double') return Number.isFinite(v.value) ? [] : [''];
  if (v.kind !== 'struct') return [];
  const out: string[] = [];
  const walk = (x: JsonValue, path: string): void => {
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) out.push(path);
    } else if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${path}[${i}]`));
    else if (x !== null && typeof x === 'object') for (const k of Object.keys(x)) walk(x[k]!, `${path}.${k}`);
  };
  walk(v.value, '');
  return out;
}

/** The NON_FINITE_NUMBER reason for one property, or `null` when it holds only finite numbers. */
export function nonFiniteReason(name: string, v: MlmdValue): string | null {
  const paths = nonFinitePaths(v);
  if (paths.length === 0) return null;
  if (v.kind === 'double') return `property "${name}" is the double ${v.value}; written as the string "${finiteNumber(v.value)}"`;
  return `property "${name}" holds NaN or an infinity at ${paths.join(', ')}; written as the string "NaN" / "Infinity" / "-Infinity"`;
}


/** A property as typed JSON, so that provenance keeps the MLMD value kind: `{"int":5}`, `{"struct":{…}}`, … */
export function typedValue(v: MlmdValue): JsonValue {
  switch (v.kind) {
    case 'double':
      // `{"double":"NaN"}`: the kind survives, so the reverse mapping gives the double back.
      return { double: finiteNumber(v.value) };
    case 'int':
    case 'string':
    case 'bool':
      return { [v.kind]: v.value };
    case 'struct':
      return { struct: finiteJson(v.value) };
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
      return finiteNumber(v.value);
    case 'string':
      return v.value;
    case 'bool':
      return v.value;
    case 'struct': {
      const value = finiteJson(v.value) as JsonObject;
      const keys = Object.keys(value);
      if (keys.length === 1 && (keys[0] === 'list' || keys[0] === 'struct')) return value[keys[0]] ?? null;
      return value;
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
