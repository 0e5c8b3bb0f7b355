// gRPC-Web on the shim, spoken by hand: raw HTTP/1.1 POSTs with framed requests, in the binary
// and the text (Base64) encodings, CORS preflight, and errors as trailers-only responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { createMlmdSchema } from '../src/seed/mlmd-ddl.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { mlmdServiceDefinition } from '../src/shim/proto.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { type TempDatabase, tempSqlite } from './helpers/databases.ts';
import { frame, parseFrames, post, trailers } from './helpers/grpc-web.ts';

describe('gRPC-Web', () => {
  let database: TempDatabase;
  let shim: RunningShim;
  const methods = mlmdServiceDefinition();
  const byId = methods.GetArtifactsByID!;

  beforeAll(async () => {
    database = await tempSqlite('shimweb');
    const db = await openDb(database.url, { create: true });
    await createMlmdSchema(db, 10);
    await db.run("INSERT INTO `Type` (`id`, `name`, `type_kind`) VALUES (10, 'system.Artifact', 1)");
    for (let id = 1; id <= 3; id++) {
      await db.run(
        'INSERT INTO `Artifact` (`id`, `type_id`, `uri`, `state`, `create_time_since_epoch`, `last_update_time_since_epoch`) VALUES (?, 10, ?, 2, ?, ?)',
        [id, `s3://b/${id}`, id * 100, id * 100],
      );
    }
    await db.close();
    shim = await startShim({ mlmdUrl: database.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger, corsOrigins: ['http://ui.example'] });
  });

  afterAll(async () => {
    await shim?.close();
    await database?.drop();
  });

  it('answers a binary framed request with a framed response and a grpc-status: 0 trailer', async () => {
    const request = byId.requestSerialize({ artifact_ids: ['2', '3'] });
    const res = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifactsByID', frame(0, request), {
      'content-type': 'application/grpc-web+proto',
      'x-grpc-web': '1',
      origin: 'http://ui.example',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/grpc-web+proto');
    expect(res.headers['access-control-allow-origin']).toBe('http://ui.example');
    expect(res.headers['access-control-expose-headers']).toContain('grpc-status');
    const [data, trailer, ...rest] = parseFrames(res.body);
    expect(rest).toEqual([]);
    expect(data!.flags).toBe(0);
    const response = byId.responseDeserialize(data!.payload) as { artifacts: { id: string; uri: string }[] };
    expect(response.artifacts.map((a) => [a.id, a.uri])).toEqual([
      ['2', 's3://b/2'],
      ['3', 's3://b/3'],
    ]);
    expect(trailer!.flags).toBe(0x80);
    expect(trailers(trailer!.payload)).toEqual({ 'grpc-status': '0', 'grpc-message': '' });
  });

  it('speaks application/grpc-web-text (Base64 both ways)', async () => {
    const getArtifacts = methods.GetArtifacts!;
    const request = getArtifacts.requestSerialize({ options: { max_result_size: 2 } });
    const res = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifacts', frame(0, request).toString('base64'), {
      'content-type': 'application/grpc-web-text',
      accept: 'application/grpc-web-text',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/grpc-web-text+proto');
    const text = res.body.toString('ascii');
    expect(text).toMatch(/^[A-Za-z0-9+/=]+$/);
    // The body is a sequence of padded Base64 chunks, one per frame.
    const bytes = Buffer.concat((text.match(/[^=]+=*/g) ?? []).map((c) => Buffer.from(c, 'base64')));
    const [data, trailer] = parseFrames(bytes);
    const response = getArtifacts.responseDeserialize(data!.payload) as { artifacts: { id: string }[]; next_page_token?: string };
    expect(response.artifacts.map((a) => a.id)).toEqual(['1', '2']);
    expect(response.next_page_token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(trailers(trailer!.payload)['grpc-status']).toBe('0');
  });

  it('answers CORS preflight requests', async () => {
    const res = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifacts', '', {
      origin: 'http://ui.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-grpc-web',
    }, 'OPTIONS');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://ui.example');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']).toContain('x-grpc-web');
  });

  it('sends failures as trailers-only responses with grpc-status and grpc-message headers', async () => {
    const getType = methods.GetArtifactType!;
    const res = await post(
      shim.grpcWebPort,
      '/ml_metadata.MetadataStoreService/GetArtifactType',
      frame(0, getType.requestSerialize({ type_name: 'missing type' })),
      { 'content-type': 'application/grpc-web+proto' },
    );
    expect(res.status).toBe(200);
    expect(res.headers['grpc-status']).toBe('5');
    expect(decodeURIComponent(String(res.headers['grpc-message']))).toContain('No type found for query, name: `missing type`');
    expect(res.body.length).toBe(0);

    const unimplemented = await post(
      shim.grpcWebPort,
      '/ml_metadata.MetadataStoreService/PutArtifacts',
      frame(0, methods.PutArtifacts!.requestSerialize({})),
      { 'content-type': 'application/grpc-web+proto' },
    );
    expect(unimplemented.headers['grpc-status']).toBe('12');
  });

  it('refuses unknown methods, other content types and truncated frames', async () => {
    const unknown = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/Nope', frame(0, Buffer.alloc(0)), {
      'content-type': 'application/grpc-web+proto',
    });
    expect(unknown.status).toBe(404);
    const json = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifacts', '{}', { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    const truncated = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifacts', frame(0, Buffer.alloc(10)).subarray(0, 8), {
      'content-type': 'application/grpc-web+proto',
    });
    expect(truncated.headers['grpc-status']).toBe('3');
  });
});
