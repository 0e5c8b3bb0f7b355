/**
 * The Prometheus scrape endpoint: GET /metrics on its own HTTP port (the shim's and the batch
 * commands' alike), answering the registry's text exposition format. Anything else is 404.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { BridgeError } from '../errors.ts';

export interface MetricsEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsEndpoint(registry: Registry, host: string, port: number): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`),
    );
  });
  // A scrape keeps no connection open that would delay the process's exit.
  server.keepAliveTimeout = 1_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    throw new BridgeError('CONNECTION', `cannot serve metrics on ${host}:${port}: ${(e as Error).message}`, 'choose a free port with --metrics-port', { cause: e });
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
