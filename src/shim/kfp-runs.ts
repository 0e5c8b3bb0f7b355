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
import type { Db } from '../db/connection.ts';
import { readKfpRunRows } from '../extract/kfp-reader.ts';
import { readRunDetails } from '../extract/run-details.ts';
import { chunked } from '../extract/sql.ts';
import { type KfpRunRows, type MlmdView, reverseRun } from '../transform/reverse.ts';
import { FINISHED_RUN_STATES } from '../transform/rules.ts';
import type { IdRequest, IdSequence, ShimIdStore } from './kfp-ids.ts';

/** How long a reversed run is served from memory: a live run changes under us, a finished one rarely. */
export interface RunCacheOptions {
  capacity?: number;
  liveTtlMs?: number;
  finishedTtlMs?: number;
}

export const DEFAULT_RUN_CACHE = { capacity: 128, liveTtlMs: 2_000, finishedTtlMs: 60_000 };
/** Runs read per batch of queries. */
const RUN_BATCH = 200;

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
}

export class KfpRunCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Map<string, MlmdView>>>();
  private readonly opts: Required<RunCacheOptions>;

  constructor(
    private readonly kfp: Db,
    private readonly ids: ShimIdStore,
    opts: RunCacheOptions = {},
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
    // A run another call is loading right now is waited for, not loaded twice (the UI's calls for one run arrive together).
    // Its promise is taken now: by the time this call gets to it, that load may have finished and left `inflight`.
    // If that load fails, this call fails with it: an empty answer would tell the client the run has nothing.
    const waiting: [string, Promise<Map<string, MlmdView>>][] = [];
    const toLoad: string[] = [];
    for (const u of missing) {
      const p = this.inflight.get(u);
      if (p) waiting.push([u, p]);
      else toLoad.push(u);
    }
    const loads = chunked(toLoad, RUN_BATCH).map((batch) => {
      const p = this.load(batch).finally(() => {
        for (const u of batch) if (this.inflight.get(u) === p) this.inflight.delete(u);
      });
      for (const u of batch) this.inflight.set(u, p);
      return p;
    });
    // Every load is awaited (allSettled) before a failure is thrown, so none is left rejecting unobserved.
    const settled = await Promise.allSettled([...waiting.map(([, p]) => p), ...loads]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [u, p] of waiting) {
      const view = (await p).get(u);
      if (view) out.set(u, view);
    }
    for (const p of loads) for (const [uuid, view] of await p) out.set(uuid, view);
    return out;
  }

  /** Drops every cached run (tests, and after the id table changed under us). */
  clear(): void {
    this.entries.clear();
  }

  private async load(uuids: string[]): Promise<Map<string, MlmdView>> {
    const details = await readRunDetails(this.kfp, uuids);
    const rowsByRun = await readKfpRunRows(this.kfp, details);
    const servable = [...rowsByRun.values()].filter((r) => r.tasks.length > 0 || r.idMap.some((m) => m.kind === 'run_context' && m.kfpUuid === r.run.uuid));

    // Pass 1: which ids are missing (placeholders stand in for them).
    const wanted: IdRequest[] = [];
    const known = new Map<string, number>();
    for (const rows of servable) {
      let placeholder = 0;
      reverseRun(rows, (kind, key) => {
        const req = idRequestOf(kind, key, rows.run.uuid);
        const id = this.ids.cached(req.seq, req.key);
        if (id !== undefined) {
          known.set(`${req.seq}|${req.key}`, id);
          return id;
        }
        wanted.push(req);
        return --placeholder;
      });
    }
    const resolved = wanted.length > 0 ? await this.ids.resolve(wanted) : new Map<string, number>();
    for (const [k, id] of known) resolved.set(k, id);

    // Pass 2: every id known.
    const out = new Map<string, MlmdView>();
    const now = Date.now();
    for (const rows of servable) {
      const view = reverseRun(rows, (kind, key) => {
        const req = idRequestOf(kind, key, rows.run.uuid);
        const id = resolved.get(`${req.seq}|${req.key}`) ?? this.ids.cached(req.seq, req.key);
        if (id === undefined) throw new Error(`the reverse mapping asked for an id it did not ask for before: ${req.seq} ${req.key}`);
        return id;
      });
      out.set(rows.run.uuid, view);
      this.remember(rows, view, now);
    }
    return out;
  }

  private remember(rows: KfpRunRows, view: MlmdView, now: number): void {
    const finished = rows.run.state !== null && FINISHED_RUN_STATES.has(rows.run.state);
    this.entries.delete(rows.run.uuid);
    this.entries.set(rows.run.uuid, { view, expires: now + (finished ? this.opts.finishedTtlMs : this.opts.liveTtlMs) });
    while (this.entries.size > this.opts.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

export type { IdSequence };
