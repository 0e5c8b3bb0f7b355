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
import { chunked, placeholders } from '../extract/sql.ts';

interface Candidate {
  mlmdId: number;
  uuid: string;
  namespace: string;
  key: string;
  holds: string | null;
}

/** Sets and clears IdentityKeys until every migrated imported artifact that may hold its key does. Call inside one transaction. */
export async function assignIdentityKeys(tx: Queryable): Promise<{ holding: number; shared: Reject[] }> {
  const candidates: Candidate[] = [];
  for (const r of await tx.all<{ mlmd_id: number; kfp_uuid: string; extra: string; Namespace: string; IdentityKey: string | null }>(
    "SELECT m.mlmd_id, m.kfp_uuid, m.extra, a.Namespace, a.IdentityKey FROM mlmd_id_map m JOIN artifacts a ON a.UUID = m.kfp_uuid WHERE m.kind = 'artifact' AND m.extra LIKE '%identityKey%'",
  )) {
    const key = (JSON.parse(r.extra) as { identityKey?: unknown }).identityKey;
    if (typeof key === 'string') candidates.push({ mlmdId: Number(r.mlmd_id), uuid: r.kfp_uuid, namespace: r.Namespace, key, holds: r.IdentityKey });
  }
  const mine = new Set(candidates.map((c) => c.uuid));
  const holders = new Map<string, string>();
  for (const r of await tx.all<{ UUID: string; Namespace: string; IdentityKey: string }>('SELECT UUID, Namespace, IdentityKey FROM artifacts WHERE IdentityKey IS NOT NULL')) {
    holders.set(slot(r.Namespace, r.IdentityKey), r.UUID);
  }

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
  for (const uuids of chunked(clear)) await tx.run(`UPDATE artifacts SET IdentityKey = NULL WHERE UUID IN (${placeholders(uuids.length)})`, uuids);
  for (const c of set) {
    const holder = holders.get(slot(c.namespace, c.key));
    if (holder !== undefined && holder !== c.uuid) await tx.run('UPDATE artifacts SET IdentityKey = NULL WHERE UUID = ?', [holder]);
    await tx.run('UPDATE artifacts SET IdentityKey = ? WHERE UUID = ?', [c.key, c.uuid]);
  }
  shared.sort((a, b) => a.mlmdId - b.mlmdId);
  return { holding, shared };
}

const slot = (namespace: string, key: string) => `${namespace}\u0000${key}`;
