/**
 * Reads a batch of KFP runs (their `system.PipelineRun` contexts) as `RunBundle`s.
 *
 * A batch costs the same fixed number of statements however large its runs are (only id lists
 * longer than IN_LIST_CHUNK are split). Each statement names its rows by an explicit id list taken
 * from the previous one — contexts → associations → executions and events → artifacts — rather
 * than by nested IN (SELECT …): with those, MariaDB's semi-join optimizer sometimes chose a full
 * scan of the property table joined by block nested loop, and one batch took seconds instead of
 * milliseconds. Dangling references (an Association to a
 * missing execution, an Event naming a missing artifact) simply fall out of the joins: MLMD has
 * no foreign keys, and a migration must degrade rather than fail on them.
 */
import type { Db, Param } from '../db/connection.ts';
import { forceIndex } from '../db/dialect.ts';
import type { Dialect } from '../db/url.ts';
import { LruMap } from '../util/lru-map.ts';
import type {
  ArtifactOrigin,
  KfpRunDetails,
  MlmdArtifact,
  MlmdContext,
  MlmdEvent,
  MlmdExecution,
  PathStep,
  Props,
  RunBundle,
} from '../transform/model.ts';
import { EVENT_TYPE } from '../transform/model.ts';
import type { ColumnCatalog } from './schema-version.ts';
import { chunked, groupBy, num, numOrNull, placeholders, textOrNull } from '../db/sql.ts';
import { splitProperties, type PropertyValueColumns } from './values.ts';

export const PIPELINE_RUN_TYPE = 'system.PipelineRun';
export const PIPELINE_TYPE = 'system.Pipeline';

type Row = Record<string, unknown>;
type PropertyRow = PropertyValueColumns & { owner_id: unknown; name: unknown; is_custom_property: unknown };
type PathRow = { event_id: unknown; is_index_step: unknown; step_index: unknown; step_key: unknown };

/** One chunk of run context ids, as the IN list of the statements that take them. */
interface ChunkScope {
  ids: number[];
  ctxIn: string;
  /** The same parameters for every use of `ctxIn`. */
  params(times: number): Param[];
}

export async function readRunBundles(
  db: Db,
  catalog: ColumnCatalog,
  contextIds: number[],
  runDetails: Map<string, KfpRunDetails>,
): Promise<RunBundle[]> {
  const byId = new Map<number, RunBundle>();
  const unique = [...new Set(contextIds)];
  for (const ids of chunked(unique)) {
    for (const bundle of await readChunk(db, catalog, scopeFor(ids), runDetails)) byId.set(bundle.runContext.id, bundle);
  }
  return unique.flatMap((id) => {
    const b = byId.get(id);
    return b ? [b] : [];
  });
}

/** How many `system.PipelineRun` contexts the database holds. */
export async function countRunContexts(db: Db): Promise<number> {
  const rows = await db.all<Row>(
    'SELECT COUNT(*) AS n FROM `Context` c JOIN `Type` t ON t.`id` = c.`type_id` WHERE t.`name` = ? AND t.`type_kind` = 2',
    [PIPELINE_RUN_TYPE],
  );
  return num(rows[0]?.n ?? 0);
}

/**
 * The `system.PipelineRun` contexts (id and run UUID) in ascending id order, one page at a time
 * (keyset pagination), so a caller walking millions of runs holds one page, not the list.
 */
export async function* runContextPages(db: Db, pageSize: number): AsyncIterable<{ id: number; name: string }[]> {
  const types = await db.all<Row>('SELECT `id` FROM `Type` WHERE `name` = ? AND `type_kind` = 2', [PIPELINE_RUN_TYPE]);
  const typeIds = types.map((t) => num(t.id));
  if (typeIds.length === 0) return;
  // Walking the primary key keeps every page O(page) however many runs precede it; the (type_id, name)
  // index would make the server sort all remaining runs of the type for each page.
  const byId = forceIndex(db, 'PRIMARY');
  let after = -1;
  for (;;) {
    const rows = await db.all<Row>(
      `SELECT c.\`id\`, c.\`name\` FROM \`Context\` c${byId} WHERE c.\`type_id\` IN (${placeholders(typeIds.length)}) AND c.\`id\` > ? ORDER BY c.\`id\` LIMIT ${Math.max(1, Math.floor(pageSize))}`,
      [...typeIds, after],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => ({ id: num(r.id), name: String(r.name) }));
    after = num(rows[rows.length - 1]!.id);
    if (rows.length < pageSize) return;
  }
}

function scopeFor(ids: number[]): ChunkScope {
  return { ids, ctxIn: placeholders(ids.length), params: (times) => Array.from({ length: times }, () => ids).flat() };
}

/**
 * Runs a statement once per chunk of ids — and once even for no ids (`IN (NULL)` matches nothing),
 * so that the number of statements per batch does not depend on what the batch holds.
 */
async function byIdChunks<T>(ids: readonly number[], query: (inList: string, params: number[]) => Promise<T[]>): Promise<T[]> {
  const chunks = ids.length === 0 ? [[]] : chunked(ids);
  const out: T[] = [];
  for (const c of chunks) out.push(...(await query(c.length === 0 ? 'NULL' : placeholders(c.length), c)));
  return out;
}

function uniqueSorted(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

async function readChunk(db: Db, catalog: ColumnCatalog, scope: ChunkScope, runDetails: Map<string, KfpRunDetails>): Promise<RunBundle[]> {
  const contexts = await readContexts(db, catalog, scope);
  const runContexts = contexts.filter((c) => c.childId === null);
  if (runContexts.length === 0) return [];
  const pipelineByRun = new Map<number, MlmdContext>();
  for (const c of contexts) {
    // Lowest parent id wins when a run somehow has several system.Pipeline parents.
    if (c.childId !== null && !pipelineByRun.has(c.childId)) pipelineByRun.set(c.childId, c.context);
  }

  const associations = await db.all<Row>(
    // LEFT JOIN: an Association to an execution that does not exist is reported, not silently dropped.
    'SELECT s.`context_id` AS run_context_id, s.`execution_id` AS id, x.`id` AS found FROM `Association` s ' +
      'LEFT JOIN `Execution` x ON x.`id` = s.`execution_id` ' +
      `WHERE s.\`context_id\` IN (${scope.ctxIn})`,
    scope.params(1),
  );
  const executions = await readExecutions(db, catalog, uniqueSorted(associations.filter((a) => a.found != null).map((a) => num(a.id))));
  const events = await readEvents(db, 'execution_id', [...executions.keys()]);
  const artifacts = await readArtifacts(db, catalog, uniqueSorted(events.map((e) => e.artifactId)));
  const origins = await readOrigins(db, new Set(artifacts.keys()));

  const executionIdsByRun = groupBy(associations, (a) => num(a.run_context_id));
  const eventsByExecution = groupBy(events, (e) => e.executionId);

  return runContexts.map(({ context }) => {
    const assoc = executionIdsByRun.get(context.id) ?? [];
    const executionIds = [...new Set(assoc.filter((a) => a.found != null).map((a) => num(a.id)))].sort((a, b) => a - b);
    const danglingExecutionIds = [...new Set(assoc.filter((a) => a.found == null).map((a) => num(a.id)))].sort((a, b) => a - b);
    const runExecutions = executionIds.flatMap((id) => {
      const e = executions.get(id);
      return e ? [e] : [];
    });
    const runEvents = executionIds.flatMap((id) => eventsByExecution.get(id) ?? []).sort((a, b) => a.id - b.id);
    const artifactIds = [...new Set(runEvents.map((e) => e.artifactId))].sort((a, b) => a - b);
    const runArtifacts: MlmdArtifact[] = [];
    const artifactOrigins: Record<number, ArtifactOrigin> = {};
    for (const id of artifactIds) {
      const a = artifacts.get(id);
      if (!a) continue;
      runArtifacts.push(a);
      const origin = origins.get(id);
      if (origin) artifactOrigins[id] = origin;
    }
    return {
      runContext: context,
      pipelineContext: pipelineByRun.get(context.id) ?? null,
      runDetails: runDetails.get(context.name) ?? null,
      executions: runExecutions,
      events: runEvents,
      artifacts: runArtifacts,
      artifactOrigins,
      danglingExecutionIds,
    };
  });
}

// ------------------------------------------------------------------ contexts

/** The chunk's run contexts (`childId` null) and their `system.Pipeline` parents (`childId` = the run). */
async function readContexts(
  db: Db,
  catalog: ColumnCatalog,
  scope: ChunkScope,
): Promise<{ childId: number | null; context: MlmdContext }[]> {
  const cols = (a: string) =>
    ['id', 'type_id', 'name', 'create_time_since_epoch', 'last_update_time_since_epoch', 'external_id']
      .map((c) => catalog.select(a, 'Context', c))
      .join(', ');
  const rows = await db.all<Row>(
    `SELECT NULL AS child_id, ${cols('c')}, t.\`name\` AS type_name FROM \`Context\` c ` +
      'LEFT JOIN `Type` t ON t.`id` = c.`type_id` ' +
      `WHERE c.\`id\` IN (${scope.ctxIn}) ` +
      `UNION ALL SELECT pc.\`context_id\` AS child_id, ${cols('p')}, t.\`name\` AS type_name FROM \`ParentContext\` pc ` +
      'JOIN `Context` p ON p.`id` = pc.`parent_context_id` ' +
      'JOIN `Type` t ON t.`id` = p.`type_id` ' +
      `WHERE pc.\`context_id\` IN (${scope.ctxIn}) AND t.\`name\` = ? AND t.\`type_kind\` = 2 ` +
      'ORDER BY child_id, id',
    [...scope.params(2), PIPELINE_TYPE],
  );
  const ownerIds = [...new Set(rows.map((r) => num(r.id)))];
  const props = await readProperties(db, catalog, 'ContextProperty', 'context_id', ownerIds);
  return rows.map((r) => {
    const id = num(r.id);
    return {
      childId: numOrNull(r.child_id),
      context: {
        id,
        typeId: num(r.type_id),
        type: textOrNull(r.type_name),
        name: String(r.name),
        createMs: num(r.create_time_since_epoch),
        updateMs: num(r.last_update_time_since_epoch),
        externalId: textOrNull(r.external_id),
        ...(props.get(id) ?? emptyProps()),
      },
    };
  });
}

// ------------------------------------------------------------------ executions

async function readExecutions(db: Db, catalog: ColumnCatalog, ids: number[]): Promise<Map<number, MlmdExecution>> {
  const rows = await byIdChunks(ids, (inList, params) =>
    db.all<Row>(
      'SELECT e.`id`, e.`type_id`, e.`name`, e.`last_known_state`, e.`create_time_since_epoch`, e.`last_update_time_since_epoch`, ' +
        `${catalog.select('e', 'Execution', 'external_id')}, t.\`name\` AS type_name FROM \`Execution\` e ` +
        'LEFT JOIN `Type` t ON t.`id` = e.`type_id` ' +
        `WHERE e.\`id\` IN (${inList}) ORDER BY e.\`id\``,
      params,
    ),
  );
  const props = await readProperties(db, catalog, 'ExecutionProperty', 'execution_id', ids);
  const out = new Map<number, MlmdExecution>();
  for (const r of rows) {
    const id = num(r.id);
    out.set(id, {
      id,
      typeId: num(r.type_id),
      type: textOrNull(r.type_name),
      name: textOrNull(r.name),
      lastKnownState: numOrNull(r.last_known_state),
      createMs: num(r.create_time_since_epoch),
      updateMs: num(r.last_update_time_since_epoch),
      externalId: textOrNull(r.external_id),
      ...(props.get(id) ?? emptyProps()),
    });
  }
  return out;
}

// ------------------------------------------------------------------ events and paths

/** The events (with their paths) of these executions or artifacts, in id order; also used by the shim's archive backend. */
export async function readEvents(db: Db, by: 'execution_id' | 'artifact_id', ids: readonly number[]): Promise<MlmdEvent[]> {
  const rows = await byIdChunks(ids, (inList, params) =>
    db.all<Row>(
      'SELECT ev.`id`, ev.`artifact_id`, ev.`execution_id`, ev.`type`, ev.`milliseconds_since_epoch` FROM `Event` ev ' +
        `WHERE ev.\`${by}\` IN (${inList}) ORDER BY ev.\`id\``,
      params,
    ),
  );
  // Chunks come back each in id order; the whole list must be too.
  rows.sort((a, b) => num(a.id) - num(b.id));
  const paths = await readPaths(db, rows.map((r) => num(r.id)));
  return rows.map((r) => {
    const id = num(r.id);
    return {
      id,
      artifactId: num(r.artifact_id),
      executionId: num(r.execution_id),
      type: num(r.type),
      ms: numOrNull(r.milliseconds_since_epoch),
      path: paths.get(id) ?? [],
    };
  });
}

/**
 * Path steps per event, in stored order. EventPath has no ordering column; MLMD inserts steps in
 * order and reads them back unordered. SQLite exposes that order as `rowid`, PostgreSQL as the
 * row's place in the heap (`ctid`: MLMD never updates a path row, so it stays where it was
 * inserted), which is also the order PostgreSQL's scans of the table and of its `event_id` index
 * return. On MySQL/InnoDB a key-less table is clustered on a hidden, increasing row id, and both
 * a table scan and the `event_id` index return one event's rows in that order — so no ORDER BY is
 * sent there (a server-side sort need not be stable) and the rows are grouped by event with a
 * stable sort here.
 */
const PATH_ORDER: Record<Dialect, string> = {
  sqlite: ' ORDER BY p.`event_id`, p.rowid',
  postgres: ' ORDER BY p.`event_id`, p.ctid',
  mysql: '',
};

async function readPaths(db: Db, eventIds: number[]): Promise<Map<number, PathStep[]>> {
  const order = PATH_ORDER[db.dialect];
  const rows = await byIdChunks(uniqueSorted(eventIds), (inList, params) =>
    db.all<PathRow>(
      'SELECT p.`event_id`, p.`is_index_step`, p.`step_index`, p.`step_key` FROM `EventPath` p ' +
        `WHERE p.\`event_id\` IN (${inList})${order}`,
      params,
    ),
  );
  const out = new Map<number, PathStep[]>();
  for (const [eventId, steps] of groupBy(rows, (r) => num(r.event_id))) {
    out.set(
      eventId,
      steps.map((s): PathStep => (num(s.is_index_step) !== 0 ? { index: num(s.step_index ?? 0) } : { key: textOrNull(s.step_key) ?? '' })),
    );
  }
  return out;
}

// ------------------------------------------------------------------ artifacts and origins

async function readArtifacts(db: Db, catalog: ColumnCatalog, ids: number[]): Promise<Map<number, MlmdArtifact>> {
  const rows = await byIdChunks(ids, (inList, params) =>
    db.all<Row>(
      'SELECT a.`id`, a.`type_id`, a.`uri`, a.`state`, a.`name`, a.`create_time_since_epoch`, a.`last_update_time_since_epoch`, ' +
        `${catalog.select('a', 'Artifact', 'external_id')}, t.\`name\` AS type_name FROM \`Artifact\` a ` +
        'LEFT JOIN `Type` t ON t.`id` = a.`type_id` ' +
        `WHERE a.\`id\` IN (${inList}) ORDER BY a.\`id\``,
      params,
    ),
  );
  const props = await readProperties(db, catalog, 'ArtifactProperty', 'artifact_id', ids);
  const out = new Map<number, MlmdArtifact>();
  for (const r of rows) {
    const id = num(r.id);
    out.set(id, {
      id,
      typeId: num(r.type_id),
      type: textOrNull(r.type_name),
      uri: textOrNull(r.uri),
      state: numOrNull(r.state),
      name: textOrNull(r.name),
      createMs: num(r.create_time_since_epoch),
      updateMs: num(r.last_update_time_since_epoch),
      externalId: textOrNull(r.external_id),
      ...(props.get(id) ?? emptyProps()),
    });
  }
  return out;
}

/**
 * Each artifact's first OUTPUT event anywhere in the database — not only in this batch — so that
 * the producer of a cached or re-imported artifact is the run that really made it.
 *
 * Finding it means reading every event of the artifact (MLMD has no index that leads with the
 * event type), and an artifact shared by many runs — an imported dataset, a cached output — has
 * events in every one of them: asked again in each batch, that cost grows with the database and
 * the migration turns quadratic. An artifact's first OUTPUT event does not change once written, so
 * each one is looked up once per connection and remembered (the most recently used ones, bounded).
 */
async function readOrigins(db: Db, existing: Set<number>): Promise<Map<number, ArtifactOrigin>> {
  const cache = originCacheOf(db);
  const out = new Map<number, ArtifactOrigin>();
  const missing: number[] = [];
  for (const id of existing) {
    const hit = cache.get(id);
    if (hit === undefined) missing.push(id);
    else if (hit !== NO_ORIGIN) out.set(id, hit);
  }
  // Asked even when every origin is remembered (as IN (NULL)), to keep the statements per batch fixed.
  for (const ids of missing.length === 0 ? [[]] : chunked(missing)) {
    const firstOutputs =
      'SELECT MIN(ev2.`id`) FROM `Event` ev2 ' +
      `WHERE ev2.\`type\` = ${EVENT_TYPE.OUTPUT} AND ev2.\`artifact_id\` IN (${ids.length === 0 ? 'NULL' : placeholders(ids.length)}) GROUP BY ev2.\`artifact_id\``;
    const rows = await db.all<Row>(
      'SELECT o.`id`, o.`artifact_id`, o.`execution_id`, t.`name` AS type_name FROM `Event` o ' +
        'LEFT JOIN `Execution` e ON e.`id` = o.`execution_id` LEFT JOIN `Type` t ON t.`id` = e.`type_id` ' +
        `WHERE o.\`id\` IN (${firstOutputs})`,
      ids,
    );
    const paths = await readPaths(db, rows.map((r) => num(r.id)));
    const found = new Map<number, ArtifactOrigin>();
    for (const r of rows) {
      const first = paths.get(num(r.id))?.[0];
      found.set(num(r.artifact_id), {
        executionId: num(r.execution_id),
        executionType: textOrNull(r.type_name),
        key: first && 'key' in first ? first.key : null,
      });
    }
    for (const id of ids) {
      const origin = found.get(id);
      cache.set(id, origin ?? NO_ORIGIN);
      if (origin) out.set(id, origin);
    }
  }
  return out;
}

/** Artifacts whose origin is remembered per connection; the rest are simply asked again. */
const ORIGIN_CACHE_SIZE = 100_000;
/** Remembered for an artifact no execution ever output (the cache holds no nulls). */
const NO_ORIGIN = Symbol('no origin');
const originCaches = new WeakMap<Db, LruMap<number, ArtifactOrigin | typeof NO_ORIGIN>>();

function originCacheOf(db: Db): LruMap<number, ArtifactOrigin | typeof NO_ORIGIN> {
  let c = originCaches.get(db);
  if (!c) {
    c = new LruMap(ORIGIN_CACHE_SIZE);
    originCaches.set(db, c);
  }
  return c;
}

// ------------------------------------------------------------------ properties

/** The properties of MLMD nodes, split into declared and custom, keyed by node id; also used by the shim's archive backend. */
export async function readProperties(
  db: Db,
  catalog: ColumnCatalog,
  table: 'ArtifactProperty' | 'ExecutionProperty' | 'ContextProperty',
  ownerColumn: string,
  ownerIds: number[],
): Promise<Map<number, { properties: Props; customProperties: Props }>> {
  const out = new Map<number, { properties: Props; customProperties: Props }>();
  const rows = await byIdChunks(ownerIds, (inList, params) =>
    db.all<PropertyRow>(
      `SELECT p.\`${ownerColumn}\` AS owner_id, p.\`name\`, p.\`is_custom_property\`, p.\`int_value\`, p.\`double_value\`, p.\`string_value\`, ` +
        `${catalog.select('p', table, 'proto_value')}, ${catalog.select('p', table, 'bool_value')} FROM \`${table}\` p ` +
        // The primary key's own order (owner, name, is_custom_property): no sort. Each of the two maps is in name order either way.
        `WHERE p.\`${ownerColumn}\` IN (${inList}) ORDER BY p.\`${ownerColumn}\`, p.\`name\`, p.\`is_custom_property\``,
      params,
    ),
  );
  if (db.dialect === 'postgres') for (const r of rows) r.proto_value = protoValueText(r.proto_value);
  for (const [ownerId, group] of groupBy(rows, (r) => num(r.owner_id))) out.set(ownerId, splitProperties(group));
  return out;
}

/**
 * MLMD's PostgreSQL backend keeps the serialized Any itself in BYTEA (it writes `decode(…, 'base64')`
 * and reads `encode(…, 'base64')`); MySQL and SQLite keep its base64 text, which is what the
 * decoding takes.
 */
function protoValueText(stored: unknown): unknown {
  return Buffer.isBuffer(stored) ? stored.toString('base64') : stored;
}

function emptyProps(): { properties: Props; customProperties: Props } {
  return { properties: {}, customProperties: {} };
}
