/**
 * All 52 MetadataStoreService RPCs over one backend, as transport-neutral handlers, plus the
 * service definition both transports serve them with.
 */
import type { ShimBackend } from './backend.ts';
import { edgeReadHandlers } from './edge-reads.ts';
import { lineageHandlers } from './lineage.ts';
import { DEPRECATED_URI_FIELD, nodeReadHandlers } from './node-reads.ts';
import { type MethodDefinition, mlmdServiceDefinition, topLevelFieldNumbers } from './proto.ts';
import type { RpcHandlers } from './rpc.ts';
import { typeReadHandlers } from './type-reads.ts';
import { writeHandlers } from './writes.ts';

export function mlmdHandlers(backend: ShimBackend): RpcHandlers {
  return {
    ...typeReadHandlers(backend),
    ...nodeReadHandlers(backend),
    ...edgeReadHandlers(backend),
    ...lineageHandlers(backend),
    ...writeHandlers(),
  };
}

/**
 * The service definition with one change: GetArtifactsByURI's decoder notes whether the request
 * carried the field number our contract reserves, because MLMD rejects such requests and a
 * protobuf decoder silently drops unknown fields.
 */
export function shimServiceDefinition(): Record<string, MethodDefinition> {
  const base = mlmdServiceDefinition();
  const out: Record<string, MethodDefinition> = {};
  for (const [name, method] of Object.entries(base)) out[name] = method;
  const byUri = base.GetArtifactsByURI;
  if (!byUri) throw new Error('the MLMD service definition has no GetArtifactsByURI');
  out.GetArtifactsByURI = {
    ...byUri,
    requestDeserialize: (bytes: Buffer): object => {
      const request = byUri.requestDeserialize(bytes) as Record<string | symbol, unknown>;
      if (topLevelFieldNumbers(bytes).has(1)) request[DEPRECATED_URI_FIELD] = true;
      return request;
    },
  };
  return out;
}
