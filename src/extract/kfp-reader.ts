/**
 * Reads migrated KFP 3 rows back, a batch of runs at a time, in the shape the reverse mapping takes
 * (`KfpRunRows`). Used by `verify` and the shim; a fixed number of queries per batch.
 */
import { forceIndex } from '../db/dialect.ts';
import type { Db, Queryable } from '../db/connection.ts';
import { eq, type SQL } from 'drizzle-orm';
import { type KfpTables, kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import type { KfpRunRows } from '../transform/reverse.ts';
import type { ArtifactRow, ArtifactTaskRow, IdMapRow, IdKind, KfpRunDetails, TaskRow } from '../transform/model.ts';
import { chunked, num, numOrNull, placeholders, textOrNull } from '../db/sql.ts';
import { BridgeError } from '../errors.ts';

type Row = Record<string, unknown>;

/** mlmd_id_map rows matching `where`, with the columns toIdMapRow reads. */
export function readIdMap(kfp: Queryable, where: (t: KfpTables['idMap']) => SQL | undefined): Promise<Row[]> {
  const { idMap: t } = kfpTables(kfp);
  return orm(kfp).select({ kind: t.kind, mlmd_id: t.mlmd_id, kfp_uuid: t.kfp_uuid, run_uuid: t.run_uuid, extra: t.extra }).from(t).where(where(t));
}

const str = (v: unknown): string => textOrNull(v) ?? '';

/** The pipeline context a run context's id-map entry names; malformed bookkeeping stops the reader (STATE_CORRUPT) rather than losing the link. */
function pipelineContextIdOf(row: IdMapRow): number | undefined {
  if (row.kind !== 'run_context' || !row.extra) return undefined;
  let extra: unknown;
  try {
    extra = JSON.parse(row.extra);
  } catch {
    extra = undefined;
  }
  const id = typeof extra === 'object' && extra !== null && !Array.isArray(extra) ? (extra as { pipelineContextId?: unknown }).pipelineContextId : null;
  if (id === undefined || typeof id === 'number') return id;
  throw new BridgeError(
    'STATE_CORRUPT',
    `the mlmd_id_map entry of run context ${row.mlmdId} (run ${row.runUuid}) has an extra that is not a JSON object with a numeric pipelineContextId: ${JSON.stringify(row.extra.slice(0, 80))}`,
    'restore mlmd_id_map from the backup of the KFP database taken before migrating, or roll back and migrate again',
  );
}

export function toTaskRow(r: Row): TaskRow {
  return {
    UUID: str(r.UUID),
    Namespace: str(r.Namespace),
    RunUUID: str(r.RunUUID),
    pods: str(r.pods),
    CreatedAtInSec: num(r.CreatedAtInSec),
    StartedInSec: num(r.StartedInSec ?? 0),
    FinishedInSec: num(r.FinishedInSec ?? 0),
    Fingerprint: str(r.Fingerprint),
    Name: textOrNull(r.Name),
    DisplayName: textOrNull(r.DisplayName),
    ParentTaskUUID: textOrNull(r.ParentTaskUUID),
    State: num(r.State),
    StatusMetadata: textOrNull(r.StatusMetadata),
    StateHistory: textOrNull(r.StateHistory),
    InputParameters: textOrNull(r.InputParameters),
    OutputParameters: textOrNull(r.OutputParameters),
    Type: num(r.Type),
    TypeAttrs: str(r.TypeAttrs),
    ScopePath: textOrNull(r.ScopePath),
    LogicalKey: textOrNull(r.LogicalKey),
  };
}

export function toArtifactRow(r: Row): ArtifactRow {
  return {
    UUID: str(r.UUID),
    Namespace: str(r.Namespace),
    Type: numOrNull(r.Type),
    URI: textOrNull(r.URI),
    URIHash: textOrNull(r.URIHash),
    Name: textOrNull(r.Name),
    Description: textOrNull(r.Description),
    CreatedAtInSec: num(r.CreatedAtInSec),
    LastUpdateInSec: num(r.LastUpdateInSec),
    Metadata: textOrNull(r.Metadata),
    NumberValue: numOrNull(r.NumberValue),
    IdentityKey: textOrNull(r.IdentityKey),
  };
}

export function toLinkRow(r: Row): ArtifactTaskRow {
  return {
    UUID: str(r.UUID),
    ArtifactID: str(r.ArtifactID),
    TaskID: str(r.TaskID),
    Type: num(r.Type),
    Iteration: num(r.Iteration),
    RunUUID: str(r.RunUUID),
    Producer: textOrNull(r.Producer),
    ArtifactKey: str(r.ArtifactKey),
  };
}

export function toIdMapRow(r: Row): IdMapRow {
  return { kind: str(r.kind) as IdKind, mlmdId: num(r.mlmd_id), kfpUuid: str(r.kfp_uuid), runUuid: textOrNull(r.run_uuid), extra: textOrNull(r.extra) };
}

/**
 * Where the id-map rows shared by many runs come from. By default they are read with each batch;
 * a long-lived reader (the shim) keeps them and passes a source that answers from memory.
 */
export interface SharedIdMapRows {
  /** Every mlmd_id_map row of kind 'type'. */
  typeRows(): Promise<Row[]>;
  /** The mlmd_id_map rows of kind 'pipeline_context' with these MLMD ids. */
  pipelineRows(ids: readonly number[]): Promise<Row[]>;
  /** Told the artifact rows a batch links as soon as they are known, to read what it needs of them alongside. */
  artifactRowsRead?(uuids: readonly string[]): Promise<void>;
}

export interface ReadKfpRowsOptions {
  withIdMap?: boolean;
  shared?: SharedIdMapRows;
}

/** The KFP rows of the given runs. Runs without a run_details entry in `runDetails` are left out. */
export async function readKfpRunRows(kfp: Db, runDetails: Map<string, KfpRunDetails>, opts: ReadKfpRowsOptions = {}): Promise<Map<string, KfpRunRows>> {
  return readKfpRunRowsWith(kfp, [...runDetails.keys()], Promise.resolve(runDetails), opts);
}

/**
 * The same, for runs whose run_details rows are still being read (`details`): the row reads start
 * at once instead of one round trip later. Runs missing from `details` are left out.
 */
export async function readKfpRunRowsWith(
  kfp: Db,
  uuids: readonly string[],
  details: Promise<Map<string, KfpRunDetails>>,
  opts: ReadKfpRowsOptions = {},
): Promise<Map<string, KfpRunRows>> {
  const withIdMap = opts.withIdMap ?? true;
  // The statements of a batch do not depend on each other: issued together, a pooled Db runs them on
  // several connections at once (a single-connection Db simply queues them), so a batch costs about
  // one round trip instead of one per statement.
  const none = Promise.resolve([] as Row[]);
  const shared = opts.shared;
  const typeRowsRaw = !withIdMap ? none : shared ? shared.typeRows() : readIdMap(kfp, (t) => eq(t.kind, 'type'));
  const allPipelineRows = withIdMap && !shared ? readIdMap(kfp, (t) => eq(t.kind, 'pipeline_context')) : none;
  const batches = (async () => {
    const out: BatchRows[] = [];
    for (const batch of chunked([...uuids])) if (batch.length > 0) out.push(await readBatch(kfp, batch, withIdMap, shared));
    return out;
  })();
  // Everything is awaited together, so a failure of one read never leaves another rejecting unobserved.
  const [runDetails, typeRows, pipelineRowsRaw, batchRows] = await Promise.all([details, typeRowsRaw, allPipelineRows, batches]);

  const pipelineRows = new Map<number, IdMapRow>();
  for (const r of pipelineRowsRaw) pipelineRows.set(num(r.mlmd_id), toIdMapRow(r));
  for (const b of batchRows) for (const r of b.pipelineRows) pipelineRows.set(num(r.mlmd_id), toIdMapRow(r));
  const types = typeRows.map(toIdMapRow);

  const out = new Map<string, KfpRunRows>();
  for (const [uuid, run] of runDetails) out.set(uuid, { run, tasks: [], links: [], artifacts: [], idMap: [] });
  for (const { uuids: batchUuids, tasks, links, artifacts, runMap, artifactMap } of batchRows) {
    const artifactById = new Map(artifacts.map((a) => [str(a.UUID), toArtifactRow(a)]));
    const artifactIdMap = new Map<string, IdMapRow[]>();
    for (const r of artifactMap.map(toIdMapRow)) artifactIdMap.set(r.kfpUuid, [...(artifactIdMap.get(r.kfpUuid) ?? []), r]);

    for (const t of tasks) out.get(str(t.RunUUID))?.tasks.push(toTaskRow(t));
    for (const l of links) out.get(str(l.RunUUID))?.links.push(toLinkRow(l));
    for (const r of runMap) {
      const row = toIdMapRow(r);
      const rows = out.get(str(r.run_uuid));
      if (!rows) continue;
      rows.idMap.push(row);
      const pipelineId = pipelineContextIdOf(row);
      const pipeline = pipelineId === undefined ? undefined : pipelineRows.get(pipelineId);
      if (pipeline) rows.idMap.push(pipeline);
    }
    for (const uuid of batchUuids) {
      const rows = out.get(uuid);
      if (!rows) continue;
      const seen = new Set<string>();
      for (const l of rows.links) {
        if (seen.has(l.ArtifactID)) continue;
        seen.add(l.ArtifactID);
        const a = artifactById.get(l.ArtifactID);
        if (a) rows.artifacts.push(a);
        rows.idMap.push(...(artifactIdMap.get(l.ArtifactID) ?? []));
      }
    }
  }
  for (const rows of out.values()) {
    if (withIdMap) rows.idMap.push(...types);
    // Deterministic order, whatever the database returned.
    rows.tasks.sort((x, y) => (x.UUID < y.UUID ? -1 : 1));
    rows.links.sort((x, y) => (x.UUID < y.UUID ? -1 : 1));
    rows.artifacts.sort((x, y) => (x.UUID < y.UUID ? -1 : 1));
  }
  return out;
}

interface BatchRows {
  uuids: string[];
  tasks: Row[];
  links: Row[];
  artifacts: Row[];
  runMap: Row[];
  artifactMap: Row[];
  /** Pipeline-context rows fetched for this batch (only with a shared source). */
  pipelineRows: Row[];
}

async function readBatch(kfp: Db, uuids: string[], withIdMap: boolean, shared: SharedIdMapRows | undefined): Promise<BatchRows> {
  const none = Promise.resolve([] as Row[]);
  // Raw SQL: these bulk reads (every row of a batch of runs, for the shim and verify) took 1.4–2× as
  // long through drizzle, measured side by side on 200 runs (3,035 rows) on MariaDB and PostgreSQL.
  // Backtick-quoted names: the KFP 3 columns are mixed case (quoted on PostgreSQL).
  const ph = placeholders(uuids.length);
  const [tasks, links, artifacts, runMap] = await Promise.all([
    kfp.all<Row>(`SELECT * FROM tasks WHERE \`RunUUID\` IN (${ph})`, uuids),
    kfp.all<Row>(`SELECT * FROM artifact_tasks WHERE \`RunUUID\` IN (${ph})`, uuids),
    kfp.all<Row>(`SELECT a.* FROM artifacts a WHERE a.\`UUID\` IN (SELECT l.\`ArtifactID\` FROM artifact_tasks l WHERE l.\`RunUUID\` IN (${ph}))`, uuids),
    withIdMap ? kfp.all<Row>(`SELECT kind, mlmd_id, kfp_uuid, run_uuid, extra FROM mlmd_id_map WHERE run_uuid IN (${ph})`, uuids) : none,
  ]);
  // By the artifacts' own ids, once they are known: asked as a semi-join on the links, MySQL
  // scanned every artifact entry of the map for each batch.
  const artifactMapReads: Promise<Row[]>[] = [];
  if (withIdMap) {
    const byUuid = forceIndex(kfp, 'idx_mlmd_id_map_kfp_uuid');
    for (const ids of chunked(artifacts.map((a) => str(a.UUID)))) {
      if (ids.length === 0) continue;
      artifactMapReads.push(
        // Raw SQL: pinned to the kfp_uuid index on MySQL (FORCE INDEX), which the shared builder cannot say.
        kfp.all<Row>(`SELECT kind, mlmd_id, kfp_uuid, run_uuid, extra FROM mlmd_id_map${byUuid} WHERE kind = 'artifact' AND kfp_uuid IN (${placeholders(ids.length)})`, ids),
      );
    }
  }
  const pipelineIds = shared ? [...new Set(runMap.map(toIdMapRow).map(pipelineContextIdOf).filter((id): id is number => id !== undefined))] : [];
  const [artifactMap, pipelineRows] = await Promise.all([
    Promise.all(artifactMapReads).then((parts) => parts.flat()),
    shared && pipelineIds.length > 0 ? shared.pipelineRows(pipelineIds) : none,
    shared?.artifactRowsRead && artifacts.length > 0 ? shared.artifactRowsRead(artifacts.map((a) => str(a.UUID))) : undefined,
  ]);
  return { uuids, tasks, links, artifacts, runMap, artifactMap, pipelineRows };
}
