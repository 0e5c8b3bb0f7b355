import { goJsonStringify } from '../proto/kfp-json.ts';
import { ids, uriHash } from './identity.ts';
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
import { artifactMetadataValue, propString } from './values.ts';

/**
 * One MLMD artifact → its `artifacts` rows in one namespace (kfp-facts.md §F.2). Usually one row;
 * a `system.Metrics` artifact becomes one Type-6 row per metric key, as the KFP 3 launcher writes them.
 */
export interface MappedArtifact {
  artifact: MlmdArtifact;
  rows: ArtifactRow[];
  /** The row each metric key landed on (metrics only); links fan out over every row. */
  metricKeys: string[];
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
  const metadata = metadataOf(a, rejects);
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
    return {
      artifact: a,
      metricKeys: [],
      rows: [row(ids.artifact(a.id, namespace), type, uri, hashOf(uri), name, json(metadata), null)],
    };
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
      rejects.add('NON_NUMERIC_METRIC', 'artifact', a.id, `non-numeric metrics entries (${Object.keys(rest).join(', ')}) kept on a Type 1 sidecar row`);
    }
    rest[SCHEMA_TITLE_KEY] = title;
    rows.push(row(ids.metricSidecar(a.id, namespace), ARTIFACT_TYPE.Artifact, a.uri, hashOf(a.uri), name, json(rest), null));
  }
  return { artifact: a, rows, metricKeys };
}

function metadataOf(a: MlmdArtifact, rejects: RejectLog): JsonObject {
  const out: JsonObject = {};
  for (const props of [a.properties, a.customProperties]) {
    for (const [k, v] of Object.entries(props)) {
      if (ARTIFACT_PROPS_NOT_IN_METADATA.has(k)) continue;
      if (v.kind === 'corrupt') rejects.add('CORRUPT_PROPERTY', 'artifact', a.id, `property "${k}": ${v.reason}; kept as its raw text`);
      out[k] = artifactMetadataValue(v);
    }
  }
  return out;
}

/** Name: `display_name`; importer outputs without one take the URI's basename (as KFP 3's importer); else the output key. */
function artifactName(a: MlmdArtifact, origin: ArtifactOrigin | undefined): string | null {
  const display = propString(a.customProperties, 'display_name');
  if (display) return display;
  const fromImporter = origin?.executionType === MLMD_EXECUTION_TYPE.IMPORTER || origin?.executionType === MLMD_EXECUTION_TYPE.IMPORTER_WORKSPACE;
  if (fromImporter && a.uri) {
    const path = a.uri.replace(/[?#].*$/, '').replace(/\/+$/, '');
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base) return base;
  }
  return origin?.key ?? null;
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
    extra: r.Type === ARTIFACT_TYPE.Metric ? goJsonStringify({ metricKey: r.Name }) : null,
  }));
}
