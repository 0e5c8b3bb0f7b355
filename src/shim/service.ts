/**
 * All 52 MetadataStoreService RPCs over one backend, as transport-neutral handlers, plus the
 * service definition both transports serve them with.
 */
import type { ShimBackend } from './backend.ts';
import { edgeReadHandlers } from './edge-reads.ts';
import { lineageHandlers } from './lineage.ts';
import { nodeReadHandlers } from './node-reads.ts';
import { type MethodDefinition, mlmdServiceDefinition } from './proto.ts';
import { DEPRECATED_URI_FIELD, inspectRequest, REQUEST_PROBLEM } from './request-guard.ts';
import type { RpcHandlers } from './rpc.ts';
import { invalidArgument } from './status.ts';
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
 * The service definition, with every request decoder behind the request guard: bytes that are not
 * a message, or that name more values than `maxValues`, become a request marked REQUEST_PROBLEM
 * (answered INVALID_ARGUMENT or RESOURCE_EXHAUSTED without running the handler), and a
 * GetArtifactsByURI request notes whether it carried the field number our contract reserves,
 * because MLMD rejects such requests and a protobuf decoder silently drops unknown fields.
 */
export function shimServiceDefinition(maxValues: number): Record<string, MethodDefinition> {
  const base = mlmdServiceDefinition();
  const out: Record<string, MethodDefinition> = {};
  for (const [name, method] of Object.entries(base)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): object => {
        const facts = inspectRequest(name, bytes, maxValues);
        if (!('fields' in facts)) return { [REQUEST_PROBLEM]: facts };
        let request: Record<string | symbol, unknown>;
        try {
          request = method.requestDeserialize(bytes) as Record<string | symbol, unknown>;
        } catch (e) {
          return { [REQUEST_PROBLEM]: invalidArgument(`cannot decode ${name} request: ${(e as Error).message}`) };
        }
        if (name === 'GetArtifactsByURI' && facts.fields.has(1)) request[DEPRECATED_URI_FIELD] = true;
        return request;
      },
    };
  }
  if (!out.GetArtifactsByURI) throw new Error('the MLMD service definition has no GetArtifactsByURI');
  return out;
}
