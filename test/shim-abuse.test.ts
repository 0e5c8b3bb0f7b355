// The shim tried as an attacker would (issue #16), each reproduction against a real server on
// loopback with a real client: filters that froze the server or overflowed clients' headers,
// nesting that overflowed the stack, requests naming too many ids, calls that must yield, stop at
// their deadline or when cancelled, and gRPC-Web's content types, CORS and slow bodies. Nothing here
// is timed: where a call must not run to its end, the shim's own log says how it ended.
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILTER_LENGTH } from '../src/shim/limits.ts';
import { mlmdServiceDefinition } from '../src/shim/proto.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { MAX_STATUS_MESSAGE_BYTES } from '../src/shim/status.ts';
import { type TempDatabase, tempSqlite } from './helpers/databases.ts';
import { type MlmdTestClient, mlmdClient, type Msg } from './helpers/grpc-client.ts';
import { frame, post, type RawResponse } from './helpers/grpc-web.ts';
import { capturingLogger, type LoggedLine, loggedLine } from './helpers/shim-log.ts';
import { buildWideArchive } from './helpers/wide-archive.ts';

const ARTIFACTS = 1000;
const PIPELINES = 300;
/** Execution 1 is associated with this many run contexts: three aliases make 27 million choices. */
const RUN_CONTEXTS = 300;
const MAX_IDS = 1000;
const MAX_PAGE = 50;
const MAX_WORK = 4_000_000;

/**
 * `id IN (-1, …, -n)`: true of no artifact, so every artifact is compared with every value, two
 * steps each (a negative number is a negation, which the archive cannot narrow in SQL).
 */
const heavyFilter = (n: number) => `id IN (${Array.from({ length: n }, (_, i) => -(i + 1)).join(', ')})`;

const methods = mlmdServiceDefinition();

function webCall(port: number, rpc: string, request: Msg, headers: Record<string, string> = {}): Promise<RawResponse> {
  const method = methods[rpc]!;
  return post(port, `/ml_metadata.MetadataStoreService/${rpc}`, frame(0, method.requestSerialize(request)), { 'content-type': 'application/grpc-web+proto', ...headers });
}

describe('the shim under abuse (real server on loopback)', () => {
  let database: TempDatabase;
  let shim: RunningShim;
  let client: MlmdTestClient;
  let lines: LoggedLine[];

  beforeAll(async () => {
    database = await tempSqlite('shimabuse');
    await buildWideArchive(database.url, { artifacts: ARTIFACTS, pipelines: PIPELINES, runContexts: RUN_CONTEXTS });
    const captured = capturingLogger();
    lines = captured.lines;
    shim = await startShim({
      mlmdUrl: database.url,
      host: '127.0.0.1',
      port: 0,
      grpcWebPort: 0,
      logger: captured.logger,
      limits: { maxIdsPerRequest: MAX_IDS, maxPageSize: MAX_PAGE, maxWorkSteps: MAX_WORK },
      requestTimeoutMs: 1_500,
    });
    client = mlmdClient(shim.port);
  });

  afterAll(async () => {
    client?.close();
    await shim?.close();
    await database?.drop();
  });

  it("answers the LIKE that froze the server ('a'×50 LIKE '%a%a%a%a%a%a%a%a%b') over every pipeline context, and LIKE still matches", async () => {
    for (const n of [40, 50]) {
      const r = await client.call('GetContextsByType', {
        type_name: 'system.Pipeline',
        options: { max_result_size: 100, filter_query: `'${'a'.repeat(n)}' LIKE '%a%a%a%a%a%a%a%a%b'` },
      });
      expect(r.contexts ?? []).toEqual([]);
    }
    const matched = await client.call('GetContextsByType', { type_name: 'system.Pipeline', options: { max_result_size: 100, filter_query: "name LIKE '%PIPE%ine-1_'" } });
    expect((matched.contexts as Msg[]).map((c) => c.name)).toEqual(Array.from({ length: 10 }, (_, i) => `pipeline-${10 + i}`));
  });

  it('refuses invalid filters of 4,000 and 64,000 characters with INVALID_ARGUMENT and a short message (gRPC)', async () => {
    for (const length of [4_000, 64_000]) {
      const filter = `name = 'x' AND ${'b'.repeat(length)} = 1`;
      const e = await client.fail('GetArtifacts', { options: { filter_query: filter } });
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toContain('Unrecognized name');
      expect(Buffer.byteLength(e.details)).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    }
    const tooLong = await client.fail('GetArtifacts', { options: { filter_query: `name = '${'z'.repeat(MAX_FILTER_LENGTH)}'` } });
    expect(tooLong.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(tooLong.details).toContain(`at most ${MAX_FILTER_LENGTH}`);
  });

  it("refuses an 11 KB filter over gRPC-Web with a status Node's HTTP client can read (no header overflow)", async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `'name-${i}'`).join(', ');
    const res = await webCall(shim.grpcWebPort, 'GetArtifacts', { options: { filter_query: `name IN (${names}) AND foo = 1` } });
    expect(res.status).toBe(200);
    expect(res.headers['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
    const message = decodeURIComponent(String(res.headers['grpc-message']));
    expect(message).toContain('Unrecognized name: foo');
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
  });

  it('refuses deep nesting with INVALID_ARGUMENT, not INTERNAL "Maximum call stack size exceeded"', async () => {
    const deep = [
      `${'('.repeat(948)}id = 1${')'.repeat(948)}`,
      `${'NOT '.repeat(5000)}id = 1`,
      `id = ${'-'.repeat(50_000)}1`,
      `id = ${Array.from({ length: 20_000 }, () => '1').join('+')}`,
    ];
    for (const filter of deep) {
      const e = await client.fail('GetArtifacts', { options: { filter_query: filter } });
      expect(e.code, filter.slice(0, 30)).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const lineage = await client.fail('GetLineageSubgraph', {
      lineage_subgraph_query_options: { starting_artifacts: { filter_query: `${'('.repeat(948)}id = 1${')'.repeat(948)}` }, max_num_hops: 2 },
    });
    expect(lineage.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('answers at most --max-ids ids per request; more is RESOURCE_EXHAUSTED, whatever the encoding', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));
    expect(((await client.call('GetArtifactsByID', { artifact_ids: ids(MAX_IDS) })).artifacts as Msg[]).length).toBe(MAX_IDS);
    const over = await client.fail('GetArtifactsByID', { artifact_ids: ids(MAX_IDS + 1) });
    expect(over.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(over.details).toContain('artifact_ids');
    for (const [rpc, field] of [
      ['GetExecutionsByID', 'execution_ids'],
      ['GetEventsByArtifactIDs', 'artifact_ids'],
      ['GetArtifactsByExternalIds', 'external_ids'],
      ['GetArtifactsByURI', 'uris'],
      ['GetArtifactTypesByID', 'type_ids'],
    ] as const) {
      const e = await client.fail(rpc, { [field]: ids(MAX_IDS + 1) });
      expect(e.code, rpc).toBe(grpc.status.RESOURCE_EXHAUSTED);
    }
    // Packed on the wire (one length-delimited run of varints), as some encoders send repeated int64.
    const varints = Buffer.from(Array.from({ length: MAX_IDS + 1 }, (_, i) => (i % 100) + 1));
    const packed = Buffer.concat([Buffer.from([0x0a]), encodeVarint(varints.length), varints]);
    await expect(client.rawCall('GetEventsByExecutionIDs', packed)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    // Bytes that are not a message are INVALID_ARGUMENT (the transport alone would answer INTERNAL).
    await expect(client.rawCall('GetArtifactsByID', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('caps a page at --max-page-size and pages on with a token', async () => {
    const first = await client.call('GetArtifacts', { options: { max_result_size: 80 } });
    expect((first.artifacts as Msg[]).length).toBe(MAX_PAGE);
    expect(first.next_page_token).toBeTruthy();
    const second = await client.call('GetArtifacts', { options: { max_result_size: 80, next_page_token: first.next_page_token } });
    expect(Number((second.artifacts as Msg[])[0]!.id)).toBe(MAX_PAGE + 1);
  });

  it('ends a call that needs more than --max-work steps with RESOURCE_EXHAUSTED: a long IN list, or millions of joined rows', async () => {
    const inList = await client.fail('GetArtifacts', { options: { filter_query: heavyFilter(5_000) } });
    expect(inList.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(inList.details).toContain('--max-work');
    const joins = await client.fail('GetExecutions', {
      options: { filter_query: 'contexts_a.id > 0 AND contexts_b.id > 0 AND contexts_c.id > 0 AND NOT (id = 1)' },
    });
    expect(joins.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('lets other calls run while a long filter is evaluated', async () => {
    const heavy = client.call('GetArtifacts', { options: { max_result_size: 10, filter_query: heavyFilter(1_500) } });
    const other = mlmdClient(shim.port);
    try {
      const types = await other.call('GetArtifactTypes', {});
      expect((types.artifact_types as Msg[]).map((t) => t.name)).toEqual(['system.Dataset']);
      expect((await heavy).artifacts ?? []).toEqual([]);
      // The shim logged the quick call before the long one had ended.
      const order = lines.filter((l) => l.msg === 'rpc' && (l.rpc === 'GetArtifactTypes' || l.rpc === 'GetArtifacts')).map((l) => l.rpc);
      expect(order.lastIndexOf('GetArtifactTypes')).toBeLessThan(order.lastIndexOf('GetArtifacts'));
    } finally {
      other.close();
    }
  });

  it("stops a call's work at its deadline and when its client cancels it", async () => {
    const before = lines.length;
    const deadline = await new Promise<grpc.ServiceError>((resolve, reject) => {
      (client.raw as unknown as Record<string, Function>).GetArtifacts!.call(
        client.raw,
        { options: { filter_query: heavyFilter(1_500) } },
        { deadline: Date.now() + 20 },
        (err: grpc.ServiceError | null) => (err ? resolve(err) : reject(new Error('the call should not finish'))),
      );
    });
    expect(deadline.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The handler itself stopped (had it run to its end, the shim would have logged OK).
    const ended = await loggedLine(lines, (l) => lines.indexOf(l) >= before && l.rpc === 'GetArtifacts');
    expect(ended.code).toBe('DEADLINE_EXCEEDED');

    const mark = lines.length;
    const call = (client.raw as unknown as Record<string, Function>).GetArtifacts!.call(client.raw, { options: { filter_query: heavyFilter(1_500) } }, () => undefined) as grpc.ClientUnaryCall;
    // Cancelled once the shim has started on it.
    while (shim.activeCalls === 0) await new Promise((r) => setImmediate(r));
    call.cancel();
    const cancelled = await loggedLine(lines, (l) => lines.indexOf(l) >= mark && l.rpc === 'GetArtifacts');
    expect(cancelled.code).toBe('CANCELLED');
  });

  it('gRPC-Web: the deadline of grpc-timeout, and bodies over --max-request-bytes', async () => {
    const late = await webCall(shim.grpcWebPort, 'GetArtifacts', { options: { filter_query: heavyFilter(1_500) } }, { 'grpc-timeout': '20m' });
    expect(late.headers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    const bad = await webCall(shim.grpcWebPort, 'GetArtifactTypes', {}, { 'grpc-timeout': 'soon' });
    expect(bad.headers['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
    const huge = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifactsByID', frame(0, Buffer.alloc(5 * 1024 * 1024)), {
      'content-type': 'application/grpc-web+proto',
    });
    expect(huge.headers['grpc-status']).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
  });

  it('gRPC-Web accepts exactly the protocol content types', async () => {
    const body = frame(0, methods.GetArtifactTypes!.requestSerialize({}));
    const path = '/ml_metadata.MetadataStoreService/GetArtifactTypes';
    for (const type of ['application/grpc-web', 'application/grpc-web+proto', 'Application/GRPC-Web+proto; charset=utf-8']) {
      const ok = await post(shim.grpcWebPort, path, body, { 'content-type': type });
      expect(ok.status, type).toBe(200);
    }
    for (const type of ['application/grpc-webx', 'application/grpc-web+json', 'application/grpc-web-textual', 'application/grpc']) {
      const refused = await post(shim.grpcWebPort, path, body, { 'content-type': type });
      expect(refused.status, type).toBe(415);
    }
  });

  it('gRPC-Web sends no CORS headers unless --cors-origin names the origin', async () => {
    const res = await webCall(shim.grpcWebPort, 'GetArtifactTypes', {}, { origin: 'http://evil.example' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifactTypes', '', { origin: 'http://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('gRPC-Web cuts off a connection that sends its body too slowly', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = net.connect(shim.grpcWebPort, '127.0.0.1', () => {
        socket.write(
          'POST /ml_metadata.MetadataStoreService/GetArtifactTypes HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: 100\r\n\r\n\u0000',
        );
      });
      let received = '';
      socket.on('data', (d) => (received += d.toString('latin1')));
      socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
      socket.on('error', () => undefined);
    });
    expect(outcome).toBe('HTTP/1.1 408 Request Timeout');
  });
});

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
