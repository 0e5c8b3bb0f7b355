import { goJsonStringify } from '../proto/kfp-json.ts';
import { artifactIdentityKey, ids, uriHash } from './identity.ts';
import type { ArtifactOrigin, ArtifactRow, IdMapRow, JsonObject, MlmdArtifact } from './model.ts';
import type { RejectLog } from './rejects.ts';
import {
  ARTIFACT_PROPS_NOT_IN_METADATA,
  ARTIFACT_TYPE,
  ARTIFACT_TYPE_BY_SCHEMA_TITLE,
  LIMITS,
  MLMD_EXECUTION_TYPE,
  SCHEMA_TITLE_KEY,
  URI_LESS_ARTIFACT_TYPES,
} from './rules.ts';
import { artifactMetadataValue, nonFiniteReason, propString } from './values.ts';

/**
 * One MLMD artifact → its `artifacts` rows in one namespace (kfp-facts.md §F.2). Usually one row;
 * a `system.Metrics` artifact becomes one Type-6 row per metric key, as the KFP 3 launcher writes them.
 */
export interface MappedArtifact {
  artifact: MlmdArtifact;
  rows: ArtifactRow[];
  /** The row each metric key landed on (metrics only); links fan out over every row. */
  metricKeys: string[];
  /**
   * An imported artifact's IdentityKey, as KFP 3 computes it for a `reimport=false` import of the
   * same thing. Not written with the row: in one namespace only one artifact may hold a key, which
   * the whole migration decides afterwards (load/identity-keys.ts); the id map carries it there.
   */
  identityKey?: string;
  /**
   * Metadata keys holding a NaN or infinite double written as its text (reject NON_FINITE_NUMBER):
   * kept in the id map, so the reverse mapping gives the double back and a genuine string "NaN" stays a string.
   */
  nonFiniteDoubles?: string[];
}

export function toArtifactRows(
  a: MlmdArtifact,
  origin: ArtifactOrigin | undefined,
  namespace: string,
  rejects: RejectLog,
  /** Rows for counting only (see `outlineRun`): ids, types, names and every reject; no Metadata or URIHash. */
  outline = false,
): MappedArtifact | null {
  const json = outline ? () => '' : goJsonStringify;
  const hashOf = outline ? () => '' : uriHash;
  if (a.uri !== null && a.uri.length > LIMITS.uri) {
    rejects.add('URI_TOO_LONG', 'artifact', a.id, `URI is ${a.uri.length} characters (limit ${LIMITS.uri}); artifact and its links not migrated`);
    return null;
  }
  const title = a.type ?? '';
  const type = ARTIFACT_TYPE_BY_SCHEMA_TITLE[title] ?? ARTIFACT_TYPE.Artifact;
  const nonFiniteDoubles: string[] = [];
  const metadata = metadataOf(a, rejects, nonFiniteDoubles);
  if (type === ARTIFACT_TYPE.Artifact && title !== 'system.Artifact' && title !== '') metadata[SCHEMA_TITLE_KEY] = title;

  // Every row of the artifact in one shape, built field by field: spreading a shared base into each
  // row took a generic copy per row, a large part of mapping an artifact.
  const createdAt = Math.floor(a.createMs / 1000);
  const updatedAt = Math.floor(a.updateMs / 1000);
  const row = (UUID: string, Type: number, URI: string | null, URIHash: string, Name: string | null, Metadata: string, NumberValue: number | null): ArtifactRow => ({
    UUID,
    Namespace: namespace,
    Type,
    URI,
    URIHash,
    Name,
    Description: '',
    CreatedAtInSec: createdAt,
    LastUpdateInSec: updatedAt,
    Metadata,
    NumberValue,
    IdentityKey: null,
  });
  const name = truncateName(artifactName(a, origin), a, rejects);

  if (type !== ARTIFACT_TYPE.Metric) {
    const uri = URI_LESS_ARTIFACT_TYPES.has(type) ? null : a.uri;
    const only = row(ids.artifact(a.id, namespace), type, uri, hashOf(uri), name, json(metadata), null);
    const mapped: MappedArtifact = { artifact: a, metricKeys: [], rows: [only] };
    if (nonFiniteDoubles.length > 0) mapped.nonFiniteDoubles = nonFiniteDoubles;
    if (isImported(origin) && !outline) mapped.identityKey = artifactIdentityKey(only);
    return mapped;
  }

  const rows: ArtifactRow[] = [];
  const metricKeys: string[] = [];
  const rest: JsonObject = {};
  for (const [key, value] of Object.entries(metadata).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    if (typeof value === 'number') {
      rows.push(row(ids.metricRow(a.id, namespace, key), ARTIFACT_TYPE.Metric, null, '', truncateName(key, a, rejects), json({ [key]: value }), value));
      metricKeys.push(key);
    } else {
      rest[key] = value;
    }
  }
  if (Object.keys(rest).length > 0 || rows.length === 0) {
    if (rows.length === 0 && Object.keys(rest).length === 0) {
      rejects.add('EMPTY_METRICS', 'artifact', a.id, 'system.Metrics artifact has no entries; kept as a Type 1 row so its links survive');
    } else {
      // A NaN or infinite entry is there as its text and already reported as NON_FINITE_NUMBER.
      const nonNumeric = Object.keys(rest).filter((k) => !nonFiniteDoubles.includes(k));
      if (nonNumeric.length > 0) rejects.add('NON_NUMERIC_METRIC', 'artifact', a.id, `non-numeric metrics entries (${nonNumeric.join(', ')}) kept on a Type 1 sidecar row`);
    }
    rest[SCHEMA_TITLE_KEY] = title;
    rows.push(row(ids.metricSidecar(a.id, namespace), ARTIFACT_TYPE.Artifact, a.uri, hashOf(a.uri), name, json(rest), null));
  }
  return nonFiniteDoubles.length > 0 ? { artifact: a, rows, metricKeys, nonFiniteDoubles } : { artifact: a, rows, metricKeys };
}

function metadataOf(a: MlmdArtifact, rejects: RejectLog, nonFiniteDoubles: string[]): JsonObject {
  const out: JsonObject = {};
  for (const props of [a.properties, a.customProperties]) {
    for (const [k, v] of Object.entries(props)) {
      if (ARTIFACT_PROPS_NOT_IN_METADATA.has(k)) continue;
      if (v.kind === 'corrupt') rejects.add('CORRUPT_PROPERTY', 'artifact', a.id, `property "${k}": ${v.reason}; kept as its raw text`);
      const nonFinite = nonFiniteReason(k, v);
      if (nonFinite !== null) {
        rejects.add('NON_FINITE_NUMBER', 'artifact', a.id, nonFinite);
        if (v.kind === 'double') nonFiniteDoubles.push(k);
      }
      out[k] = artifactMetadataValue(v);
    }
  }
  return out;
}

/** Name: `display_name`; importer outputs without one take the name KFP 3's importer gives them (`inferArtifactName`); else the output key. */
function artifactName(a: MlmdArtifact, origin: ArtifactOrigin | undefined): string | null {
  const display = propString(a.customProperties, 'display_name');
  if (display) return display;
  if (isImported(origin) && a.uri) {
    const inferred = inferArtifactName(a.uri);
    if (inferred !== null) return inferred;
  }
  return origin?.key ?? null;
}

const isImported = (origin: ArtifactOrigin | undefined) =>
  origin?.executionType === MLMD_EXECUTION_TYPE.IMPORTER || origin?.executionType === MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE;

/**
 * The name KFP 3's importer gives an artifact it imports (`inferArtifactName`): the last element
 * of the URI's path as Go's url.Parse reads it (percent-escapes decoded, query and fragment
 * dropped) and path.Base cleans it; for a URI without a scheme, of the URI itself. `null` where
 * url.Parse fails (the importer then imports nothing).
 */
export function inferArtifactName(uri: string): string | null {
  const withoutFragment = uri.split('#', 1)[0]!;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(withoutFragment);
  if (!scheme) {
    // url.Parse refuses a leading colon, a colon in the first path segment and a malformed escape.
    if (/^[^/?]*:/.test(withoutFragment)) return null;
    try {
      goPathUnescape(withoutFragment.split('?', 1)[0]!);
    } catch {
      return null;
    }
    return goPathBase(uri.endsWith('/') ? uri.slice(0, -1) : uri);
  }
  let rest = withoutFragment.slice(scheme[0].length);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('/')) return '.'; // an opaque URI has no path
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash < 0 ? '' : rest.slice(slash);
  }
  let path: string;
  try {
    path = goPathUnescape(rest);
  } catch {
    return null;
  }
  return goPathBase(path);
}

/** url.PathUnescape: %XX decoded as bytes, a malformed escape an error. */
function goPathUnescape(s: string): string {
  if (!s.includes('%')) return s;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new Error(`invalid URL escape in ${JSON.stringify(s)}`);
  const bytes: number[] = [];
  const utf8 = Buffer.from(s, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    if (utf8[i] === 0x25) {
      bytes.push(parseInt(String.fromCharCode(utf8[i + 1]!, utf8[i + 2]!), 16));
      i += 2;
    } else bytes.push(utf8[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's path.Base: the last element, trailing slashes removed; "." for "", "/" for slashes only. */
function goPathBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || '/';
}

function truncateName(name: string | null, a: MlmdArtifact, rejects: RejectLog): string | null {
  if (name === null || [...name].length <= LIMITS.artifactName) return name;
  rejects.add('TRUNCATED_STRING', 'artifact', a.id, `name is ${[...name].length} characters; truncated to ${LIMITS.artifactName}`);
  return [...name].slice(0, LIMITS.artifactName).join('');
}

export function artifactIdMapRows(m: MappedArtifact): IdMapRow[] {
  return m.rows.map((r) => ({
    kind: 'artifact',
    mlmdId: m.artifact.id,
    kfpUuid: r.UUID,
    runUuid: null,
    extra: r.Type === ARTIFACT_TYPE.Metric ? goJsonStringify({ metricKey: r.Name }) : otherRowExtra(m),
  }));
}

/** The id-map extra of an artifact's one non-metric row (its only row, or the metrics sidecar). */
function otherRowExtra(m: MappedArtifact): string | null {
  if (!m.identityKey && !m.nonFiniteDoubles) return null;
  return goJsonStringify({ ...(m.identityKey ? { identityKey: m.identityKey } : {}), ...(m.nonFiniteDoubles ? { nonFiniteDoubles: m.nonFiniteDoubles } : {}) });
}
