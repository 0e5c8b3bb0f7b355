/** gRPC-Web spoken by hand with Node's HTTP client (the client the KFP UI's proxy uses): raw POSTs, frames, trailers. */
import http from 'node:http';
import { expect } from 'vitest';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function post(port: number, path: string, body: Buffer | string, headers: Record<string, string>, method = 'POST'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function frame(flags: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

export function parseFrames(body: Buffer): { flags: number; payload: Buffer }[] {
  const out: { flags: number; payload: Buffer }[] = [];
  let offset = 0;
  while (offset < body.length) {
    expect(body.length - offset).toBeGreaterThanOrEqual(5);
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    out.push({ flags, payload: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  expect(offset).toBe(body.length);
  return out;
}

export function trailers(payload: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of payload.toString('ascii').split('\r\n')) {
    if (!line) continue;
    const i = line.indexOf(':');
    out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}
