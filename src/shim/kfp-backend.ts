/**
 * The KFP backend (design.md §4): answers the shim's questions from the KFP 3 tables through the
 * reverse mapping, with the legacy MLMD ids kept in `mlmd_id_map`.
 *
 * Everything is read a whole run at a time (see kfp-runs.ts). A question about some ids first
 * finds their runs — one indexed query per kind through `mlmd_id_map` and the shim's own id
 * table — then answers from those runs' views; so each call costs a fixed number of queries per
 * batch of runs, never one per row. Questions that are not about runs (all nodes of a type, the
 * runs of a shared pipeline context) scan the runs in batches; the KFP UI never asks them.
 *
 * The KFP database is read through a read-only connection; a second, writable connection is used
 * for nothing but the id table of KFP-3-native rows.
 */
import { querySignal, throwIfAborted } from '../db/cancel.ts';
import type { Db, OpenOptions } from '../db/connection.ts';
import { and, eq, inArray, min, notExists, sql } from 'drizzle-orm';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { storableText } from '../db/postgres-text.ts';
import { BridgeError } from '../errors.ts';
import { chunked, num, textOrNull } from '../db/sql.ts';
import { readIdMap } from '../extract/kfp-reader.ts';
import { openKfpDatabase } from '../load/kfp-database.ts';
import { isKfpDatabase, isV1TasksTable, tableExists } from '../load/schema.ts';
import type { MlmdContext, MlmdEvent } from '../transform/model.ts';
import { pipelineContextUuid, type MlmdView } from '../transform/reverse.ts';
import { ARTIFACT_TYPE_BY_SCHEMA_TITLE, IO_TYPE, MLMD_EXECUTION_TYPE, PIPELINE_CONTEXT_TYPE, RUN_CONTEXT_TYPE } from '../transform/rules.ts';
import {
  type AnyNode,
  type ContextLink,
  type EdgeSide,
  type NodeByKind,
  type NodeKey,
  type NodeKind,
  type NodeScope,
  type ParentLink,
  type ShimBackend,
  TYPE_KIND_NUMBER,
  type TypeRecord,
} from './backend.ts';
import { type AllocatedId, type IdSequence, ShimIdStore, type ShimIdStoreOptions } from './kfp-ids.ts';
import { type ContextOwner, IdHomes } from './kfp-id-homes.ts';
import { DEFAULT_RUN_CACHE, KfpRunCache, type RunCacheOptions, type RunRowSource, typeStoreKey } from './kfp-runs.ts';
import { CountedLruMap, LruMap } from '../util/lru-map.ts';
import { readJsonObject } from '../transform/reverse/values.ts';
import { type ProblemReporter, UNREPORTED } from './data-problems.ts';

type Row = Record<string, unknown>;

/** Artifacts whose home run is remembered at most. */
const HOME_RUNS_REMEMBERED = 50_000;
/** Pipeline contexts whose id-map row is remembered at most. */
const PIPELINE_ROWS_REMEMBERED = 20_000;
/** How long type lists are kept: a migration's new types show within this long (the shim's own, at once). */
const TYPES_TTL_MS = 2_000;

/** The types a KFP 3 deployment may show even before any row uses them (the UI looks some up by name). */
const STANDARD_TYPES: { kind: NodeKind; name: string }[] = [
  { kind: 'context', name: PIPELINE_CONTEXT_TYPE },
  { kind: 'context', name: RUN_CONTEXT_TYPE },
  ...Object.values(MLMD_EXECUTION_TYPE).map((name) => ({ kind: 'execution' as const, name })),
  ...Object.keys(ARTIFACT_TYPE_BY_SCHEMA_TITLE).map((name) => ({ kind: 'artifact' as const, name })),
];

const MAPPED_NODE_KINDS: Record<NodeKind, string[]> = {
  execution: ['execution', 'iteration'],
  artifact: ['artifact'],
  context: ['run_context', 'pipeline_context'],
};

export interface KfpBackendOptions extends RunCacheOptions {
  /** Where rows the backend cannot read are reported (once per row). */
  problems?: ProblemReporter;
  /** Highest MLMD ids of the archive served beside this backend, so native ids never collide with them. */
  externalMax?: ShimIdStoreOptions['externalMax'];
  /** Told when the KFP database becomes unreachable and when it answers again (once each, not per statement). */
  onAvailability?: OpenOptions['onAvailability'];
}

export async function openKfpBackend(url: string, opts: KfpBackendOptions = {}): Promise<KfpBackend> {
  // Eight connections: a run page's reads are issued together, and many pages are open at once.
  const reader = await openKfpDatabase(url, { readOnly: true, onAvailability: opts.onAvailability, poolSize: 8 });
  let writer: Db | undefined;
  try {
    if (!(await isKfpDatabase(reader)) || !(await tableExists(reader, 'tasks'))) {
      throw new BridgeError(
        'NOT_KFP_DATABASE',
        `${reader.target.display} has no KFP 3 tables (run_details, tasks)`,
        'point --kfp at the KFP database after `mlmd-bridge migrate`, or at a KFP 3 database',
      );
    }
    if (await isV1TasksTable(reader)) {
      throw new BridgeError('NOT_MIGRATED', `${reader.target.display} still has the KFP 2.x tasks table`, 'run mlmd-bridge migrate first, or serve the MLMD database with --mlmd');
    }
    // Same server as the reader, whose listener already reports an outage.
    writer = await openKfpDatabase(url);
    const ids = await ShimIdStore.open(writer, { externalMax: opts.externalMax });
    const backend = new KfpBackend(reader, writer, ids, await tableExists(reader, 'mlmd_id_map'), opts);
    await backend.allocateStandardTypes();
    return backend;
  } catch (e) {
    await writer?.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
    throw e;
  }
}

export class KfpBackend implements ShimBackend {
  readonly name = 'kfp';
  readonly runs: KfpRunCache;
  /**
   * Which run each artifact row is shown from (see artifactHomeRuns). Finding it aggregates the
   * artifact's rows in `artifact_tasks`, and the artifacts a run page asks about most are the ones many
   * runs share (an imported dataset, a cached output): thousands of link rows each, read again for
   * every page that shows them. A remembered run may go stale (its links deleted, a new producer
   * written), so nodes() asks again when the run no longer shows the artifact.
   */
  readonly homeRuns: LruMap<string, string>;
  /** Which run or rows each id belongs to, as far as known (kfp-id-homes.ts). */
  readonly homes: IdHomes;

  private readonly problems: ProblemReporter;
  /** mlmd_id_map's type rows and the shim's type ids: read by nearly every call, changed by a migration or a new type. */
  private mappedTypeRows: { expires: number; rows: Promise<Row[]> } | null = null;
  private parsedTypes: { rows: Promise<Row[]>; types: Promise<TypeRecord[]> } | null = null;
  private nativeTypeIds: { expires: number; allocations: number; rows: Promise<AllocatedId[]> } | null = null;
  /** Pipeline-context rows of the id map, which never change once written. */
  private readonly pipelineRowsById = new LruMap<number, Row>(PIPELINE_ROWS_REMEMBERED);

  constructor(
    private readonly db: Db,
    private readonly writer: Db,
    private readonly ids: ShimIdStore,
    private readonly hasIdMap: boolean,
    opts: RunCacheOptions & { problems?: ProblemReporter } = {},
  ) {
    this.problems = opts.problems ?? UNREPORTED;
    // Trusted as long as a finished run's view is: what the shim shows of an artifact never outlives that.
    const finishedTtlMs = opts.finishedTtlMs ?? DEFAULT_RUN_CACHE.finishedTtlMs;
    this.homeRuns = new CountedLruMap('home_runs', HOME_RUNS_REMEMBERED, finishedTtlMs);
    this.homes = new IdHomes(finishedTtlMs);
    const source: RunRowSource = {
      typeRows: (fresh) => this.typeRows(fresh ?? false),
      pipelineRows: (pipelineIds) => this.pipelineRows(pipelineIds),
      // A run page asks next for the artifacts of the run: their home runs are read with the run itself.
      artifactRowsRead: async (rows) => void (await this.homeRunsOf(rows.filter((r) => this.homeRuns.get(r) === undefined))),
    };
    this.runs = new KfpRunCache(db, ids, opts, this.problems, hasIdMap ? source : undefined, (run, view) => this.homes.learn(run, view));
  }

  /** mlmd_id_map's type rows, kept for TYPES_TTL_MS (or read afresh). */
  private typeRows(fresh: boolean): Promise<Row[]> {
    const now = Date.now();
    if (fresh || !this.mappedTypeRows || this.mappedTypeRows.expires <= now) {
      const rows = readIdMap(this.db, (t) => eq(t.kind, 'type'));
      this.mappedTypeRows = { expires: now + TYPES_TTL_MS, rows };
      // A failed read is not kept.
      rows.catch(() => {
        if (this.mappedTypeRows?.rows === rows) this.mappedTypeRows = null;
      });
    }
    return this.mappedTypeRows.rows;
  }

  /** The shim's own type ids, kept for TYPES_TTL_MS and read afresh as soon as the shim allocates one. */
  private nativeTypes(): Promise<AllocatedId[]> {
    const now = Date.now();
    const allocations = this.ids.allocations;
    if (!this.nativeTypeIds || this.nativeTypeIds.expires <= now || this.nativeTypeIds.allocations !== allocations) {
      const rows = this.ids.all('type');
      this.nativeTypeIds = { expires: now + TYPES_TTL_MS, allocations, rows };
      rows.catch(() => {
        if (this.nativeTypeIds?.rows === rows) this.nativeTypeIds = null;
      });
    }
    return this.nativeTypeIds.rows;
  }

  /** Pipeline-context rows by MLMD id: remembered ones, the others read. */
  private async pipelineRows(pipelineIds: readonly number[]): Promise<Row[]> {
    const { known, unknown } = IdHomes.split(this.pipelineRowsById, pipelineIds);
    const out = known.map(([, row]) => row);
    for (const chunk of chunked(unknown)) {
      if (chunk.length === 0) continue;
      const rows = await readIdMap(this.db, (t) => and(eq(t.kind, 'pipeline_context'), inArray(t.mlmd_id, chunk)));
      for (const r of rows) {
        this.pipelineRowsById.set(num(r.mlmd_id), r);
        out.push(r);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.db.close(), this.writer.close()]);
  }

  /** Forgets everything remembered: runs, where ids live, types (tests, and tools that measure cold reads). */
  clear(): void {
    this.runs.clear();
    this.homeRuns.clear();
    this.homes.clear();
    this.pipelineRowsById.clear();
    this.mappedTypeRows = null;
    this.parsedTypes = null;
    this.nativeTypeIds = null;
  }

  /** Gives the standard KFP types an id if the migration did not bring one, so lookups by name work on a KFP-3-only database. */
  async allocateStandardTypes(): Promise<void> {
    const mapped = await this.mappedTypes();
    const missing = STANDARD_TYPES.filter((t) => !mapped.some((m) => m.kind === t.kind && m.name === t.name && m.version === null));
    if (missing.length > 0) await this.ids.resolve(missing.map((t) => ({ seq: 'type', key: typeStoreKey(t.kind, t.name), runUuid: null })));
  }

  // ------------------------------------------------------------------ types

  async types(kind: NodeKind): Promise<TypeRecord[]> {
    // The two tables sit behind different connections: asked at once, a call waits for one round trip, not two.
    const [allMapped, allNative] = await Promise.all([this.mappedTypes(), this.nativeTypes()]);
    const mapped = allMapped.filter((t) => t.kind === kind);
    const prefix = `${kind}:`;
    const seen = new Set(mapped.map((t) => t.id));
    const native = allNative
      .filter((a) => a.key.startsWith(prefix) && !seen.has(a.mlmdId))
      .map((a) => typeRecord(a.mlmdId, kind, a.key.slice(prefix.length), null));
    return [...mapped, ...native].sort((a, b) => a.id - b.id);
  }

  private async mappedTypes(): Promise<TypeRecord[]> {
    if (!this.hasIdMap) return [];
    const rows = this.typeRows(false);
    // Parsed once per read of the rows, not once per call.
    if (this.parsedTypes?.rows !== rows) this.parsedTypes = { rows, types: rows.then((r) => this.parseTypeRows(r)) };
    return this.parsedTypes.types;
  }

  private parseTypeRows(rows: Row[]): TypeRecord[] {
    const out: TypeRecord[] = [];
    for (const r of rows) {
      const extra = this.extraOf('type', r);
      const kind = (Object.keys(TYPE_KIND_NUMBER) as NodeKind[]).find((k) => TYPE_KIND_NUMBER[k] === extra?.typeKind);
      if (!kind || typeof extra?.name !== 'string') {
        // (An entry whose text is not JSON was reported by extraOf.)
        if (extra !== null || textOrNull(r.extra) === null) this.problems.report(`mlmd_id_map:type:${num(r.mlmd_id)}:kind`, { table: 'mlmd_id_map', kind: 'type', mlmdId: num(r.mlmd_id) }, 'a type entry names no kind or name; the type is not served');
        continue;
      }
      out.push(typeRecord(num(r.mlmd_id), kind, extra.name, typeof extra.version === 'string' ? extra.version : null));
    }
    return out;
  }

  /**
   * An id-map entry's `extra` JSON. Text that is not a JSON object is reported once per entry and
   * read as absent (the entry's type or name is then not served).
   */
  private extraOf(kind: string, r: Row): Record<string, unknown> | null {
    const read = readJsonObject(textOrNull(r.extra));
    if ('object' in read) return read.object;
    this.problems.report(`mlmd_id_map:${kind}:${num(r.mlmd_id)}`, { table: 'mlmd_id_map', kind, mlmdId: num(r.mlmd_id), column: 'extra', problem: read.problem }, 'an id-map entry is not JSON; it is served without it');
    return null;
  }

  // ------------------------------------------------------------------ nodes

  async nodes<K extends NodeKind>(kind: K, ids: readonly number[]): Promise<NodeByKind[K][]> {
    const wanted = new Set(ids);
    if (wanted.size === 0) return [];
    const out = new Map<number, AnyNode>();
    if (kind === 'artifact') {
      const collect = (runs: Iterable<string>) =>
        this.runs.each(runs, (view) => {
          for (const a of view.artifacts) if (wanted.has(a.id) && !out.has(a.id)) out.set(a.id, a);
        });
      const homes = await this.artifactHomeRuns([...wanted], false);
      await collect(homes.runs);
      // A remembered run that no longer shows its artifact is asked about again.
      const stale = [...homes.remembered].filter((id) => !out.has(id));
      if (stale.length > 0) await collect((await this.artifactHomeRuns(stale, true)).runs);
    } else if (kind === 'execution') {
      await this.runs.each(await this.executionRuns([...wanted]), (view) => {
        for (const e of view.executions) if (wanted.has(e.id)) out.set(e.id, e);
      });
    } else {
      const { runs, pipelines } = await this.contextOwners([...wanted]);
      for (const view of (await this.runs.views(runs)).values()) for (const c of view.contexts) if (wanted.has(c.id)) out.set(c.id, c);
      for (const c of await this.pipelineContexts(pipelines)) if (!out.has(c.id)) out.set(c.id, c);
    }
    return [...out.values()].sort((a, b) => a.id - b.id) as NodeByKind[K][];
  }

  /**
   * Every node id of a kind, without loading the nodes: enough for listings in id order. KFP-3-native
   * rows not seen before are given their ids first, so they are listed too.
   */
  async nodeIds(kind: NodeKind): Promise<number[]> {
    await this.discoverNative();
    const ids = new Set<number>();
    if (this.hasIdMap) {
      const kinds = MAPPED_NODE_KINDS[kind];
      const { idMap: t } = kfpTables(this.db);
      for (const r of await orm(this.db).selectDistinct({ id: t.mlmd_id }).from(t).where(inArray(t.kind, kinds))) ids.add(r.id);
    }
    for (const a of await this.ids.all(kind as IdSequence)) ids.add(a.mlmdId);
    return [...ids].sort((a, b) => a - b);
  }

  async nodeKeys(kind: NodeKind, scope: NodeScope): Promise<NodeKey[]> {
    const keys = (nodes: AnyNode[]) => nodes.map((n) => ({ id: n.id, createMs: n.createMs, updateMs: n.updateMs }));
    switch (scope.by) {
      case 'all':
        return keys(await this.nodes(kind, await this.nodeIds(kind)));
      case 'type': {
        if (kind === 'context' && scope.name !== undefined) return keys(await this.contextsByName(scope.typeId, scope.name));
        const all = await this.nodes(kind, await this.nodeIds(kind));
        return keys(all.filter((n) => n.typeId === scope.typeId && (scope.name === undefined || n.name === scope.name)));
      }
      case 'context': {
        if (kind === 'context') return [];
        const side = kind as EdgeSide;
        const links = await this.contextLinks(side, 'context', [scope.contextId]);
        return keys(await this.nodes(kind, links.map((l) => l.nodeId)));
      }
      case 'uri': {
        const lookable = scope.uris.filter((u) => storableText(this.db.dialect, u));
        if (kind !== 'artifact' || lookable.length === 0) return [];
        const uris = new Set(lookable);
        const runs = new Set<string>();
        const { artifactTasks: l, artifacts: a } = kfpTables(this.db);
        for (const chunk of chunked(lookable)) {
          const rows = await orm(this.db).selectDistinct({ run: l.RunUUID }).from(l).innerJoin(a, eq(a.UUID, l.ArtifactID)).where(inArray(a.URI, chunk));
          for (const r of rows) runs.add(r.run);
        }
        const found = new Map<number, AnyNode>();
        for (const view of (await this.runs.views(runs)).values()) for (const a of view.artifacts) if (a.uri !== null && uris.has(a.uri)) found.set(a.id, a);
        return keys([...found.values()]);
      }
      case 'externalId':
        // KFP 3 rows have no external ids.
        return [];
    }
  }

  // ------------------------------------------------------------------ edges

  async events(side: EdgeSide, ids: readonly number[]): Promise<MlmdEvent[]> {
    const wanted = new Set(ids);
    if (wanted.size === 0) return [];
    const runs = side === 'execution' ? await this.executionRuns([...wanted]) : await this.artifactRuns([...wanted]);
    const out: MlmdEvent[] = [];
    const seen = new Set<string>();
    await this.runs.each(runs, (view) => {
      for (const e of view.events) {
        if (!wanted.has(side === 'execution' ? e.executionId : e.artifactId)) continue;
        const key = `${e.artifactId}|${e.executionId}|${e.type}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push(e);
        }
      }
    });
    return out;
  }

  async contextLinks(side: EdgeSide, by: 'node' | 'context', ids: readonly number[]): Promise<ContextLink[]> {
    const wanted = new Set(ids);
    if (wanted.size === 0) return [];
    const out = new Map<string, ContextLink>();
    const collect = (view: MlmdView) => {
      const links =
        side === 'execution'
          ? view.associations.map((a) => ({ contextId: a.contextId, nodeId: a.executionId }))
          : view.attributions.map((a) => ({ contextId: a.contextId, nodeId: a.artifactId }));
      for (const l of links) if (wanted.has(by === 'node' ? l.nodeId : l.contextId)) out.set(`${l.contextId}|${l.nodeId}`, l);
    };
    if (by === 'node') await this.runs.each(side === 'execution' ? await this.executionRuns([...wanted]) : await this.artifactRuns([...wanted]), collect);
    else for (const view of await this.viewsOfContexts([...wanted])) collect(view);
    return [...out.values()].sort((a, b) => a.contextId - b.contextId || a.nodeId - b.nodeId);
  }

  async parentLinks(by: 'child' | 'parent', ids: readonly number[]): Promise<ParentLink[]> {
    const wanted = new Set(ids);
    if (wanted.size === 0) return [];
    const out = new Map<string, ParentLink>();
    for (const view of await this.viewsOfContexts([...wanted])) {
      for (const p of view.parentContexts) if (wanted.has(by === 'child' ? p.childId : p.parentId)) out.set(`${p.childId}|${p.parentId}`, p);
    }
    return [...out.values()].sort((a, b) => a.childId - b.childId || a.parentId - b.parentId);
  }

  // ------------------------------------------------------------------ id → run

  /** The runs of some execution ids (migrated executions and iterations, or native ones). */
  private async executionRuns(ids: number[]): Promise<Set<string>> {
    const { known, unknown } = IdHomes.split(this.homes.executionRun, ids);
    const runs = new Set(known.map(([, run]) => run));
    if (unknown.length === 0) return runs;
    const [mapped, native] = await Promise.all([this.hasIdMap ? this.mapped(['execution', 'iteration'], unknown) : [], this.ids.byIds('execution', unknown)]);
    for (const r of [...mapped.map((m) => ({ id: m.mlmdId, run: m.runUuid })), ...native.map((a) => ({ id: a.mlmdId, run: a.runUuid }))]) {
      if (!r.run) continue;
      runs.add(r.run);
      this.homes.executionRun.set(r.id, r.run);
    }
    return runs;
  }

  /** The artifact rows behind some MLMD artifact ids (migrated ones through the map, native ones through the shim's ids). */
  private async artifactRows(ids: number[]): Promise<Map<string, number>> {
    const { known, unknown } = IdHomes.split(this.homes.artifactRows, ids);
    const rowsOf = new Map<string, number>();
    for (const [id, rows] of known) for (const row of rows) rowsOf.set(row, id);
    if (unknown.length === 0) return rowsOf;
    const [mapped, native] = await Promise.all([this.hasIdMap ? this.mapped(['artifact'], unknown) : [], this.ids.byIds('artifact', unknown)]);
    const found = new Map<number, string[]>();
    for (const [row, id] of [...mapped.map((m) => [m.kfpUuid, m.mlmdId] as const), ...native.map((a) => [a.key, a.mlmdId] as const)]) {
      rowsOf.set(row, id);
      found.set(id, [...(found.get(id) ?? []), row]);
    }
    for (const [id, rows] of found) this.homes.artifactRows.set(id, rows);
    return rowsOf;
  }

  /** Every run that links some artifacts, as their events need. */
  private async artifactRuns(ids: number[]): Promise<Set<string>> {
    const out = new Set<string>();
    const { artifactTasks: l } = kfpTables(this.db);
    for (const chunk of chunked([...(await this.artifactRows(ids)).keys()])) {
      if (chunk.length === 0) continue;
      for (const r of await orm(this.db).selectDistinct({ run: l.RunUUID }).from(l).where(inArray(l.ArtifactID, chunk))) out.add(r.run);
    }
    return out;
  }

  /**
   * One run per artifact, enough to show it: the first (by UUID) run that produced it, else the first
   * that linked it. Answers are remembered (homeRuns) unless `fresh`; `remembered` names the
   * artifacts answered from memory, which the caller checks.
   */
  private async artifactHomeRuns(ids: number[], fresh: boolean): Promise<{ runs: Set<string>; remembered: Set<number> }> {
    const runs = new Set<string>();
    const remembered = new Set<number>();
    const ask: string[] = [];
    // Rows a loaded view shows an id from are enough to choose the run; only ids never seen are looked up.
    const { known: shown, unknown } = fresh ? { known: [], unknown: ids } : IdHomes.split(this.homes.artifactShownRows, ids);
    const rowsOf = await this.artifactRows(unknown);
    for (const [id, rows] of shown) for (const row of rows) rowsOf.set(row, id);
    for (const [uuid, mlmdId] of rowsOf) {
      const run = fresh ? undefined : this.homeRuns.get(uuid);
      if (run === undefined) {
        ask.push(uuid);
      } else {
        runs.add(run);
        remembered.add(mlmdId);
      }
    }
    for (const run of (await this.homeRunsOf(ask)).values()) runs.add(run);
    return { runs, remembered };
  }

  /** The home run of each artifact row (remembered in homeRuns). */
  private async homeRunsOf(rowUuids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const { artifactTasks: l } = kfpTables(this.db);
    const isOutput = sql`${l.Type} BETWEEN ${sql.raw(String(IO_TYPE.ITERATOR_OUTPUT))} AND ${sql.raw(String(IO_TYPE.TASK_FINAL_STATUS_OUTPUT))}`;
    for (const chunk of chunked(rowUuids)) {
      if (chunk.length === 0) continue;
      // An artifact shared by thousands of runs costs one aggregated row instead of thousands of link rows.
      const rows = await orm(this.db)
        .select({ artifactId: l.ArtifactID, outRun: sql<string | null>`MIN(CASE WHEN ${isOutput} THEN ${l.RunUUID} END)`, anyRun: min(l.RunUUID) })
        .from(l)
        .where(inArray(l.ArtifactID, chunk))
        .groupBy(l.ArtifactID);
      for (const r of rows) {
        const run = String(r.outRun ?? r.anyRun);
        out.set(r.artifactId, run);
        this.homeRuns.set(r.artifactId, run);
      }
    }
    return out;
  }

  /** Run contexts by their run; pipeline contexts (shared by many runs) by name. */
  private async contextOwners(ids: number[]): Promise<{ runs: Set<string>; pipelines: { id: number; name: string | null; run: string | null }[] }> {
    const runs = new Set<string>();
    const pipelines: { id: number; name: string | null; run: string | null }[] = [];
    const add = (id: number, owner: ContextOwner) => {
      if (owner.kind === 'run') runs.add(owner.run);
      else if (!pipelines.some((p) => p.id === id)) pipelines.push({ id, name: owner.name, run: owner.run });
    };
    const { known, unknown } = IdHomes.split(this.homes.contextOwner, ids);
    for (const [id, owner] of known) add(id, owner);
    if (unknown.length === 0) return { runs, pipelines };
    const [mapped, native] = await Promise.all([this.hasIdMap ? this.mapped(['run_context', 'pipeline_context'], unknown) : [], this.ids.byIds('context', unknown)]);
    const learned: [number, ContextOwner][] = [];
    for (const r of mapped) {
      if (r.kind === 'run_context') learned.push([r.mlmdId, { kind: 'run', run: r.kfpUuid }]);
      else {
        const name = this.extraOf('pipeline_context', { mlmd_id: r.mlmdId, extra: r.extra })?.name;
        learned.push([r.mlmdId, { kind: 'pipeline', name: typeof name === 'string' ? name : null, run: null }]);
      }
    }
    for (const a of native) {
      if (a.runUuid === a.key) learned.push([a.mlmdId, { kind: 'run', run: a.key }]);
      else learned.push([a.mlmdId, { kind: 'pipeline', name: null, run: a.runUuid }]);
    }
    for (const [id, owner] of learned) {
      add(id, owner);
      this.homes.contextOwner.set(id, owner);
    }
    return { runs, pipelines };
  }

  /** Pipeline contexts: by their recorded name, or from the run in which a native one was first seen. */
  private async pipelineContexts(pipelines: { id: number; name: string | null; run: string | null }[]): Promise<MlmdContext[]> {
    if (pipelines.length === 0) return [];
    const out: MlmdContext[] = [];
    const fromRuns = pipelines.filter((p) => p.name === null && p.run !== null);
    const views = await this.runs.views(fromRuns.map((p) => p.run!));
    for (const p of fromRuns) {
      const c = views.get(p.run!)?.contexts.find((x) => x.id === p.id);
      if (c) out.push(c);
    }
    const named = pipelines.filter((p) => p.name !== null);
    if (named.length > 0) {
      const type = (await this.types('context')).find((t) => t.name === PIPELINE_CONTEXT_TYPE && t.version === null);
      for (const p of named) out.push(pipelineContext(p.id, p.name!, type?.id ?? 0));
    }
    return out;
  }

  /** A context by type and name: the UI's way into a run. */
  private async contextsByName(typeId: number, name: string): Promise<MlmdContext[]> {
    if (!storableText(this.db.dialect, name)) return [];
    const type = (await this.types('context')).find((t) => t.id === typeId);
    if (type?.name === RUN_CONTEXT_TYPE) {
      const view = (await this.runs.views([name])).get(name);
      return view ? view.contexts.filter((c) => c.typeId === typeId && c.name === name) : [];
    }
    if (type?.name === PIPELINE_CONTEXT_TYPE) {
      const key = pipelineContextUuid(name);
      if (this.hasIdMap) {
        const { idMap: t } = kfpTables(this.db);
        const [mapped] = await orm(this.db).select({ id: t.mlmd_id }).from(t).where(and(eq(t.kind, 'pipeline_context'), eq(t.kfp_uuid, key)));
        if (mapped) return [pipelineContext(mapped.id, name, typeId)];
      }
      const { shimIds: s } = kfpTables(this.writer);
      const [native] = await orm(this.writer).select({ id: s.mlmd_id }).from(s).where(and(eq(s.seq, 'context'), eq(s.kfp_key, key)));
      return native ? [pipelineContext(native.id, name, typeId)] : [];
    }
    return [];
  }

  /** The views that hold some contexts: a run context's own run; for a pipeline context, every run (a scan). */
  private async viewsOfContexts(ids: number[]): Promise<MlmdView[]> {
    const { runs, pipelines } = await this.contextOwners(ids);
    const out = [...(await this.runs.views(runs)).values()];
    if (pipelines.length > 0) {
      const wanted = new Set(pipelines.map((p) => p.id));
      for await (const view of this.scanRuns()) if (!runs.has(runNameOf(view)) && view.contexts.some((c) => wanted.has(c.id))) out.push(view);
    }
    return out;
  }

  /** Every run the tables hold, a batch at a time. */
  private async *scanRuns(): AsyncGenerator<MlmdView> {
    const uuids = new Set<string>();
    const { tasks } = kfpTables(this.db);
    for (const r of await orm(this.db).selectDistinct({ run: tasks.RunUUID }).from(tasks)) uuids.add(r.run);
    const { idMap: m } = kfpTables(this.db);
    if (this.hasIdMap) for (const r of await orm(this.db).select({ uuid: m.kfp_uuid }).from(m).where(eq(m.kind, 'run_context'))) uuids.add(r.uuid);
    for (const batch of chunked([...uuids].sort(), 200)) {
      throwIfAborted(querySignal());
      yield* (await this.runs.views(batch)).values();
    }
  }

  /**
   * Gives ids to KFP-3-native rows nobody has asked about yet, by reversing their runs, so that
   * listings show them. Runs with nothing new cost nothing but the two anti-join queries.
   */
  private async discoverNative(): Promise<void> {
    const { tasks: t, artifactTasks: l, shimIds: s, idMap: m } = kfpTables(this.writer);
    const db = orm(this.writer);
    /** Neither given an id by the shim nor mapped by migrate: a row KFP 3 created that no listing has shown yet. */
    const unseen = (seq: IdSequence, kind: string, key: typeof t.UUID | typeof l.ArtifactID) =>
      and(
        notExists(db.select({ one: sql`1` }).from(s).where(and(eq(s.seq, seq), eq(s.kfp_key, key)))),
        this.hasIdMap ? notExists(db.select({ one: sql`1` }).from(m).where(and(eq(m.kind, kind), eq(m.kfp_uuid, key)))) : undefined,
      );
    const runs = new Set<string>();
    for (const r of await db.selectDistinct({ run: t.RunUUID }).from(t).where(unseen('execution', 'execution', t.UUID))) runs.add(r.run);
    for (const r of await db.selectDistinct({ run: l.RunUUID }).from(l).where(unseen('artifact', 'artifact', l.ArtifactID))) runs.add(r.run);
    if (runs.size > 0) await this.runs.each(runs, () => undefined);
  }

  private async mapped(kinds: string[], ids: number[]): Promise<{ kind: string; mlmdId: number; kfpUuid: string; runUuid: string | null; extra: string | null }[]> {
    const out = [];
    for (const chunk of chunked([...new Set(ids)])) {
      if (chunk.length === 0) continue;
      const rows = await readIdMap(this.db, (t) => and(inArray(t.kind, kinds), inArray(t.mlmd_id, chunk)));
      for (const r of rows) out.push({ kind: String(r.kind), mlmdId: num(r.mlmd_id), kfpUuid: String(r.kfp_uuid), runUuid: textOrNull(r.run_uuid), extra: textOrNull(r.extra) });
    }
    return out;
  }
}

function typeRecord(id: number, kind: NodeKind, name: string, version: string | null): TypeRecord {
  return { id, kind, name, version, description: null, externalId: null, properties: {}, baseTypeName: null, inputType: null, outputType: null };
}

/** The shared `system.Pipeline` context, as the reverse mapping shows it: no properties, no stable time. */
function pipelineContext(id: number, name: string, typeId: number): MlmdContext {
  return { id, typeId, type: PIPELINE_CONTEXT_TYPE, name, createMs: 0, updateMs: 0, externalId: null, properties: {}, customProperties: {} };
}

function runNameOf(view: MlmdView): string {
  return view.contexts.find((c) => c.type === RUN_CONTEXT_TYPE)?.name ?? '';
}
