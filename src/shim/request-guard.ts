/**
 * Looks at a request's bytes before they are decoded. A decoder turns 13 million ids into 13
 * million strings (gigabytes) before any handler can count them; counted here, on the wire, a
 * request naming more than the limit allows is refused without building anything. The same pass
 * notes the field GetArtifactsByURI must refuse (MLMD rejects the removed `uri = 1`, which a
 * decoder silently drops) and turns bytes that are not a message into INVALID_ARGUMENT rather than
 * the transport's INTERNAL.
 */
import protobuf from 'protobufjs';
import { tooMany } from './call-context.ts';
import { mlmdProtoRoot } from './proto.ts';
import { invalidArgument, type RpcError } from './status.ts';

/** Set on a decoded request that must be refused: the handler is not called, the error is the answer. */
export const REQUEST_PROBLEM = Symbol('request problem');
/** Set on a GetArtifactsByURI request that carried the removed `uri = 1` field. */
export const DEPRECATED_URI_FIELD = Symbol('GetArtifactsByURIRequest.uri');

interface RepeatedField {
  name: string;
  /** Scalar numbers may arrive packed: one length-delimited run of varints for many values. */
  packable: boolean;
}

const PACKABLE = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'enum', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'double', 'float']);

const repeatedByRpc = new Map<string, Map<number, RepeatedField>>();

function repeatedFields(rpc: string): Map<number, RepeatedField> {
  let fields = repeatedByRpc.get(rpc);
  if (!fields) {
    fields = new Map();
    const type = mlmdProtoRoot().lookup(`ml_metadata.${rpc}Request`);
    if (type instanceof protobuf.Type) {
      for (const f of type.fieldsArray) {
        if (f.repeated) fields.set(f.id, { name: f.name, packable: PACKABLE.has(f.type) || f.resolvedType instanceof protobuf.Enum });
      }
    }
    repeatedByRpc.set(rpc, fields);
  }
  return fields;
}

export interface WireFacts {
  /** Field numbers present at the top level. */
  fields: Set<number>;
}

/** Checks the top level of `bytes`: well-formed, and no repeated field with more than `maxValues` values. */
export function inspectRequest(rpc: string, bytes: Uint8Array, maxValues: number): RpcError | WireFacts {
  const repeated = repeatedFields(rpc);
  const counts = new Map<number, number>();
  const fields = new Set<number>();
  const reader = protobuf.Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 0) return invalidArgument(`cannot decode ${rpc} request: field number 0 at byte ${reader.pos}`);
      fields.add(field);
      const info = repeated.get(field);
      if (!info) {
        reader.skipType(wire);
        continue;
      }
      let n = 1;
      if (wire === 2 && info.packable) {
        const length = reader.uint32();
        const end = reader.pos + length;
        if (end > reader.len) return invalidArgument(`cannot decode ${rpc} request: ${info.name} runs past the end of the message`);
        n = 0;
        for (let i = reader.pos; i < end; i++) if ((bytes[i]! & 0x80) === 0) n++;
        reader.pos = end;
      } else reader.skipType(wire);
      const total = (counts.get(field) ?? 0) + n;
      if (total > maxValues) return tooMany(info.name, null, maxValues);
      counts.set(field, total);
    }
  } catch (e) {
    return invalidArgument(`cannot decode ${rpc} request: ${(e as Error).message}`);
  }
  return { fields };
}
