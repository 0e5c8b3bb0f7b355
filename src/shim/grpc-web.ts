/**
 * gRPC-Web over HTTP/1.1, so the KFP UI (directly or through its Node proxy) can call the shim
 * without an Envoy in between. Supports the binary (`application/grpc-web`, `+proto`) and text
 * (`application/grpc-web-text`, Base64) encodings, unary calls, and CORS for browsers.
 *
 * Framing: each message is a 5-byte prefix (flags, big-endian length) and the bytes; the response
 * ends with a trailer frame (flag 0x80) holding `grpc-status` and `grpc-message`. Failures are
 * sent as a trailers-only response (status in the HTTP headers, empty body), as Envoy does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatch } from './dispatch.ts';
import type { ShimLogger } from './logger.ts';
import { type MethodDefinition, SERVICE_NAME } from './proto.ts';
import type { Request, RpcHandlers } from './rpc.ts';
import { GRPC_STATUS, type RpcError, RpcError as RpcErrorClass } from './status.ts';

/** Requests larger than this are refused; MLMD read requests are tiny. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** Response frames are written in slices of this size, so a large answer streams out. */
const WRITE_SLICE = 256 * 1024;

const CORS_HEADERS = {
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers':
    'content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization, keep-alive, user-agent, cache-control, content-transfer-encoding, custom-header-1',
  'access-control-expose-headers': 'grpc-status, grpc-message, grpc-status-details-bin',
  'access-control-max-age': '1728000',
};

export interface GrpcWebServer {
  port: number;
  close(): Promise<void>;
}

export async function startGrpcWeb(opts: {
  host: string;
  port: number;
  methods: Record<string, MethodDefinition>;
  handlers: RpcHandlers;
  logger: ShimLogger;
}): Promise<GrpcWebServer> {
  const prefix = `/${SERVICE_NAME}/`;
  const server = http.createServer((req, res) => {
    void serve(req, res).catch((e: unknown) => {
      opts.logger.error({ transport: 'grpc-web', error: (e as Error).message }, 'grpc-web request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const cors = { ...CORS_HEADERS, 'access-control-allow-origin': origin ?? '*', vary: 'Origin' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    const url = req.url ?? '';
    const rpc = url.startsWith(prefix) ? url.slice(prefix.length).split('?')[0]! : '';
    const method = opts.methods[rpc];
    if (req.method !== 'POST' || !method) {
      res.writeHead(req.method === 'POST' ? 404 : 405, { ...cors, 'content-type': 'text/plain' });
      res.end(req.method === 'POST' ? `unknown method ${url}\n` : 'gRPC-Web accepts POST only\n');
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    const text = contentType.startsWith('application/grpc-web-text');
    if (!text && !contentType.startsWith('application/grpc-web')) {
      res.writeHead(415, { ...cors, 'content-type': 'text/plain' });
      res.end('expected content-type application/grpc-web[+proto] or application/grpc-web-text\n');
      return;
    }
    const responseType = text ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto';
    const fail = (error: RpcError) => {
      res.writeHead(200, {
        ...cors,
        'content-type': responseType,
        'grpc-status': String(error.code),
        'grpc-message': encodeURIComponent(error.message),
      });
      res.end();
    };

    const body = await readBody(req);
    if (body === null) return fail(new RpcErrorClass('RESOURCE_EXHAUSTED', `request larger than ${MAX_REQUEST_BYTES} bytes`));
    const raw = text ? decodeTextBody(body) : body;
    const frame = firstDataFrame(raw);
    if (frame === 'compressed') return fail(new RpcErrorClass('UNIMPLEMENTED', 'compressed gRPC-Web messages are not supported'));
    if (frame === null) return fail(new RpcErrorClass('INVALID_ARGUMENT', 'the request body holds no complete gRPC-Web data frame'));

    let request: Request;
    try {
      request = method.requestDeserialize(frame) as Request;
    } catch (e) {
      return fail(new RpcErrorClass('INVALID_ARGUMENT', `cannot decode ${rpc} request: ${(e as Error).message}`));
    }
    const outcome = await dispatch(opts.handlers, rpc, request, opts.logger, 'grpc-web');
    if (!outcome.ok) return fail(outcome.error);
    const message = method.responseSerialize(outcome.response);
    const trailer = Buffer.from(`grpc-status:${GRPC_STATUS.OK}\r\ngrpc-message:\r\n`, 'ascii');
    res.writeHead(200, { ...cors, 'content-type': responseType });
    if (text) {
      // Each frame is Base64'd on its own; the grpc-web-text spec allows concatenated chunks.
      await write(res, Buffer.from(frameBytes(0, message).toString('base64'), 'ascii'));
      await write(res, Buffer.from(frameBytes(0x80, trailer).toString('base64'), 'ascii'));
    } else {
      await write(res, frameBytes(0, message));
      await write(res, frameBytes(0x80, trailer));
    }
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open; idle ones can go now.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      }),
  };
}

function frameBytes(flags: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** The first data frame's payload; `null` when the body is truncated or holds none. */
function firstDataFrame(body: Buffer): Buffer | 'compressed' | null {
  let offset = 0;
  while (offset + 5 <= body.length) {
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    const end = offset + 5 + length;
    if (end > body.length) return null;
    if ((flags & 0x80) === 0) return flags & 0x01 ? 'compressed' : body.subarray(offset + 5, end);
    offset = end;
  }
  return null;
}

/** grpc-web-text bodies may be several Base64 chunks, each with its own padding. */
function decodeTextBody(body: Buffer): Buffer {
  const chunks = body.toString('ascii').replace(/\s/g, '').match(/[^=]+=*/g) ?? [];
  return Buffer.concat(chunks.map((c) => Buffer.from(c, 'base64')));
}

function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Writes in slices and waits for drain, so a large response does not sit in memory twice. */
async function write(res: http.ServerResponse, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i += WRITE_SLICE) {
    if (!res.write(bytes.subarray(i, i + WRITE_SLICE))) {
      await new Promise<void>((resolve) => res.once('drain', resolve));
    }
  }
}
