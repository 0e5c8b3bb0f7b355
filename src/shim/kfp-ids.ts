/**
 * Stable legacy ids for rows KFP 3 created after the cut-over (design.md §3, kfp-facts.md §F.4).
 * Such rows have no MLMD id; the first time the shim shows one it takes the next number of a
 * sequence above every MLMD id of that kind and records it, so the same row keeps the same id
 * across requests, restarts and shim replicas.
 *
 * The ids live in `mlmd_bridge_shim_ids`, the one table the shim writes. It is kept apart from
 * `mlmd_id_map` because allocation needs two unique keys — one id per row and one row per id —
 * which is what makes an insert-if-absent safe when two shims allocate at the same moment.
 */
import { and, eq, inArray, max } from 'drizzle-orm';
import { type KfpTables, kfpTables, SHIM_IDS } from '../db/kfp-tables.ts';
import { insertOrIgnore, orm } from '../db/orm.ts';
import { createTableStatements } from '../db/table-spec.ts';
import { getState, parseJsonState, STATE_KEYS } from '../load/bridge-tables.ts';
import type { Db } from '../db/connection.ts';
import { chunked } from '../db/sql.ts';
import { tableExists } from '../load/schema.ts';


/** MLMD numbers executions, artifacts, contexts and types independently; so do we. */
export type IdSequence = 'execution' | 'artifact' | 'context' | 'type';

export interface IdRequest {
  seq: IdSequence;
  key: string;
  /** The run in which the row was first seen (so an id can be traced back to a run). */
  runUuid: string | null;
}

export interface AllocatedId {
  seq: IdSequence;
  key: string;
  mlmdId: number;
  runUuid: string | null;
}

/** The `mlmd_id_map` kinds whose ids share a sequence with the shim's. */
const MAPPED_KINDS: Record<IdSequence, string[]> = {
  execution: ['execution', 'iteration'],
  artifact: ['artifact'],
  context: ['run_context', 'pipeline_context'],
  type: ['type'],
};
/** `mlmd_bridge_rejects.entity` values whose ids were MLMD ids of the sequence (records never migrated). */
const REJECTED_ENTITIES: Partial<Record<IdSequence, string>> = { execution: 'execution', artifact: 'artifact', context: 'context' };

/** Ids kept in memory before the memo starts over. */
const MAX_REMEMBERED = 200_000;
/** How often a batch is retried after losing ids to a concurrent allocator before giving up. */
const MAX_ATTEMPTS = 20;

export interface ShimIdStoreOptions {
  /** Highest ids of another source whose ids must not be reused (the MLMD archive in "both" mode). */
  externalMax?: () => Promise<Partial<Record<IdSequence, number>>>;
}

export class ShimIdStore {
  private readonly known = new Map<string, number>();
  /** How many times this store has inserted ids: lists of ids kept elsewhere are stale once it moves. */
  allocations = 0;
  /** Allocation is serialised inside the process; across processes the unique keys arbitrate. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Db,
    private readonly opts: ShimIdStoreOptions,
  ) {}

  /**
   * Opens the store on a writable connection to the KFP database, creating its table if needed.
   * Refuses (BridgeError STATE_CORRUPT, exit 3) when the MLMD maxima migrate recorded cannot be read:
   * without them new ids could collide with MLMD ids of records migrate did not map.
   */
  static async open(db: Db, opts: ShimIdStoreOptions = {}): Promise<ShimIdStore> {
    // Raw SQL: DDL, rendered from the one table spec (db/table-spec.ts); drizzle-orm has no builder for it.
    for (const sql of createTableStatements(SHIM_IDS, db.dialect, { ifNotExists: true })) await db.run(sql);
    const store = new ShimIdStore(db, opts);
    await store.recordedMaxima();
    return store;
  }

  /** The id already given to a key, if this process has seen it. */
  cached(seq: IdSequence, key: string): number | undefined {
    return this.known.get(`${seq}|${key}`);
  }

  /** Ids for every request: the recorded one, or a new one from the sequence. A fixed number of statements per 1,000 keys. */
  resolve(requests: readonly IdRequest[]): Promise<Map<string, number>> {
    const run = this.queue.then(() => this.resolveNow(requests));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every allocated id of a sequence (for listings). */
  async all(seq: IdSequence): Promise<AllocatedId[]> {
    const { shimIds: t } = kfpTables(this.db);
    return (await orm(this.db).select(allocatedColumns(t)).from(t).where(eq(t.seq, seq))).map(toAllocated);
  }

  /** The recorded rows of some ids. */
  async byIds(seq: IdSequence, ids: readonly number[]): Promise<AllocatedId[]> {
    const out: AllocatedId[] = [];
    for (const chunk of chunked([...new Set(ids)])) {
      if (chunk.length === 0) continue;
      const { shimIds: t } = kfpTables(this.db);
      const rows = await orm(this.db).select(allocatedColumns(t)).from(t).where(and(eq(t.seq, seq), inArray(t.mlmd_id, chunk)));
      out.push(...rows.map(toAllocated));
    }
    return out;
  }

  private async resolveNow(requests: readonly IdRequest[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const wanted = new Map<string, IdRequest>();
    for (const r of requests) {
      const k = `${r.seq}|${r.key}`;
      const hit = this.known.get(k);
      if (hit !== undefined) out.set(k, hit);
      else wanted.set(k, r);
    }
    for (let attempt = 1; wanted.size > 0; attempt++) {
      for (const found of await this.lookup([...wanted.values()])) {
        const k = `${found.seq}|${found.key}`;
        // A memo, not the truth (that is the table): bounded so that a long-lived shim does not grow without end.
        if (this.known.size >= MAX_REMEMBERED) this.known.clear();
        this.known.set(k, found.mlmdId);
        out.set(k, found.mlmdId);
        wanted.delete(k);
      }
      if (wanted.size === 0) break;
      if (attempt > MAX_ATTEMPTS) throw new Error(`could not allocate shim ids for ${wanted.size} rows after ${MAX_ATTEMPTS} attempts`);
      await this.insertNew([...wanted.values()]);
      // The next lookup reads back what won: ours, or a concurrent shim's id for the same row.
    }
    return out;
  }

  private async lookup(requests: IdRequest[]): Promise<AllocatedId[]> {
    const out: AllocatedId[] = [];
    for (const seq of new Set(requests.map((r) => r.seq))) {
      const keys = requests.filter((r) => r.seq === seq).map((r) => r.key);
      for (const chunk of chunked(keys)) {
        const { shimIds: t } = kfpTables(this.db);
        const rows = await orm(this.db).select(allocatedColumns(t)).from(t).where(and(eq(t.seq, seq), inArray(t.kfp_key, chunk)));
        out.push(...rows.map(toAllocated));
      }
    }
    return out;
  }

  /**
   * Inserts the requests with consecutive ids above the current maximum. A row another shim
   * inserted meanwhile (same key, or same id) is ignored, not an error; the caller reads back.
   */
  private async insertNew(requests: IdRequest[]): Promise<void> {
    this.allocations++;
    const { shimIds } = kfpTables(this.db);
    for (const seq of new Set(requests.map((r) => r.seq))) {
      let next = (await this.floor(seq)) + 1;
      for (const chunk of chunked(requests.filter((r) => r.seq === seq), 200)) {
        await insertOrIgnore(this.db, shimIds, chunk.map((r) => ({ seq, kfp_key: r.key, mlmd_id: next++, run_uuid: r.runUuid })));
      }
    }
  }

  /** The largest id in use for a sequence: MLMD ids kept in the map or the rejects, the archive's, and ours. */
  private async floor(seq: IdSequence): Promise<number> {
    const { shimIds, idMap, bridgeRejects } = kfpTables(this.db);
    const db = orm(this.db);
    const largest = (rows: { m: number | null }[]) => rows[0]?.m ?? 0;
    let floor = largest(await db.select({ m: max(shimIds.mlmd_id) }).from(shimIds).where(eq(shimIds.seq, seq)));
    if (await tableExists(this.db, 'mlmd_id_map')) {
      floor = Math.max(floor, largest(await db.select({ m: max(idMap.mlmd_id) }).from(idMap).where(inArray(idMap.kind, MAPPED_KINDS[seq]))));
    }
    const entity = REJECTED_ENTITIES[seq];
    if (entity && (await tableExists(this.db, 'mlmd_bridge_rejects'))) {
      floor = Math.max(floor, largest(await db.select({ m: max(bridgeRejects.mlmd_id) }).from(bridgeRejects).where(eq(bridgeRejects.entity, entity))));
    }
    floor = Math.max(floor, (await this.recordedMaxima())[seq] ?? 0);
    const external = (await this.opts.externalMax?.())?.[seq] ?? 0;
    return Math.max(floor, external);
  }

  /** Ids of records migrate never mapped (e.g. TFX artifacts) are known only from the maxima migrate recorded. */
  private async recordedMaxima(): Promise<Partial<Record<IdSequence, number>>> {
    if (!(await tableExists(this.db, 'mlmd_bridge_state'))) return {};
    return parseMaxima((await getState(this.db, MLMD_MAX_IDS_STATE)) ?? null);
  }
}

/**
 * The `mlmd_bridge_state` entry under which a migration may record the highest MLMD id of each
 * sequence (JSON `{"execution":n,"artifact":n,"context":n,"type":n}`), covering records it did not map.
 */
export const MLMD_MAX_IDS_STATE = STATE_KEYS.mlmdMaxIds;

const SEQUENCES = ['execution', 'artifact', 'context', 'type'] as const;

/** What migrate records: a JSON object with a whole number ≥ 0 for some of the sequences. */
function isMaxima(v: unknown): v is Partial<Record<IdSequence, number>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return SEQUENCES.every((seq) => {
    if (!Object.hasOwn(v, seq)) return true;
    const n = (v as Record<string, unknown>)[seq];
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  });
}

/**
 * The recorded maxima; `{}` when none were recorded (a migration by an older version). Anything
 * else that is not an object of whole numbers ≥ 0 per sequence is refused (STATE_CORRUPT, exit 3)
 * rather than guessed at: read as `{}`, new ids could collide with MLMD ids migrate did not map.
 */
export function parseMaxima(text: string | null): Partial<Record<IdSequence, number>> {
  if (text === null) return {};
  const maxima = parseJsonState(
    MLMD_MAX_IDS_STATE,
    text,
    isMaxima,
    'a JSON object with a whole number ≥ 0 per sequence ({"execution":n,"artifact":n,"context":n,"type":n})',
    'run `mlmd-bridge migrate --mlmd URL --kfp URL` again: it records this entry afresh from the MLMD database (the shim needs it to give new rows ids that cannot collide with MLMD ids)',
  );
  const out: Partial<Record<IdSequence, number>> = {};
  for (const seq of SEQUENCES) if (maxima[seq] !== undefined) out[seq] = maxima[seq];
  return out;
}

const allocatedColumns = (t: KfpTables['shimIds']) => ({ seq: t.seq, key: t.kfp_key, mlmdId: t.mlmd_id, runUuid: t.run_uuid });

function toAllocated(r: { seq: string; key: string; mlmdId: number; runUuid: string | null }): AllocatedId {
  return { ...r, seq: r.seq as IdSequence };
}
