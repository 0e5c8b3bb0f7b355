import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/**
 * Deterministic identities (design.md §3) and the hash keys of kfp-facts.md §C.5.
 * Re-running a migration derives the same UUIDs, so it never duplicates a row.
 */

/** mlmd-bridge's own UUIDv5 namespace. Never change it: every migrated row's id derives from it. */
export const MLMD_BRIDGE_NAMESPACE = '549a1781-8637-4528-a7ae-b50ea13573b9';

const id = (name: string) => uuidv5(name, MLMD_BRIDGE_NAMESPACE);

export const ids = {
  task: (executionId: number) => id(`execution:${executionId}`),
  /** A ROOT synthesized for a run that has no root DAG execution. */
  syntheticRoot: (runUuid: string) => id(`root:${runUuid}`),
  artifact: (artifactId: number, namespace: string) => id(`artifact:${artifactId}:${namespace}`),
  metricRow: (artifactId: number, namespace: string, key: string) => id(`artifact:${artifactId}:${namespace}:metric:${key}`),
  /** The Type 1 row holding a metrics artifact's non-numeric entries (or standing in for an empty one). */
  metricSidecar: (artifactId: number, namespace: string) => id(`artifact:${artifactId}:${namespace}:metric-sidecar`),
  link: (eventId: number, artifactRowUuid: string, taskUuid: string) => id(`link:${eventId}:${artifactRowUuid}:${taskUuid}`),
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
