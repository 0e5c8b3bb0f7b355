/**
 * gRPC-Web over HTTP/1.1, so the KFP UI (directly or through its Node proxy) can call the shim
 * without an Envoy in between. Supports the binary (`application/grpc-web`, `+proto`) and text
 * (`application/grpc-web-text`, Base64) encodings and unary calls; CORS only for the origins the
 * operator names (`--cors-origin`), since the API has no authentication of its own.
 *
 * Framing: each message is a 5-byte prefix (flags, big-endian length) and the bytes; the response
 * ends with a trailer frame (flag 0x80) holding `grpc-status` and `grpc-message`. Failures are
 * sent as a trailers-only response (status in the HTTP headers, empty body), as Envoy does.
 *
 * A request body must arrive within REQUEST_BODY_TIMEOUT_MS and within `maxRequestBytes`; the
 * `grpc-timeout` header sets the call's deadline, and a client that goes away cancels its call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cancelled, deadlineExceeded } from './call-context.ts';
import type { CallRunner } from './dispatch.ts';
import { type MethodDefinition, SERVICE_NAME } from './proto.ts';
import type { Request } from './rpc.ts';
import { GRPC_STATUS, RpcError } from './status.ts';

/** A request (headers and body) must have arrived within this long; a slow sender is cut off (HTTP 408). */
export const REQUEST_BODY_TIMEOUT_MS = 10_000;
/** How often Node checks that bound. */
const TIMEOUT_CHECK_MS = 1_000;
/** Response frames are written in slices of this size, so a large answer streams out. */
const WRITE_SLICE = 256 * 1024;

/** The content types of the gRPC-Web protocol, exactly (a parameter such as `; charset=…` is allowed). */
const BINARY_TYPES = new Set(['application/grpc-web', 'application/grpc-web+proto']);
const TEXT_TYPES = new Set(['application/grpc-web-text', 'application/grpc-web-text+proto']);

const CORS_HEADERS = {
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers':
    'content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization, keep-alive, user-agent, cache-control, content-transfer-encoding, custom-header-1',
  'access-control-expose-headers': 'grpc-status, grpc-message, grpc-status-details-bin',
  'access-control-max-age': '1728000',
};

export interface GrpcWebServer {
  port: number;
  /** Stops taking connections; resolves once every connection has closed. */
  drain(): Promise<void>;
  /** Cuts every connection now. */
  forceClose(): void;
}

export async function startGrpcWeb(opts: {
  host: string;
  port: number;
  methods: Record<string, MethodDefinition>;
  runner: CallRunner;
  /** Origins allowed to call from a browser; empty: no CORS headers at all. `*` allows any origin. */
  corsOrigins: readonly string[];
  /** How long a request (headers and body) may take to arrive; REQUEST_BODY_TIMEOUT_MS by default. */
  requestTimeoutMs?: number;
  onError: (message: string) => void;
}): Promise<GrpcWebServer> {
  const prefix = `/${SERVICE_NAME}/`;
  const maxBytes = opts.runner.limits.maxRequestBytes;
  const allowed = new Set(opts.corsOrigins);
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_BODY_TIMEOUT_MS;
  const server = http.createServer(
    { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, requestTimeout) },
    (req, res) => {
      void serve(req, res).catch((e: unknown) => {
        opts.onError((e as Error).message);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
  );

  /** The CORS headers for this request's origin: none unless the operator allowed it. */
  function corsFor(req: http.IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (allowed.size === 0 || origin === undefined) return {};
    if (!allowed.has('*') && !allowed.has(origin)) return {};
    return { ...CORS_HEADERS, 'access-control-allow-origin': origin, vary: 'Origin' };
  }

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const cors = corsFor(req);
    if (req.method === 'OPTIONS') {
      const ok = Object.keys(cors).length > 0;
      res.writeHead(ok ? 204 : 403, ok ? cors : { 'content-type': 'text/plain' });
      res.end(ok ? undefined : 'cross-origin calls are not enabled for this origin (mlmd-bridge shim --cors-origin)\n');
      return;
    }
    const url = req.url ?? '';
    const rpc = url.startsWith(prefix) ? url.slice(prefix.length).split('?')[0]! : '';
    const method = Object.hasOwn(opts.methods, rpc) ? opts.methods[rpc] : undefined;
    if (req.method !== 'POST' || !method) {
      res.writeHead(req.method === 'POST' ? 404 : 405, { ...cors, 'content-type': 'text/plain' });
      res.end(req.method === 'POST' ? `unknown method ${url.slice(0, 200)}\n` : 'gRPC-Web accepts POST only\n');
      return;
    }
    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const text = TEXT_TYPES.has(mediaType);
    if (!text && !BINARY_TYPES.has(mediaType)) {
      res.writeHead(415, { ...cors, 'content-type': 'text/plain' });
      res.end('expected content-type application/grpc-web, application/grpc-web+proto, application/grpc-web-text or application/grpc-web-text+proto\n');
      return;
    }
    const responseType = text ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto';
    const fail = (error: RpcError, extra: Record<string, string> = {}) => {
      res.writeHead(200, {
        ...cors,
        ...extra,
        'content-type': responseType,
        'grpc-status': String(error.code),
        'grpc-message': encodeURIComponent(error.message),
      });
      res.end();
    };

    const deadline = parseGrpcTimeout(req.headers['grpc-timeout']);
    if (deadline === 'invalid') return fail(new RpcError('INVALID_ARGUMENT', 'the grpc-timeout header is not a timeout (1 to 8 digits and one of H M S m u n)'));
    const body = await readBody(req, maxBytes);
    if (body === 'closed') return;
    if (body === 'too large') {
      // The rest of the body is read and dropped (bounded by the request timeout), then the connection closes.
      return fail(new RpcError('RESOURCE_EXHAUSTED', `the request is larger than ${maxBytes} bytes (the shim's --max-request-bytes)`), { connection: 'close' });
    }
    const raw = text ? decodeTextBody(body) : body;
    const frame = firstDataFrame(raw);
    if (frame === 'compressed') return fail(new RpcError('UNIMPLEMENTED', 'compressed gRPC-Web messages are not supported'));
    if (frame === null) return fail(new RpcError('INVALID_ARGUMENT', 'the request body holds no complete gRPC-Web data frame'));

    // The guarded decoder never throws: a bad message comes back marked, and the runner answers it.
    const request = method.requestDeserialize(frame) as Request;
    const controller = new AbortController();
    const timer = deadline === undefined ? undefined : setTimeout(() => controller.abort(deadlineExceeded()), deadline);
    const onClose = () => {
      if (!res.writableFinished) controller.abort(cancelled());
    };
    res.on('close', onClose);
    let outcome;
    try {
      outcome = await opts.runner.run(rpc, request, 'grpc-web', controller);
    } finally {
      clearTimeout(timer);
    }
    if (res.destroyed) return;
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
    drain: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open; idle ones can go now, busy ones after their response.
        server.closeIdleConnections();
      }),
    forceClose: () => server.closeAllConnections(),
  };
}

/** `grpc-timeout` (gRPC over HTTP/2 spec: 1–8 digits and a unit) in milliseconds; undefined when absent. */
export function parseGrpcTimeout(header: string | string[] | undefined): number | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(Array.isArray(header) ? (header[0] ?? '') : header.trim());
  if (!m) return 'invalid';
  const n = Number(m[1]);
  const ms = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H' | 'M' | 'S' | 'm' | 'u' | 'n'] * n;
  // setTimeout holds at most 2^31-1 ms; a longer deadline is as good as none.
  return Math.min(Math.ceil(ms), 2 ** 31 - 1);
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

/**
 * The body; 'too large' as soon as it passes `maxBytes` (what follows is read and dropped, never
 * kept); 'closed' when the connection ended first (a sender too slow for the request timeout).
 */
function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | 'too large' | 'closed'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      req.off('data', onData);
      req.resume();
      resolve('too large');
    };
    req.on('data', onData);
    req.on('end', () => resolve(size > maxBytes ? 'too large' : Buffer.concat(chunks)));
    req.on('error', () => resolve('closed'));
    req.on('close', () => resolve('closed'));
  });
}

/** Writes in slices and waits for drain, so a large response does not sit in memory twice. */
async function write(res: http.ServerResponse, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i += WRITE_SLICE) {
    if (res.destroyed) return;
    if (!res.write(bytes.subarray(i, i + WRITE_SLICE))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
}
