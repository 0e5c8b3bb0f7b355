/**
 * Whole runs, reversed: the unit in which the KFP backend reads. A legacy client asks for a run's
 * executions, artifacts and events together, so a run is loaded with one fixed set of queries
 * (`readKfpRunRows` for a batch of runs), turned into its MLMD view by the reverse mapping, and
 * kept in a small LRU for the calls that follow.
 *
 * The reverse mapping asks for ids synchronously, but ids of KFP-3-native rows live in the
 * database. So a batch is reversed twice: the first pass collects the ids it lacks, they are
 * allocated in one round trip, and the second pass sees every id.
 */
import pLimit from 'p-limit';
import { querySignal, throwIfAborted, withQuerySignal } from '../db/cancel.ts';
import type { Db } from '../db/connection.ts';
import { readKfpRunRowsWith, type SharedIdMapRows, toIdMapRow } from '../extract/kfp-reader.ts';
import { readRunDetails } from '../extract/run-details.ts';
import { chunked } from '../db/sql.ts';
import { type KfpRunRows, type MlmdView, reverseRun } from '../transform/reverse.ts';
import { FINISHED_RUN_STATES } from '../transform/rules.ts';
import { type ProblemReporter, UNREPORTED } from './data-problems.ts';
import type { IdRequest, IdSequence, ShimIdStore } from './kfp-ids.ts';
import { cacheCounts } from '../util/cache-stats.ts';

/** How long a reversed run is served from memory: a live run changes under us, a finished one rarely. */
export interface RunCacheOptions {
  /** Runs kept at most. */
  capacity?: number;
  /** Records (executions, artifacts, events, contexts) kept at most, over all runs: big runs count for more. */
  maxRecords?: number;
  liveTtlMs?: number;
  finishedTtlMs?: number;
}

/**
 * The lineage of an artifact many runs share (an imported dataset: 190 runs of the bench's 1,500,
 * 1,900 of its 15,000) needs every one of those runs, three times in one lineage view; a cache
 * smaller than that reloaded them for each call. A record costs about 0.9 KiB (18 KiB for a
 * bench run of ~20 records), so the record bound keeps the cache near 130 MiB whatever the runs'
 * sizes; the run count rarely binds.
 */
export const DEFAULT_RUN_CACHE = { capacity: 8_192, maxRecords: 150_000, liveTtlMs: 2_000, finishedTtlMs: 60_000 };
/** Runs read per batch of queries. */
const RUN_BATCH = 200;
/**
 * Batches read at once, over all calls. 200 clients opening the lineage of datasets that thousands
 * of runs import held dozens of 200-run batches of rows in memory together (661 MiB at 15,000 runs);
 * the others wait their turn, and a run another call is loading is never read twice.
 */
const CONCURRENT_LOADS = 4;

/** The allocator key of a type, as the reverse mapping names it (`type:<name>`). */
const TYPE_KEY_PREFIX = 'type:';

/** Where an allocator request goes: types share one sequence, as in MLMD's single Type table. */
export function idRequestOf(kind: 'execution' | 'artifact' | 'context', key: string, runUuid: string | null): IdRequest {
  if (key.startsWith(TYPE_KEY_PREFIX)) return { seq: 'type', key: typeStoreKey(kind, key.slice(TYPE_KEY_PREFIX.length)), runUuid: null };
  return { seq: kind, key, runUuid };
}

/** How a type's id is keyed in the shim's id table: by kind and name. */
export const typeStoreKey = (kind: 'execution' | 'artifact' | 'context', name: string) => `${kind}:${name}`;

interface Entry {
  view: MlmdView;
  expires: number;
  records: number;
}

/** Shared id-map rows; `typeRows(true)` reads them from the database even if they are kept. */
export interface RunRowSource extends SharedIdMapRows {
  typeRows(fresh?: boolean): Promise<Record<string, unknown>[]>;
}

interface SharedLoad {
  promise: Promise<Map<string, MlmdView>>;
  controller: AbortController;
  /** Calls waiting for it now. */
  waiters: number;
}

/** `p`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Lookups of run views, served as metrics (cache "runs"). */
const RUN_CACHE_COUNTS = cacheCounts('runs');

export class KfpRunCache {
  private readonly entries = new Map<string, Entry>();
  /** Records held by `entries`. */
  private records = 0;
  private readonly inflight = new Map<string, SharedLoad>();
  private readonly loadSlots = pLimit(CONCURRENT_LOADS);
  private readonly opts: Required<RunCacheOptions>;

  constructor(
    private readonly kfp: Db,
    private readonly ids: ShimIdStore,
    opts: RunCacheOptions = {},
    private readonly problems: ProblemReporter = UNREPORTED,
    /** Id-map rows shared by many runs, kept by the owner; without it they are read with each load. */
    private readonly source?: RunRowSource,
    /** Told of every view built (the owner learns which run each id belongs to). */
    private readonly onView?: (runUuid: string, view: MlmdView) => void,
  ) {
    this.opts = { ...DEFAULT_RUN_CACHE, ...opts };
  }

  /**
   * The views of the runs that exist and that the KFP tables hold something of (tasks, or a
   * migrated run context). Other `run_details` rows — KFP v1 runs, runs not started — have no view.
   */
  async views(uuids: Iterable<string>): Promise<Map<string, MlmdView>> {
    const out = new Map<string, MlmdView>();
    const missing: string[] = [];
    const now = Date.now();
    for (const uuid of new Set(uuids)) {
      const e = this.entries.get(uuid);
      if (e && e.expires > now) {
        this.entries.delete(uuid);
        this.entries.set(uuid, e);
        out.set(uuid, e.view);
      } else missing.push(uuid);
    }
    RUN_CACHE_COUNTS.hits += out.size;
    RUN_CACHE_COUNTS.misses += missing.length;
    // A run another call is loading right now is waited for, not loaded twice (the UI's calls for one run arrive together).
    // Its load is taken now: by the time this call gets to it, that load may have finished and left `inflight`.
    // If that load fails, this call fails with it: an empty answer would tell the client the run has nothing.
    const joined = new Set<SharedLoad>();
    const waiting: [string, SharedLoad][] = [];
    const toLoad: string[] = [];
    for (const u of missing) {
      const shared = this.inflight.get(u);
      if (shared && !shared.controller.signal.aborted) {
        waiting.push([u, shared]);
        joined.add(shared);
      } else toLoad.push(u);
    }
    const loads = chunked(toLoad, RUN_BATCH).map((batch) => this.startLoad(batch));
    for (const l of loads) joined.add(l);
    const loaded = await this.await([...joined]);
    for (const [u, shared] of waiting) {
      const view = loaded.get(shared)!.get(u);
      if (view) out.set(u, view);
    }
    for (const l of loads) for (const [uuid, view] of loaded.get(l)!) out.set(uuid, view);
    return out;
  }

  /**
   * A load shared by every call that needs its runs. It obeys its own signal, not the first
   * caller's: it is stopped (its statements killed) only when every call waiting for it is gone.
   */
  private startLoad(batch: string[]): SharedLoad {
    const controller = new AbortController();
    const shared: SharedLoad = { controller, waiters: 0, promise: undefined as unknown as Promise<Map<string, MlmdView>> };
    // The signal is set inside the queued function: it runs in the async context of whatever load ended before it.
    shared.promise = this.loadSlots(() => withQuerySignal(controller.signal, () => this.load(batch))).finally(() => {
      for (const u of batch) if (this.inflight.get(u) === shared) this.inflight.delete(u);
    });
    // Observed here, so a load abandoned by all its callers never rejects unhandled.
    shared.promise.catch(() => undefined);
    for (const u of batch) this.inflight.set(u, shared);
    return shared;
  }

  /** The results of `loads`, waited for as the current call: its cancellation leaves them (and stops those nobody else waits for). */
  private async await(loads: SharedLoad[]): Promise<Map<SharedLoad, Map<string, MlmdView>>> {
    const caller = querySignal();
    for (const l of loads) l.waiters++;
    let left = false;
    const leave = () => {
      left = true;
      for (const l of loads) if (--l.waiters === 0) l.controller.abort(caller?.reason);
    };
    caller?.addEventListener('abort', leave, { once: true });
    try {
      // Every load is awaited (allSettled) before a failure is thrown, so none is left rejecting unobserved.
      const all = Promise.allSettled(loads.map((l) => l.promise));
      const settled = caller ? await untilAborted(all, caller) : await all;
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return new Map(loads.map((l, i) => [l, (settled[i] as PromiseFulfilledResult<Map<string, MlmdView>>).value]));
    } finally {
      caller?.removeEventListener('abort', leave);
      if (!left) for (const l of loads) l.waiters--;
    }
  }

  /**
   * Calls `fn` with the view of each run, RUN_BATCH runs at a time: a question about thousands of
   * runs (the events of a dataset every run imports) never holds more than one batch of views
   * beyond what the cache keeps, and a cancelled call stops between batches.
   */
  async each(uuids: Iterable<string>, fn: (view: MlmdView, uuid: string) => void): Promise<void> {
    for (const batch of chunked([...new Set(uuids)], RUN_BATCH)) {
      throwIfAborted(querySignal());
      for (const [uuid, view] of await this.views(batch)) fn(view, uuid);
    }
  }

  /** Drops every cached run (tests, and after the id table changed under us). */
  clear(): void {
    this.entries.clear();
    this.records = 0;
  }

  private async load(uuids: string[]): Promise<Map<string, MlmdView>> {
    // run_details and the run's rows are read at once: a run costs two round trips, not three.
    const rowsByRun = await readKfpRunRowsWith(this.kfp, uuids, readRunDetails(this.kfp, uuids), { shared: this.source });
    const servable = [...rowsByRun.values()].filter((r) => r.tasks.length > 0 || r.idMap.some((m) => m.kind === 'run_context' && m.kfpUuid === r.run.uuid));

    let first = this.firstPass(servable);
    if (this.source && first.wanted.some((r) => r.seq === 'type')) {
      // The type rows came from memory; a type new to them may have been mapped by a migration since.
      // Ask the database before giving a type an id of its own, which would then stick.
      const types = (await this.source.typeRows(true)).map(toIdMapRow);
      for (const rows of servable) rows.idMap = [...rows.idMap.filter((m) => m.kind !== 'type'), ...types];
      first = this.firstPass(servable);
    }
    const { wanted, known, complete } = first;
    const resolved = wanted.length > 0 ? await this.ids.resolve(wanted) : new Map<string, number>();
    for (const [k, id] of known) resolved.set(k, id);

    // Pass 2, for the runs that had ids to allocate: every id known now.
    const out = new Map<string, MlmdView>();
    const now = Date.now();
    for (const rows of servable) {
      const view =
        complete.get(rows.run.uuid) ??
        reverseRun(rows, (kind, key) => {
          const req = idRequestOf(kind, key, rows.run.uuid);
          const id = resolved.get(`${req.seq}|${req.key}`) ?? this.ids.cached(req.seq, req.key);
          if (id === undefined) throw new Error(`the reverse mapping asked for an id it did not ask for before: ${req.seq} ${req.key}`);
          return id;
        });
      for (const c of view.corrupt) {
        this.problems.report(
          `${c.table}:${c.uuid}:${c.column}`,
          { table: c.table, uuid: c.uuid, column: c.column, mlmdId: c.mlmdId, run: rows.run.uuid, problem: c.problem },
          `a KFP ${c.table} row's ${c.column} is not a JSON object; it is served without the properties it held`,
        );
      }
      out.set(rows.run.uuid, view);
      this.remember(rows, view, now);
      this.onView?.(rows.run.uuid, view);
    }
    return out;
  }

  /**
   * Pass 1: reverses each run with the ids known so far, placeholders standing in for the others.
   * A run that needed no placeholder is finished (most migrated runs): its view is kept as it is.
   */
  private firstPass(servable: KfpRunRows[]): { wanted: IdRequest[]; known: Map<string, number>; complete: Map<string, MlmdView> } {
    const wanted: IdRequest[] = [];
    const known = new Map<string, number>();
    const complete = new Map<string, MlmdView>();
    for (const rows of servable) {
      let placeholder = 0;
      const view = reverseRun(rows, (kind, key) => {
        const req = idRequestOf(kind, key, rows.run.uuid);
        const id = this.ids.cached(req.seq, req.key);
        if (id !== undefined) {
          known.set(`${req.seq}|${req.key}`, id);
          return id;
        }
        wanted.push(req);
        return --placeholder;
      });
      if (placeholder === 0) complete.set(rows.run.uuid, view);
    }
    return { wanted, known, complete };
  }

  private remember(rows: KfpRunRows, view: MlmdView, now: number): void {
    const finished = rows.run.state !== null && FINISHED_RUN_STATES.has(rows.run.state);
    this.forget(rows.run.uuid);
    const records = view.executions.length + view.artifacts.length + view.events.length + view.contexts.length;
    this.entries.set(rows.run.uuid, { view, expires: now + (finished ? this.opts.finishedTtlMs : this.opts.liveTtlMs), records });
    this.records += records;
    while (this.entries.size > this.opts.capacity || (this.records > this.opts.maxRecords && this.entries.size > 1)) {
      this.forget(this.entries.keys().next().value as string);
    }
  }

  private forget(uuid: string): void {
    const e = this.entries.get(uuid);
    if (!e) return;
    this.entries.delete(uuid);
    this.records -= e.records;
  }
}

export type { IdSequence };
