/**
 * The gRPC (HTTP/2) side: MetadataStoreService, grpc.health.v1.Health and server reflection on one @grpc/grpc-js
 * server. Responses may be large (a whole run's executions); the server sends any size and the
 * client's receive limit decides, as with MLMD's own server.
 */
import * as grpc from '@grpc/grpc-js';
import { dispatch } from './dispatch.ts';
import { HealthService } from './health.ts';
import type { ShimLogger } from './logger.ts';
import type { MethodDefinition } from './proto.ts';
import { addReflection } from './reflection.ts';
import type { Request, RpcHandlers } from './rpc.ts';

export interface GrpcServer {
  port: number;
  close(graceMs: number): Promise<void>;
}

export async function startGrpc(opts: {
  host: string;
  port: number;
  methods: Record<string, MethodDefinition>;
  handlers: RpcHandlers;
  logger: ShimLogger;
}): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(opts.methods)) {
    implementation[name] = (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void dispatch(opts.handlers, name, call.request, opts.logger, 'grpc').then((outcome) => {
        if (outcome.ok) callback(null, outcome.response);
        else callback({ code: outcome.error.code, details: outcome.error.message });
      });
    };
  }
  server.addService(opts.methods as unknown as grpc.ServiceDefinition, implementation);
  const health = new HealthService();
  server.addService(HealthService.definition(), health.implementation());
  addReflection(server);

  const address = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        health.shutdown();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
