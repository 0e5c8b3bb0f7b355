/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), so that tools such as grpcurl can list
 * and call the shim's services without holding the .proto files. It describes exactly what the
 * server serves: MetadataStoreService from proto/mlmd and grpc.health.v1.Health.
 */
import type * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthService } from './health.ts';
import { mlmdPackageDefinition } from './proto.ts';

export function addReflection(server: Pick<grpc.Server, 'addService'>): void {
  const reflection = new ReflectionService({ ...mlmdPackageDefinition(), ...HealthService.packageDefinition() });
  reflection.addToServer(server);
}
