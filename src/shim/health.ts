/**
 * grpc.health.v1.Health: Check and Watch for the whole server ("") and for
 * ml_metadata.MetadataStoreService. Status turns NOT_SERVING when shutdown begins, so load
 * balancers stop routing before connections close.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SERVICE_NAME } from './proto.ts';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const HEALTH_PROTO = fileURLToPath(new URL('../../proto/grpc/health/v1/health.proto', import.meta.url));

export class HealthService {
  private serving = true;
  private readonly watchers = new Set<{ call: grpc.ServerWritableStream<{ service?: string }, unknown>; service: string }>();

  static packageDefinition(): protoLoader.PackageDefinition {
    return protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true });
  }

  static definition(): grpc.ServiceDefinition {
    return HealthService.packageDefinition()['grpc.health.v1.Health'] as grpc.ServiceDefinition;
  }

  private statusOf(service: string): ServingStatus {
    if (service !== '' && service !== SERVICE_NAME) return 'SERVICE_UNKNOWN';
    return this.serving ? 'SERVING' : 'NOT_SERVING';
  }

  implementation(): grpc.UntypedServiceImplementation {
    return {
      Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const status = this.statusOf(call.request.service ?? '');
        if (status === 'SERVICE_UNKNOWN') {
          callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service ?? ''}` });
          return;
        }
        callback(null, { status });
      },
      Watch: (call: grpc.ServerWritableStream<{ service?: string }, unknown>) => {
        const service = call.request.service ?? '';
        const watcher = { call, service };
        this.watchers.add(watcher);
        call.on('cancelled', () => this.watchers.delete(watcher));
        call.on('close', () => this.watchers.delete(watcher));
        call.write({ status: this.statusOf(service) });
      },
    };
  }

  /** Reports NOT_SERVING to every watcher and ends their streams. */
  shutdown(): void {
    this.serving = false;
    for (const { call, service } of this.watchers) {
      call.write({ status: this.statusOf(service) });
      call.end();
    }
    this.watchers.clear();
  }
}
