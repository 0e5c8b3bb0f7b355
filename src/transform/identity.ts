import { hash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { goJsonStringify } from '../proto/kfp-json.ts';

/**
 * Deterministic identities (design.md §3) and the hash keys of kfp-facts.md §C.5.
 * Re-running a migration derives the same UUIDs, so it never duplicates a row.
 */

/** mlmd-bridge's own namespace UUID. Never change it: every migrated row's id derives from it. */
export const MLMD_BRIDGE_NAMESPACE = '549a1781-8637-4528-a7ae-b50ea13573b9';

/** Names the way `ids` derives row ids; stored with a migration so a later one never mixes schemes. */
export const ID_SCHEME = 'mlmd-id-prefixed-sha1-v8';

/**
 * The id of a row in `tasks`, `artifacts` or `artifact_tasks`: a name-based UUID (RFC 9562 version
 * 8) whose first 32 bits are the MLMD id the row comes from and whose other 90 free bits come from
 * the SHA-1 of `<namespace>/<name>`.
 *
 * Why not plain UUIDv5: its ids are uniformly random, so every batch of a migration inserts into
 * random pages of each table's primary key, and once the tables outgrow the InnoDB buffer pool each
 * insert reads and dirties a page of its own — measured at 3× the write time of ids that ascend with
 * the MLMD ids (`npm run bench`). Leading with the MLMD id keeps a batch's rows on a few adjacent
 * pages, as a bulk load would. The id is still a pure function of the name: a re-run derives the
 * same ids, and two names differ in at least their hash bits.
 */
export function orderedUuid(mlmdId: number, name: string): string {
  // One-shot hashing of a string: a third of the cost of createHash().update().digest() per id.
  const h = hash('sha1', `${MLMD_BRIDGE_NAMESPACE}/${name}`, 'hex');
  // MLMD ids are INT columns (32 bits); a larger one (SQLite) only loses locality, never uniqueness.
  const prefix = (mlmdId >= 0 && mlmdId <= 0xffffffff ? mlmdId : mlmdId % 0x100000000 >>> 0).toString(16).padStart(8, '0');
  const variant = VARIANT_NIBBLE[h.charCodeAt(16)]!;
  // join() gives one flat string; a template literal would leave a tree of string pieces (~410 bytes
  // per id instead of ~60), and ids live as long as their rows and are hashed into other ids.
  return [prefix, '-', h.slice(8, 12), '-8', h.slice(13, 16), '-', variant, h.slice(17, 20), '-', h.slice(20, 32)].join('');
}

/** The RFC 9562 variant (0b10) over the top two bits of a hex digit, by the digit's char code. */
const VARIANT_NIBBLE: Record<number, string> = Object.fromEntries(
  [...'0123456789abcdef'].map((c) => [c.charCodeAt(0), (0x8 | (parseInt(c, 16) & 0x3)).toString(16)]),
);

/** A UUIDv5 under the project namespace: for ids that are not rows of the three KFP tables (types, pipeline contexts). */
const nameUuid = (name: string) => uuidv5(name, MLMD_BRIDGE_NAMESPACE);

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

/** `URIHash`: sha256 hex of the URI bytes, `""` when the URI is empty or NULL. */
export function uriHash(uri: string | null): string {
  return uri === null || uri === '' ? '' : hash('sha256', uri, 'hex');
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
  // Length-prefixed strings, the type, then the optional iteration index, in one buffer and one hash call.
  const parts = [k.runUuid, k.parentTaskUuid ?? '', k.scopePath, k.name];
  let size = 4 + (k.iterationIndex === null ? 1 : 9);
  for (const p of parts) size += 4 + Buffer.byteLength(p, 'utf8');
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    const n = buf.write(p, at + 4, 'utf8');
    buf.writeUInt32BE(n, at);
    at += 4 + n;
  }
  at = buf.writeInt32BE(k.type, at);
  if (k.iterationIndex === null) {
    buf[at] = 0;
  } else {
    buf[at] = 1;
    buf.writeBigInt64BE(BigInt(k.iterationIndex), at + 1);
  }
  return hash('sha256', buf, 'hex');
}

/**
 * `IdentityKey` exactly as the KFP 3 artifact store's `computeArtifactIdentityKey`: the Type as a
 * big-endian int32, then the URI, Name, Description and the canonical Metadata, each length-prefixed
 * (kfp-facts.md §C.5). SQL NULL reads as the Go zero value, and Metadata is re-encoded as Go's
 * json.Marshal writes a map (NULL, `null` and `{}` all give `{}`). A `reimport=false` importer
 * computes it for the artifact it is about to create, and reuses the row of its namespace holding it.
 */
export function artifactIdentityKey(row: { Type: number | null; URI: string | null; Name: string | null; Description: string | null; Metadata: string | null }): string {
  const parsed: unknown = row.Metadata === null ? null : JSON.parse(row.Metadata);
  const metadata = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? goJsonStringify(parsed) : '{}';
  const parts = [row.URI ?? '', row.Name ?? '', row.Description ?? '', metadata];
  let size = 4;
  for (const p of parts) size += 4 + Buffer.byteLength(p, 'utf8');
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeInt32BE(row.Type ?? 0, 0);
  for (const p of parts) {
    const n = buf.write(p, at + 4, 'utf8');
    buf.writeUInt32BE(n, at);
    at += 4 + n;
  }
  return hash('sha256', buf, 'hex');
}
