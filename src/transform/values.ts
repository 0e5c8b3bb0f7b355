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

/** Equality of two JSON values, whatever the order of object keys. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => jsonEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
