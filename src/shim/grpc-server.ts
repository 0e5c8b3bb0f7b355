/**
 * The gRPC (HTTP/2) side: MetadataStoreService, grpc.health.v1.Health and server reflection on one @grpc/grpc-js
 * server. Responses may be large (a whole run's executions); the server sends any size and the
 * client's receive limit decides, as with MLMD's own server. Requests are bounded by
 * `maxRequestBytes` (grpc-js answers RESOURCE_EXHAUSTED before decoding, as MLMD's server does at
 * gRPC's default 4 MiB).
 */
import * as grpc from '@grpc/grpc-js';
import { cancelled, deadlineExceeded } from './call-context.ts';
import type { CallRunner } from './dispatch.ts';
import { HealthService } from './health.ts';
import type { MethodDefinition } from './proto.ts';
import { addReflection } from './reflection.ts';
import type { Request } from './rpc.ts';

export interface GrpcServer {
  port: number;
  /** Stops taking calls and reports NOT_SERVING; resolves when the calls in flight have ended. */
  drain(): Promise<void>;
  /** Cuts every connection now. */
  forceClose(): void;
}

export async function startGrpc(opts: {
  host: string;
  port: number;
  methods: Record<string, MethodDefinition>;
  runner: CallRunner;
}): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': opts.runner.limits.maxRequestBytes,
  });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(opts.methods)) {
    implementation[name] = (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const controller = new AbortController();
      // grpc-js reports both a client's cancel and a passed deadline as 'cancelled' (and answers the client itself).
      call.on('cancelled', () => controller.abort(deadlinePassed(call) ? deadlineExceeded() : cancelled()));
      void opts.runner.run(name, call.request, 'grpc', controller).then((outcome) => {
        if (outcome.ok) callback(null, outcome.response);
        else callback({ code: outcome.error.code, details: outcome.error.message });
      });
    };
  }
  server.addService(opts.methods as unknown as grpc.ServiceDefinition, implementation);
  const health = new HealthService();
  health.addToServer(server);
  addReflection(server);

  const address = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    drain: () =>
      new Promise<void>((resolve) => {
        health.shutdown();
        server.tryShutdown(() => resolve());
      }),
    forceClose: () => server.forceShutdown(),
  };
}

function deadlinePassed(call: grpc.ServerUnaryCall<unknown, unknown>): boolean {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && ms <= Date.now();
}
