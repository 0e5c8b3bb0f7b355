// grpc.health.v1.Health as Kubernetes' gRPC probes and watching clients see it (served by the
// grpc-health-check package): SERVING for the server and MetadataStoreService, NOT_FOUND for
// others, and at shutdown NOT_SERVING to every watcher, whose stream then ends cleanly (OK) so it
// never holds the graceful shutdown.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/shim/logger.ts';
import { SERVICE_NAME } from '../src/shim/proto.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { type TempDatabase, tempSqlite } from './helpers/databases.ts';
import { seedUrls } from './helpers/seeded.ts';

const HEALTH_PROTO = new URL('../proto/grpc/health/v1/health.proto', import.meta.url).pathname;
type HealthClient = grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

describe('grpc.health.v1.Health', () => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  let shim: RunningShim;
  let health: HealthClient;

  beforeAll(async () => {
    mlmd = await tempSqlite('health_mlmd');
    kfp = await tempSqlite('health_kfp');
    await seedUrls(mlmd.url, kfp.url, { runs: 2, seed: 1 });
    shim = await startShim({ mlmdUrl: mlmd.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true })) as any;
    health = new pkg.grpc.health.v1.Health(`127.0.0.1:${shim.port}`, grpc.credentials.createInsecure());
  }, 60_000);

  afterAll(async () => {
    health?.close();
    await shim?.close();
    await mlmd?.drop();
    await kfp?.drop();
  });

  const check = (service: string) =>
    new Promise<{ status?: string; code?: number }>((resolve) => health.Check({ service }, (err, r) => resolve(err ? { code: err.code } : { status: r.status })));

  it('Check: SERVING for "" (what Kubernetes asks) and the MLMD service, NOT_FOUND for any other', async () => {
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check(SERVICE_NAME)).toEqual({ status: 'SERVING' });
    expect(await check('grpc.health.v1.Unknown')).toEqual({ code: grpc.status.NOT_FOUND });
  });

  it('Watch: SERVING, then NOT_SERVING when shutdown begins, then the stream ends with OK', async () => {
    const statuses: string[] = [];
    const stream = health.Watch({ service: '' });
    const ended = new Promise<grpc.StatusObject>((resolve, reject) => {
      stream.on('status', resolve);
      stream.on('error', reject);
    });
    await new Promise<void>((resolve) =>
      stream.on('data', (m: { status: string }) => {
        statuses.push(m.status);
        if (statuses.length === 1) resolve();
      }),
    );
    expect(statuses).toEqual(['SERVING']);
    const closing = shim.close();
    expect((await ended).code).toBe(grpc.status.OK);
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    await closing;
  });
});
