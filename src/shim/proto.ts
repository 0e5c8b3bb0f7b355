/**
 * The MLMD wire contract as the shim uses it: the service definition for @grpc/grpc-js (and the
 * same serializers for gRPC-Web), and protobufjs types for the messages the shim encodes itself
 * (page tokens).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const SERVICE_NAME = 'ml_metadata.MetadataStoreService';

const MLMD_PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto', 'mlmd');

/** The loader options the proto files were written for (see the header of metadata_store_service.proto). */
export const LOADER_OPTIONS: protoLoader.Options = {
  includeDirs: [MLMD_PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

export type MethodDefinition = protoLoader.MethodDefinition<object, object>;

let cachedDefinition: protoLoader.PackageDefinition | undefined;

export function mlmdPackageDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync('metadata_store_service.proto', LOADER_OPTIONS);
  return cachedDefinition;
}

/** The 52 methods, keyed by RPC name (`GetArtifacts`, …). */
export function mlmdServiceDefinition(): grpc.ServiceDefinition & Record<string, MethodDefinition> {
  return mlmdPackageDefinition()[SERVICE_NAME] as unknown as grpc.ServiceDefinition & Record<string, MethodDefinition>;
}

let cachedRoot: protobuf.Root | undefined;

/** A protobufjs view of metadata_store.proto with snake_case field names, for messages outside RPCs. */
export function mlmdProtoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const require = createRequire(import.meta.url);
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  const root = new protobuf.Root();
  // descriptor.proto is not bundled as JSON by protobufjs; its .proto copy ships in the package.
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    if (target.startsWith('google/protobuf/')) return path.join(protobufjsDir, target);
    return path.join(origin ? path.dirname(origin) : MLMD_PROTO_DIR, target);
  };
  // The service file imports metadata_store.proto: both are loaded, so request types can be looked up too.
  root.loadSync(path.join(MLMD_PROTO_DIR, 'metadata_store_service.proto'), { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}
