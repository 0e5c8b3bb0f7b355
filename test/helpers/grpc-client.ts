/**
 * A real @grpc/grpc-js client for the shim's MetadataStoreService, with promise-returning calls,
 * and a raw call that sends hand-encoded request bytes (for requests our own encoder cannot
 * produce, such as a field number the contract reserves).
 */
import * as grpc from '@grpc/grpc-js';
import { mlmdPackageDefinition, SERVICE_NAME } from '../../src/shim/proto.ts';
import type { JsonObject, JsonValue, MlmdArtifact, MlmdContext, MlmdEvent, MlmdExecution, MlmdValue, PathStep, Props } from '../../src/transform/model.ts';

export type Msg = Record<string, any>;

export interface MlmdTestClient {
  call(rpc: string, request?: Msg): Promise<Msg>;
  /** Resolves with the gRPC error of a call that must fail; rejects if it succeeds. */
  fail(rpc: string, request?: Msg): Promise<grpc.ServiceError>;
  rawCall(rpc: string, requestBytes: Buffer): Promise<Msg>;
  close(): void;
  readonly raw: grpc.Client;
}

export function mlmdClient(port: number, host = '127.0.0.1'): MlmdTestClient {
  const pkg = grpc.loadPackageDefinition(mlmdPackageDefinition()) as unknown as {
    ml_metadata: { MetadataStoreService: grpc.ServiceClientConstructor };
  };
  const client = new pkg.ml_metadata.MetadataStoreService(`${host}:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const call = (rpc: string, request: Msg = {}): Promise<Msg> =>
    new Promise((resolve, reject) => {
      const method = (client as unknown as Record<string, Function>)[rpc];
      if (typeof method !== 'function') {
        reject(new Error(`no such RPC ${rpc}`));
        return;
      }
      method.call(client, request, (err: grpc.ServiceError | null, response: Msg) => (err ? reject(err) : resolve(response)));
    });
  return {
    raw: client,
    call,
    async fail(rpc, request = {}) {
      try {
        await call(rpc, request);
      } catch (e) {
        return e as grpc.ServiceError;
      }
      throw new Error(`${rpc} succeeded but was expected to fail`);
    },
    rawCall(rpc, requestBytes) {
      const method = (mlmdPackageDefinition()[SERVICE_NAME] as Record<string, { responseDeserialize(b: Buffer): Msg }>)[rpc]!;
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          `/${SERVICE_NAME}/${rpc}`,
          (b: Buffer) => b,
          (b: Buffer) => method.responseDeserialize(b),
          requestBytes,
          (err: grpc.ServiceError | null, response?: Msg) => (err ? reject(err) : resolve(response ?? {})),
        );
      });
    },
    close() {
      client.close();
    },
  };
}

// ------------------------------------------------------------------ answers back to records
// The decoded messages (keepCase, int64 as strings, enums by name, oneof markers) turned back into
// the record model, so that answers of two shims can be compared with the transform's differ.

const EXECUTION_STATES = ['UNKNOWN', 'NEW', 'RUNNING', 'COMPLETE', 'FAILED', 'CACHED', 'CANCELED'];
const ARTIFACT_STATES = ['UNKNOWN', 'PENDING', 'LIVE', 'MARKED_FOR_DELETION', 'DELETED', 'ABANDONED', 'REFERENCE'];
const EVENT_TYPES = ['UNKNOWN', 'DECLARED_OUTPUT', 'DECLARED_INPUT', 'INPUT', 'OUTPUT', 'INTERNAL_INPUT', 'INTERNAL_OUTPUT', 'PENDING_OUTPUT'];

const enumNumber = (names: string[], v: unknown): number | null => (v === undefined || v === null ? null : typeof v === 'number' ? v : names.indexOf(String(v)));
const int = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));

function jsonOf(v: Msg): JsonValue {
  if ('nullValue' in v) return null;
  if ('numberValue' in v) return v.numberValue as number;
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('listValue' in v) return ((v.listValue?.values ?? []) as Msg[]).map(jsonOf);
  if ('structValue' in v) return structOf(v.structValue ?? {});
  throw new Error(`unknown google.protobuf.Value ${JSON.stringify(v)}`);
}

function structOf(s: Msg): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries((s.fields ?? {}) as Record<string, Msg>)) out[k] = jsonOf(v);
  return out;
}

export function valueOf(v: Msg): MlmdValue {
  if ('int_value' in v) return { kind: 'int', value: Number(v.int_value) };
  if ('double_value' in v) return { kind: 'double', value: Number(v.double_value) };
  if ('string_value' in v) return { kind: 'string', value: String(v.string_value) };
  if ('bool_value' in v) return { kind: 'bool', value: Boolean(v.bool_value) };
  if ('struct_value' in v) return { kind: 'struct', value: structOf(v.struct_value) };
  if ('proto_value' in v) return { kind: 'proto', typeUrl: String(v.proto_value.type_url ?? ''), base64: Buffer.from(v.proto_value.value ?? []).toString('base64') };
  throw new Error(`unknown Value ${JSON.stringify(v)}`);
}

function propsOf(m: Msg | undefined): Props {
  const out: Props = {};
  for (const [k, v] of Object.entries((m ?? {}) as Record<string, Msg>)) out[k] = valueOf(v);
  return out;
}

function common(m: Msg) {
  return {
    id: Number(m.id),
    typeId: Number(m.type_id),
    type: (m.type as string | undefined) ?? null,
    createMs: int(m.create_time_since_epoch) ?? 0,
    updateMs: int(m.last_update_time_since_epoch) ?? 0,
    externalId: (m.external_id as string | undefined) ?? null,
    properties: propsOf(m.properties),
    customProperties: propsOf(m.custom_properties),
  };
}

export const executionOf = (m: Msg): MlmdExecution => ({ ...common(m), name: m.name ?? null, lastKnownState: enumNumber(EXECUTION_STATES, m.last_known_state) });
export const artifactOf = (m: Msg): MlmdArtifact => ({ ...common(m), name: m.name ?? null, uri: m.uri ?? null, state: enumNumber(ARTIFACT_STATES, m.state) });
export const contextOf = (m: Msg): MlmdContext => ({ ...common(m), name: String(m.name ?? '') });

export function eventOf(m: Msg): MlmdEvent {
  const steps = ((m.path?.steps ?? []) as Msg[]).map((s): PathStep => ('key' in s && s.key !== undefined ? { key: String(s.key) } : { index: Number(s.index) }));
  return {
    id: 0,
    artifactId: Number(m.artifact_id),
    executionId: Number(m.execution_id),
    type: enumNumber(EVENT_TYPES, m.type) ?? 0,
    ms: int(m.milliseconds_since_epoch),
    path: steps,
  };
}
