import { hash } from 'node:crypto';
import { encodeKfpJson } from '../proto/kfp-json.ts';
import type { JsonObject, JsonValue } from './model.ts';

/**
 * The cache key a KFP driver hashes into a task's `cache_fingerprint` (kfp-facts.md §B.2, §B.4):
 * the `CacheKey` message of proto/kfp/cache_key.proto, as protojson re-encoded by Go's
 * encoding/json, hashed with sha256. KFP 2.x and KFP 3 hash the same message; they differ in what
 * they put into it (cache-key-rules in rules.ts).
 */

/** An output artifact as the key keeps it: the driver clears the URI and everything but these. */
export interface CacheKeyOutputArtifact {
  /** The output key; absent before KFP 2.15, which provisioned outputs without a name. */
  name?: string;
  /** `ArtifactTypeSchema` in protojson form (`schemaTitle`, `instanceSchema`, `schemaVersion`, …); absent when the spec gives none. */
  type?: JsonObject;
  /** The output definition's metadata Struct; absent when the spec gives none, `{}` when it gives an empty one. */
  metadata?: JsonObject;
}

export interface CacheKey {
  /** Per input artifact key, the identities of its artifacts in resolution order. */
  inputArtifactNames: Record<string, string[]>;
  inputParameterValues: Record<string, JsonValue>;
  outputArtifactsSpec: Record<string, CacheKeyOutputArtifact>;
  /** Output parameter name → ParameterType value name. */
  outputParametersSpec: Record<string, string>;
  containerSpec: { image: string; cmdArgs: string[]; pvcNames: string[] };
}

/**
 * The exact bytes a driver hashes: protojson of the message (empty fields left out, well-known
 * types in their JSON form), decoded into Go's interface{} and encoded again by encoding/json
 * (keys sorted by bytes, HTML-safe escapes, float64 formatting). Throws KfpJsonError for what
 * protojson refuses — NaN or ±Infinity in a parameter value, a string that is not valid UTF-8 —
 * which a driver could not have hashed either.
 */
export function cacheKeyJson(key: CacheKey): string {
  return encodeKfpJson('CacheKey', {
    inputArtifactNames: Object.fromEntries(Object.entries(key.inputArtifactNames).map(([k, names]) => [k, { artifactNames: names }])),
    inputParameterValues: key.inputParameterValues,
    outputArtifactsSpec: key.outputArtifactsSpec,
    outputParametersSpec: key.outputParametersSpec,
    containerSpec: key.containerSpec,
  });
}

/** `GenerateFingerPrint`: lower-case hex sha256 of `cacheKeyJson`. */
export function cacheKeyFingerprint(key: CacheKey): string {
  return hash('sha256', cacheKeyJson(key), 'hex');
}

/**
 * A task with `cachingOptions.cacheKey` set is keyed by that string alone, scoped by its
 * component: sha256 of the component reference name, a NUL byte, and the key (name and NUL only
 * when the name is non-empty). KFP 2.x (master) and KFP 3 agree, so such a task's MLMD
 * fingerprint already is its KFP 3 key.
 */
export function customCacheKeyFingerprint(componentRefName: string, cacheKey: string): string {
  const prefix = componentRefName === '' ? '' : `${componentRefName}\u0000`;
  return hash('sha256', `${prefix}${cacheKey}`, 'hex');
}
