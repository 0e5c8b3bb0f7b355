/**
 * Starts the MLMD-compatible shim: gRPC on `port` (MLMD's 8080 by default) and gRPC-Web on
 * `grpcWebPort` (9090, where the KFP UI's proxy looks), over the backend chosen by the URLs.
 * Health and reflection are served on the gRPC port.
 */
import { BridgeError } from '../errors.ts';
import type { ShimBackend } from './backend.ts';
import { startGrpc } from './grpc-server.ts';
import { startGrpcWeb } from './grpc-web.ts';
import { jsonLogger, type ShimLogger } from './logger.ts';
import { openKfpBackend } from './kfp-backend.ts';
import { LayeredBackend } from './layered-backend.ts';
import { openMlmdBackend } from './mlmd-backend.ts';
import { mlmdHandlers, shimServiceDefinition } from './service.ts';

import { DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT, DEFAULT_HOST } from './defaults.ts';

export { DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT, DEFAULT_HOST };
/** How long in-flight calls may run after close() before connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface ShimOptions {
  /** An MLMD database served read-only (the archive). */
  mlmdUrl?: string;
  /** A KFP 3 database served through the reverse mapping. */
  kfpUrl?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  grpcWebPort?: number;
  logger?: ShimLogger;
}

export interface RunningShim {
  port: number;
  grpcWebPort: number;
  close(): Promise<void>;
}

export async function startShim(opts: ShimOptions): Promise<RunningShim> {
  const logger = opts.logger ?? jsonLogger();
  const host = opts.host ?? DEFAULT_HOST;
  const backend = await openBackend(opts);
  const handlers = mlmdHandlers(backend);
  const methods = shimServiceDefinition();
  let grpcServer;
  let webServer;
  try {
    grpcServer = await startGrpc({ host, port: opts.port ?? DEFAULT_GRPC_PORT, methods, handlers, logger });
    webServer = await startGrpcWeb({ host, port: opts.grpcWebPort ?? DEFAULT_GRPC_WEB_PORT, methods, handlers, logger });
  } catch (e) {
    await grpcServer?.close(0);
    await backend.close();
    throw new BridgeError('CONNECTION', `cannot listen on ${host}: ${(e as Error).message}`, 'choose free ports with --port / --grpc-web-port', {
      cause: e,
    });
  }
  logger.info({ backend: backend.name, host, port: grpcServer.port, grpcWebPort: webServer.port }, 'shim listening');

  let closing: Promise<void> | undefined;
  const grpc = grpcServer;
  const web = webServer;
  return {
    port: grpc.port,
    grpcWebPort: web.port,
    close() {
      closing ??= (async () => {
        logger.info({}, 'shim shutting down');
        await Promise.all([grpc.close(SHUTDOWN_GRACE_MS), web.close()]);
        await backend.close();
        logger.info({}, 'shim stopped');
      })();
      return closing;
    },
  };
}

/**
 * `--kfp` alone: the KFP tables through the reverse mapping. `--mlmd` alone: the archive.
 * Both: the KFP tables win and the archive fills in what was never migrated (design.md §4); the
 * archive's highest ids also bound the ids given to KFP-3-native rows, so the two never collide.
 */
async function openBackend(opts: ShimOptions): Promise<ShimBackend> {
  if (!opts.kfpUrl && !opts.mlmdUrl) throw new BridgeError('USAGE', 'the shim needs --kfp URL, --mlmd URL, or both (or KFP_DB_URL / MLMD_DB_URL)');
  if (!opts.kfpUrl) return openMlmdBackend(opts.mlmdUrl!);
  if (!opts.mlmdUrl) return openKfpBackend(opts.kfpUrl);
  const archive = await openMlmdBackend(opts.mlmdUrl);
  try {
    const kfp = await openKfpBackend(opts.kfpUrl, { externalMax: () => archive.maxIds() });
    return new LayeredBackend(kfp, archive);
  } catch (e) {
    await archive.close().catch(() => undefined);
    throw e;
  }
}

/** Closes the shim on SIGTERM/SIGINT (Kubernetes stops pods with SIGTERM); returns a remover. */
export function closeOnSignals(shim: RunningShim, onClosed: () => void = () => process.exit(0)): () => void {
  const handler = () => {
    void shim.close().then(onClosed);
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
