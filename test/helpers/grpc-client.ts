/**
 * A real @grpc/grpc-js client for the shim's MetadataStoreService, with promise-returning calls,
 * and a raw call that sends hand-encoded request bytes (for requests our own encoder cannot
 * produce, such as a field number the contract reserves).
 */
import * as grpc from '@grpc/grpc-js';
import { mlmdPackageDefinition, SERVICE_NAME } from '../../src/shim/proto.ts';

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
