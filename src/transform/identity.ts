import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/**
 * Deterministic identities (design.md §3) and the hash keys of kfp-facts.md §C.5.
 * Re-running a migration derives the same UUIDs, so it never duplicates a row.
 */

/** mlmd-bridge's own namespace UUID. Never change it: every migrated row's id derives from it. */
export const MLMD_BRIDGE_NAMESPACE = '549a1781-8637-4528-a7ae-b50ea13573b9';

/** Names the way `ids` derives row ids; stored with a migration so a later one never mixes schemes. */
export const ID_SCHEME = 'mlmd-id-prefixed-sha1-v8';

const NAMESPACE_BYTES = Buffer.from(MLMD_BRIDGE_NAMESPACE.replace(/-/g, ''), 'hex');

/**
 * The id of a row in `tasks`, `artifacts` or `artifact_tasks`: a name-based UUID (RFC 9562 version
 * 8) whose first 32 bits are the MLMD id the row comes from and whose other 90 free bits are the
 * SHA-1 of the namespace and the full name, as in UUIDv5.
 *
 * Why not plain UUIDv5: its ids are uniformly random, so every batch of a migration inserts into
 * random pages of each table's primary key, and once the tables outgrow the InnoDB buffer pool each
 * insert reads and dirties a page of its own — measured at 3× the write time of ids that ascend with
 * the MLMD ids (`npm run bench`). Leading with the MLMD id keeps a batch's rows on a few adjacent
 * pages, as a bulk load would. The id is still a pure function of the name: a re-run derives the
 * same ids, and two names differ in at least their hash bits.
 */
export function orderedUuid(mlmdId: number, name: string): string {
  const h = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  // MLMD ids are INT columns (32 bits); a larger one (SQLite) only loses locality, never uniqueness.
  h.writeUInt32BE(mlmdId >= 0 && mlmdId <= 0xffffffff ? mlmdId : mlmdId % 0x100000000 >>> 0, 0);
  h[6] = 0x80 | (h[6]! & 0x0f);
  h[8] = 0x80 | (h[8]! & 0x3f);
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A UUIDv5 under the project namespace: for ids that are not rows of the three KFP tables (types, pipeline contexts). */
export const nameUuid = (name: string) => uuidv5(name, MLMD_BRIDGE_NAMESPACE);

export const ids = {
  task: (executionId: number) => orderedUuid(executionId, `execution:${executionId}`),
  /** A ROOT synthesized for a run that has no root DAG execution: no MLMD id, so it sorts first. */
  syntheticRoot: (runUuid: string) => orderedUuid(0, `root:${runUuid}`),
  artifact: (artifactId: number, namespace: string) => orderedUuid(artifactId, `artifact:${artifactId}:${namespace}`),
  metricRow: (artifactId: number, namespace: string, key: string) => orderedUuid(artifactId, `artifact:${artifactId}:${namespace}:metric:${key}`),
  /** The Type 1 row holding a metrics artifact's non-numeric entries (or standing in for an empty one). */
  metricSidecar: (artifactId: number, namespace: string) => orderedUuid(artifactId, `artifact:${artifactId}:${namespace}:metric-sidecar`),
  link: (eventId: number, artifactRowUuid: string, taskUuid: string) => orderedUuid(eventId, `link:${eventId}:${artifactRowUuid}:${taskUuid}`),
  /** The id-map key of a `system.Pipeline` context (shared by runs, so it has no row of its own). */
  pipelineContext: (name: string) => nameUuid(`pipeline:${name}`),
  type: (typeKind: number, name: string, version: string | null) => nameUuid(`type:${typeKind}:${name}:${version ?? ''}`),
};

const sha256hex = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

/** `URIHash`: sha256 hex of the URI bytes, `""` when the URI is empty or NULL. */
export function uriHash(uri: string | null): string {
  return uri === null || uri === '' ? '' : sha256hex(Buffer.from(uri, 'utf8'));
}

function lp(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/**
 * `LogicalKey` exactly as the KFP 3 task store computes it; `null` when RunUUID, ScopePath or Name is
 * empty or Type is 0 (the server stores NULL then).
 */
export function logicalKey(k: {
  runUuid: string;
  parentTaskUuid: string | null;
  scopePath: string | null;
  name: string | null;
  type: number;
  iterationIndex: number | null;
}): string | null {
  if (!k.runUuid || !k.scopePath || !k.name || k.type === 0) return null;
  const type = Buffer.alloc(4);
  type.writeInt32BE(k.type);
  let iter: Buffer;
  if (k.iterationIndex === null) {
    iter = Buffer.from([0]);
  } else {
    iter = Buffer.alloc(9);
    iter[0] = 1;
    iter.writeBigInt64BE(BigInt(k.iterationIndex), 1);
  }
  return sha256hex(Buffer.concat([lp(k.runUuid), lp(k.parentTaskUuid ?? ''), lp(k.scopePath), lp(k.name), type, iter]));
}
