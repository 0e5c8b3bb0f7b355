/**
 * grpc.health.v1.Health (Check and Watch) for the whole server ("") and for
 * ml_metadata.MetadataStoreService, served by the grpc-health-check package. Kubernetes' native
 * gRPC probes call Check with service "". Status turns NOT_SERVING when shutdown begins, so load
 * balancers stop routing before connections close; any other service name answers NOT_FOUND.
 */
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath } from 'grpc-health-check';
import { SERVICE_NAME } from './proto.ts';

type WatchCall = grpc.ServerWritableStream<unknown, unknown>;

export class HealthService {
  private readonly health = new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' });
  private readonly watches = new Set<WatchCall>();

  /** The health proto the package serves (for server reflection). */
  static packageDefinition(): protoLoader.PackageDefinition {
    return protoLoader.loadSync(protoPath, { keepCase: true, enums: String, defaults: true });
  }

  /**
   * Adds the service to `server`. Watch streams are tracked here because the package never ends
   * them, and an open stream would hold a graceful shutdown (tryShutdown) until the bound.
   */
  addToServer(server: Pick<grpc.Server, 'addService'>): void {
    this.health.addToServer({
      addService: (definition, implementation) => {
        // The package names its handlers by the proto's lower-case method names (check, watch, list).
        const watch = (implementation.watch ?? implementation.Watch) as (call: WatchCall) => void;
        server.addService(definition as unknown as grpc.ServiceDefinition, {
          ...(implementation as grpc.UntypedServiceImplementation),
          watch: (call: WatchCall) => {
            this.watches.add(call);
            call.on('cancelled', () => this.watches.delete(call));
            call.on('close', () => this.watches.delete(call));
            watch(call);
          },
        });
      },
    });
  }

  /** Reports NOT_SERVING (to Check and to every watcher) and ends the watch streams. */
  shutdown(): void {
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus(SERVICE_NAME, 'NOT_SERVING');
    for (const call of this.watches) call.end();
    this.watches.clear();
  }
}
