import type { ArtifactRow, ArtifactTaskRow, CorruptColumn, JsonObject, MlmdArtifact, Props } from '../model.ts';
import { ARTIFACT_TYPE, ARTIFACT_TYPE_BY_SCHEMA_TITLE, isOutputIoType, SCHEMA_TITLE_KEY } from '../rules.ts';
import type { IdResolver } from './ids.ts';
import { nonFiniteFromText } from '../values.ts';
import { metadataToMlmdValue, readJsonObject, stringValue } from './values.ts';

/**
 * `artifacts` rows → MLMD artifacts (kfp-facts.md §F.5). The rows of one MLMD artifact are regrouped:
 * the Type-6 metric rows (and the Type-1 sidecar holding non-numeric entries) become one
 * `system.Metrics` artifact again.
 */

const ARTIFACT_STATE_LIVE = 2;
const METRICS_TYPE = 'system.Metrics';
const SCHEMA_TITLE_BY_TYPE: Record<number, string> = Object.fromEntries(
  Object.entries(ARTIFACT_TYPE_BY_SCHEMA_TITLE).map(([title, type]) => [type, title]),
);

export interface ArtifactIndex {
  artifacts: MlmdArtifact[];
  /** Artifact row UUID → MLMD artifact id. */
  idOfRow: Map<string, number>;
  /** Rows whose Metadata is not a JSON object: shown without the properties it held. */
  corrupt: CorruptColumn[];
}

interface Ctx {
  ids: IdResolver;
  typeId: (name: string) => number;
  /** The run's namespace: when an artifact has rows in several namespaces, these are the ones shown. */
  namespace: string;
  storeSessionInfo: string | null;
}

export function reverseArtifacts(rows: ArtifactRow[], links: ArtifactTaskRow[], ctx: Ctx): ArtifactIndex {
  // Each row's Metadata read once; a row whose text is not a JSON object is shown without it and reported.
  const corrupt: CorruptColumn[] = [];
  const metadata = new Map<string, JsonObject>();
  for (const r of rows) {
    const read = readJsonObject(r.Metadata);
    if ('problem' in read) corrupt.push({ table: 'artifacts', uuid: r.UUID, column: 'Metadata', mlmdId: null, problem: read.problem });
    metadata.set(r.UUID, 'object' in read ? (read.object ?? {}) : {});
  }
  const metadataOf = (r: ArtifactRow): JsonObject => metadata.get(r.UUID) ?? {};

  const linksOf = new Map<string, ArtifactTaskRow[]>();
  for (const l of links) {
    const list = linksOf.get(l.ArtifactID);
    if (list) list.push(l);
    else linksOf.set(l.ArtifactID, [l]);
  }
  // The link that says where an artifact came from: its OUTPUT link if the run has one.
  const originLink = (r: ArtifactRow) => {
    const ls = [...(linksOf.get(r.UUID) ?? [])].sort((a, b) => (a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0));
    return ls.find((l) => isOutputIoType(l.Type)) ?? ls[0];
  };

  // Group rows by the MLMD artifact they stand for. KFP-3-native metric rows have no id-map entry;
  // those of one output (task, key) belong together, as the launcher wrote them from one artifact.
  const groups = new Map<string, { id: number | null; rows: ArtifactRow[] }>();
  for (const r of [...rows].sort((a, b) => (a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0))) {
    const migrated = ctx.ids.migratedArtifact(r.UUID);
    let key: string;
    if (migrated !== undefined) key = `id:${migrated}`;
    else if (r.Type === ARTIFACT_TYPE.Metric) {
      const l = originLink(r);
      key = l ? `metric:${l.TaskID}:${l.ArtifactKey}:${r.Namespace}` : `row:${r.UUID}`;
    } else key = `row:${r.UUID}`;
    const g = groups.get(key) ?? { id: migrated ?? null, rows: [] };
    g.rows.push(r);
    groups.set(key, g);
  }

  const idOfRow = new Map<string, number>();
  const artifacts: MlmdArtifact[] = [];
  for (const g of groups.values()) {
    const shown = rowsOfOneNamespace(g.rows, ctx.namespace);
    // Rows are sorted by UUID, so a native group's first row (and so its allocated id) is stable.
    const id = g.id ?? ctx.ids.newArtifact(shown[0]!.UUID);
    for (const r of g.rows) idOfRow.set(r.UUID, id);
    artifacts.push(artifactOf(id, shown, originLink, metadataOf, ctx));
  }
  artifacts.sort((a, b) => a.id - b.id);
  for (const c of corrupt) c.mlmdId = idOfRow.get(c.uuid) ?? null;
  return { artifacts, idOfRow, corrupt };
}

/** One artifact migrated into several namespaces has a row set per namespace; show one set. */
function rowsOfOneNamespace(rows: ArtifactRow[], preferred: string): ArtifactRow[] {
  const namespaces = [...new Set(rows.map((r) => r.Namespace))].sort();
  const ns = namespaces.includes(preferred) ? preferred : namespaces[0];
  return rows.filter((r) => r.Namespace === ns);
}

function artifactOf(
  id: number,
  rows: ArtifactRow[],
  originLink: (r: ArtifactRow) => ArtifactTaskRow | undefined,
  metadataOf: (r: ArtifactRow) => JsonObject,
  ctx: Ctx,
): MlmdArtifact {
  const isSidecar = (r: ArtifactRow) => r.Type === ARTIFACT_TYPE.Artifact && metadataOf(r)[SCHEMA_TITLE_KEY] === METRICS_TYPE;
  const metricRows = rows.filter((r) => r.Type === ARTIFACT_TYPE.Metric);
  const main = rows.find((r) => r.Type !== ARTIFACT_TYPE.Metric) ?? null;
  const mainMetadata = main ? metadataOf(main) : {};
  const title = mainMetadata[SCHEMA_TITLE_KEY];
  const type =
    metricRows.length > 0 || (main !== null && isSidecar(main))
      ? METRICS_TYPE
      : typeof title === 'string' && title !== ''
        ? title
        : (SCHEMA_TITLE_BY_TYPE[main?.Type ?? ARTIFACT_TYPE.Artifact] ?? 'system.Artifact');

  const custom: Props = {};
  const doubles = main ? ctx.ids.nonFiniteDoubles.get(main.UUID) : undefined;
  for (const [k, v] of Object.entries(mainMetadata)) {
    if (k === SCHEMA_TITLE_KEY) continue;
    // A NaN or infinite double was written as its text; the id map says which texts were doubles.
    const nonFinite = doubles?.has(k) ? nonFiniteFromText(v) : null;
    const value = nonFinite !== null ? ({ kind: 'double', value: nonFinite } as const) : metadataToMlmdValue(v);
    if (value) custom[k] = value;
  }
  for (const r of metricRows) {
    const entries = Object.entries(metadataOf(r));
    if (entries.length === 0 && r.Name !== null && r.NumberValue !== null) entries.push([r.Name, r.NumberValue]);
    for (const [k, v] of entries) {
      const value = metadataToMlmdValue(v);
      if (value) custom[k] = value;
    }
  }
  // display_name: the row's Name; split metrics lost theirs, and KFP 2.x defaulted it to the output key.
  const displayName = main ? main.Name : metricRows[0] ? (originLink(metricRows[0])?.ArtifactKey ?? null) : null;
  if (displayName !== null) custom.display_name = stringValue(displayName);
  if (ctx.storeSessionInfo !== null) custom.store_session_info = stringValue(ctx.storeSessionInfo);

  return {
    id,
    typeId: ctx.typeId(type),
    type,
    uri: main ? main.URI : null,
    state: ARTIFACT_STATE_LIVE,
    name: null,
    createMs: Math.min(...rows.map((r) => r.CreatedAtInSec)) * 1000,
    updateMs: Math.max(...rows.map((r) => r.LastUpdateInSec)) * 1000,
    externalId: null,
    properties: {},
    customProperties: custom,
  };
}
