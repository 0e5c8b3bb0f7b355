/**
 * Where the KFP backend finds an MLMD id: the run of an execution or a run context, the artifact
 * rows behind an artifact id, the kind and name of a context. Every call of the run page asks this
 * about the ids the previous call answered, and each answer used to cost two indexed queries (the
 * id map and the shim's own ids); remembered, the calls after the first of a page ask the
 * database nothing.
 *
 * What is remembered is fixed once written: an execution's task belongs to one run for good, a run
 * context is its run, an id names the same rows (migrate's ids are deterministic and the shim's are
 * never reissued). Only an artifact's rows can grow — a later true-up may add a copy of it in
 * another namespace — so those are trusted for a while (the run cache's TTL for finished runs).
 * A run deleted since is harmless: its id leads to a run that no longer has a view.
 */
import type { MlmdView } from '../transform/reverse.ts';
import { RUN_CONTEXT_TYPE } from '../transform/rules.ts';
import { CountedLruMap, LruMap } from '../util/lru-map.ts';

/** Ids remembered per kind; about 100 bytes each. */
const REMEMBERED = 200_000;

export type ContextOwner = { kind: 'run'; run: string } | { kind: 'pipeline'; name: string | null; run: string | null };

export class IdHomes {
  // Counted caches: their hits and misses are served as metrics (mlmd_bridge_shim_cache_lookups_total).
  readonly executionRun = new CountedLruMap<number, string>('execution_runs', REMEMBERED);
  readonly contextOwner = new CountedLruMap<number, ContextOwner>('context_owners', REMEMBERED);
  /** Every row of an artifact id, as the id map and the shim's ids hold them (what its events need). */
  readonly artifactRows: LruMap<number, string[]>;
  /**
   * Rows a run's view shows an artifact id from: enough to choose where to show the artifact, but
   * not necessarily all its rows (a copy in another namespace is linked by other runs).
   */
  readonly artifactShownRows: LruMap<number, string[]>;

  constructor(artifactRowsTtlMs: number) {
    this.artifactRows = new CountedLruMap('artifact_rows', REMEMBERED, artifactRowsTtlMs);
    this.artifactShownRows = new LruMap(REMEMBERED, artifactRowsTtlMs);
  }

  /** Learns from a run's view which ids belong to it. */
  learn(runUuid: string, view: MlmdView): void {
    for (const e of view.executions) this.executionRun.set(e.id, runUuid);
    for (const c of view.contexts) if (c.type === RUN_CONTEXT_TYPE && c.name === runUuid) this.contextOwner.set(c.id, { kind: 'run', run: runUuid });
    const rowsOf = new Map<number, string[]>();
    for (const [row, id] of view.artifactIdOfRow) rowsOf.set(id, [...(rowsOf.get(id) ?? []), row]);
    for (const [id, rows] of rowsOf) if (this.artifactShownRows.get(id) === undefined) this.artifactShownRows.set(id, rows);
  }

  clear(): void {
    this.executionRun.clear();
    this.contextOwner.clear();
    this.artifactRows.clear();
    this.artifactShownRows.clear();
  }

  /** Splits `ids` into those remembered (with their value) and those to look up. */
  static split<V extends {}>(memo: LruMap<number, V>, ids: readonly number[]): { known: [number, V][]; unknown: number[] } {
    const known: [number, V][] = [];
    const unknown: number[] = [];
    for (const id of new Set(ids)) {
      const v = memo.get(id);
      if (v === undefined) unknown.push(id);
      else known.push([id, v]);
    }
    return { known, unknown };
  }
}
