/**
 * Gives migrated imported artifacts the `IdentityKey` KFP 3's importer looks for, so that a
 * `reimport=false` importer in a new run finds the migrated artifact (and the tasks downstream of
 * it can hit the cache) instead of creating another (kfp-facts.md §C.2, §C.5).
 *
 * `(Namespace, IdentityKey)` is unique, and MLMD may hold several artifacts KFP 3 cannot tell
 * apart (the same URI, type and metadata imported with reimport=true, or by two pipelines). Which
 * one holds the key is decided over the whole database, so it does not depend on the order runs
 * were migrated in: the row with the smallest UUID (UUIDs lead with the MLMD id: the oldest
 * artifact), unless a row KFP 3 created already holds the key — KFP 3's own rows are left alone.
 * Every candidate that does not get its key is reported, by MLMD id.
 */
import type { Queryable } from '../db/connection.ts';
import type { Reject } from '../transform/model.ts';
import { REJECT_CODES } from '../transform/reject-codes.ts';
import { and, eq, inArray, isNotNull, like } from 'drizzle-orm';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { chunked } from '../db/sql.ts';

interface Candidate {
  mlmdId: number;
  uuid: string;
  namespace: string;
  key: string;
  holds: string | null;
}

/** Sets and clears IdentityKeys until every migrated imported artifact that may hold its key does. Call inside one transaction. */
export async function assignIdentityKeys(tx: Queryable): Promise<{ holding: number; shared: Reject[] }> {
  const { artifacts, idMap } = kfpTables(tx);
  const db = orm(tx);
  const candidates: Candidate[] = [];
  const imported = await db
    .select({ mlmdId: idMap.mlmd_id, uuid: idMap.kfp_uuid, extra: idMap.extra, namespace: artifacts.Namespace, holds: artifacts.IdentityKey })
    .from(idMap)
    .innerJoin(artifacts, eq(artifacts.UUID, idMap.kfp_uuid))
    .where(and(eq(idMap.kind, 'artifact'), like(idMap.extra, '%identityKey%')));
  for (const r of imported) {
    const key = (JSON.parse(r.extra ?? '{}') as { identityKey?: unknown }).identityKey;
    if (typeof key === 'string') candidates.push({ mlmdId: r.mlmdId, uuid: r.uuid, namespace: r.namespace, key, holds: r.holds });
  }
  const mine = new Set(candidates.map((c) => c.uuid));
  const holders = new Map<string, string>();
  const held = await db.select({ uuid: artifacts.UUID, namespace: artifacts.Namespace, key: artifacts.IdentityKey }).from(artifacts).where(isNotNull(artifacts.IdentityKey));
  for (const r of held) holders.set(slot(r.namespace, r.key!), r.uuid);

  const winners = new Map<string, Candidate>();
  for (const c of candidates) {
    const s = slot(c.namespace, c.key);
    const best = winners.get(s);
    if (!best || c.uuid < best.uuid) winners.set(s, c);
  }
  const clear: string[] = [];
  const set: Candidate[] = [];
  const shared: Reject[] = [];
  let holding = 0;
  for (const c of candidates) {
    const s = slot(c.namespace, c.key);
    const native = holders.get(s);
    const winner = native !== undefined && !mine.has(native) ? null : winners.get(s)!;
    if (winner === c) {
      holding++;
      if (c.holds !== c.key) set.push(c);
      continue;
    }
    if (c.holds !== null) clear.push(c.uuid);
    shared.push({
      code: 'IDENTITY_KEY_SHARED',
      disposition: REJECT_CODES.IDENTITY_KEY_SHARED.disposition,
      entity: 'artifact',
      mlmdId: c.mlmdId,
      runUuid: null,
      reason: winner
        ? `imported as the same type, URI, name and metadata as artifact ${winner.mlmdId} in namespace "${c.namespace}", which holds the IdentityKey; a reimport=false importer in KFP 3 reuses that one`
        : `an artifact KFP 3 created in namespace "${c.namespace}" already holds its IdentityKey; a reimport=false importer in KFP 3 reuses that one`,
    });
  }
  // A key changes hands in two steps: the unique index must never see it twice.
  for (const uuids of chunked(clear)) await db.update(artifacts).set({ IdentityKey: null }).where(inArray(artifacts.UUID, uuids));
  for (const c of set) {
    const holder = holders.get(slot(c.namespace, c.key));
    if (holder !== undefined && holder !== c.uuid) await db.update(artifacts).set({ IdentityKey: null }).where(eq(artifacts.UUID, holder));
    await db.update(artifacts).set({ IdentityKey: c.key }).where(eq(artifacts.UUID, c.uuid));
  }
  shared.sort((a, b) => a.mlmdId - b.mlmdId);
  return { holding, shared };
}

const slot = (namespace: string, key: string) => `${namespace}\u0000${key}`;
