/**
 * Starts the MLMD-compatible shim: gRPC on `port` (MLMD's 8080 by default) and gRPC-Web on
 * `grpcWebPort` (9090, where the KFP UI's proxy looks), over the backend chosen by the URLs.
 * Health and reflection are served on the gRPC port.
 *
 * Shutdown is bounded (`shutdownTimeoutMs`, under Kubernetes' default 30 s grace): new calls are
 * refused with UNAVAILABLE and health turns NOT_SERVING at once; calls in flight may finish until
 * CANCEL_BEFORE_END_MS before the bound, then they are cancelled (UNAVAILABLE, their statements
 * killed); the database pools close only once no call uses them.
 */
import type { AvailabilityChange } from '../db/pooled-statements.ts';
import { BridgeError, isBridgeError } from '../errors.ts';
import { type MetricsEndpoint, startMetricsEndpoint } from '../metrics/http-endpoint.ts';
import { ShimMetrics } from '../metrics/shim-metrics.ts';
import type { ShimBackend } from './backend.ts';
import { shuttingDown } from './call-context.ts';
import { DataProblems, type ProblemReporter } from './data-problems.ts';
import { CallRunner } from './dispatch.ts';
import { startGrpc } from './grpc-server.ts';
import { startGrpcWeb } from './grpc-web.ts';
import { openKfpBackend } from './kfp-backend.ts';
import { LayeredBackend } from './layered-backend.ts';
import { type ShimLimits, resolveLimits } from './limits.ts';
import { jsonLogger, type ShimLogger } from './logger.ts';
import { openMlmdBackend } from './mlmd-backend.ts';
import { mlmdHandlers, shimServiceDefinition } from './service.ts';

import { DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT, DEFAULT_HOST, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './defaults.ts';

export { DEFAULT_GRPC_PORT, DEFAULT_GRPC_WEB_PORT, DEFAULT_HOST, DEFAULT_SHUTDOWN_TIMEOUT_MS };

/** Before the shutdown bound, calls still running are cancelled; this long is left for them to stop and the pools to close. */
export const CANCEL_BEFORE_END_MS = 3_000;

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
  limits?: Partial<ShimLimits>;
  /** Browser origins allowed to call the gRPC-Web port (CORS); none by default, `*` for any. */
  corsOrigins?: readonly string[];
  /** The longest close() takes, in ms. */
  shutdownTimeoutMs?: number;
  /** How long a gRPC-Web request may take to arrive (tests shorten it; the CLI keeps the default). */
  requestTimeoutMs?: number;
  /** Serve Prometheus metrics on GET /metrics at this port (0 picks a free one); none when left out. */
  metricsPort?: number;
}

export interface RunningShim {
  port: number;
  grpcWebPort: number;
  /** The metrics port, when serving metrics. */
  metricsPort: number | undefined;
  /** Calls being answered now. */
  readonly activeCalls: number;
  close(): Promise<void>;
}

export async function startShim(opts: ShimOptions): Promise<RunningShim> {
  const logger = opts.logger ?? jsonLogger();
  const host = opts.host ?? DEFAULT_HOST;
  const limits = resolveLimits(opts.limits);
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const backend = await openBackend(opts, outageLogger(logger), new DataProblems(logger));
  const metrics: ShimMetrics | undefined = opts.metricsPort === undefined ? undefined : new ShimMetrics((): number => runner.active);
  const runner: CallRunner = new CallRunner(mlmdHandlers(backend), logger, limits, metrics && ((rpc, transport, code, seconds) => metrics.observe(rpc, transport, code, seconds)));
  const methods = shimServiceDefinition(limits.maxIdsPerRequest);
  let grpcServer;
  let webServer;
  let metricsEndpoint: MetricsEndpoint | undefined;
  try {
    grpcServer = await startGrpc({ host, port: opts.port ?? DEFAULT_GRPC_PORT, methods, runner });
    webServer = await startGrpcWeb({
      host,
      port: opts.grpcWebPort ?? DEFAULT_GRPC_WEB_PORT,
      methods,
      runner,
      corsOrigins: opts.corsOrigins ?? [],
      requestTimeoutMs: opts.requestTimeoutMs,
      onError: (error) => logger.error({ transport: 'grpc-web', error }, 'grpc-web request failed'),
    });
    if (metrics) metricsEndpoint = await startMetricsEndpoint(metrics.registry, host, opts.metricsPort!);
  } catch (e) {
    grpcServer?.forceClose();
    void webServer?.drain();
    webServer?.forceClose();
    await backend.close();
    if (isBridgeError(e)) throw e;
    throw new BridgeError('CONNECTION', `cannot listen on ${host}: ${(e as Error).message}`, 'choose free ports with --port / --grpc-web-port', {
      cause: e,
    });
  }
  logger.info({ backend: backend.name, host, port: grpcServer.port, grpcWebPort: webServer.port, metricsPort: metricsEndpoint?.port ?? null, limits }, 'shim listening');

  let closing: Promise<void> | undefined;
  const grpc = grpcServer;
  const web = webServer;
  return {
    port: grpc.port,
    grpcWebPort: web.port,
    metricsPort: metricsEndpoint?.port,
    get activeCalls() {
      return runner.active;
    },
    close() {
      closing ??= (async () => {
        const started = Date.now();
        logger.info({ activeCalls: runner.active, shutdownTimeoutMs }, 'shim shutting down');
        runner.refuseNew(shuttingDown());
        const drained = Promise.all([grpc.drain(), web.drain(), runner.idle()]);
        const inTime = await within(drained, shutdownTimeoutMs - CANCEL_BEFORE_END_MS);
        if (!inTime) {
          logger.warn({ activeCalls: runner.active }, 'calls still running at the shutdown bound are cancelled');
          runner.abortAll(shuttingDown());
          await within(runner.idle(), CANCEL_BEFORE_END_MS / 2);
        }
        grpc.forceClose();
        web.forceClose();
        await metricsEndpoint?.close();
        // The pools close only after the calls that use them: closing under a running call answered it INTERNAL "Pool is closed".
        const closed = await within(backend.close(), Math.max(0, shutdownTimeoutMs - (Date.now() - started)));
        logger.info({ ms: Date.now() - started, cancelled: !inTime, poolsClosed: closed }, 'shim stopped');
        await logger.flush?.();
      })();
      return closing;
    },
  };
}

/** Whether `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One log line when a database becomes unreachable and one when it answers again, not one per failed call. */
function outageLogger(logger: ShimLogger): (role: string) => (change: AvailabilityChange) => void {
  return (role) => (change) => {
    if (change.available) logger.info({ database: role }, 'database reachable again');
    else logger.error({ database: role, error: change.reason }, 'database unreachable; calls answer UNAVAILABLE until it is back');
  };
}

/**
 * `--kfp` alone: the KFP tables through the reverse mapping. `--mlmd` alone: the archive.
 * Both: the KFP tables win and the archive fills in what was never migrated (design.md §4); the
 * archive's highest ids also bound the ids given to KFP-3-native rows, so the two never collide.
 */
async function openBackend(
  opts: ShimOptions,
  onAvailability: (role: string) => (change: AvailabilityChange) => void,
  problems: ProblemReporter,
): Promise<ShimBackend> {
  if (!opts.kfpUrl && !opts.mlmdUrl) throw new BridgeError('USAGE', 'the shim needs --kfp URL, --mlmd URL, or both (or KFP_DB_URL / MLMD_DB_URL)');
  const mlmdOpts = { onAvailability: onAvailability('MLMD database'), problems };
  const kfpOpts = { onAvailability: onAvailability('KFP database'), problems };
  if (!opts.kfpUrl) return openMlmdBackend(opts.mlmdUrl!, mlmdOpts);
  if (!opts.mlmdUrl) return openKfpBackend(opts.kfpUrl, kfpOpts);
  const archive = await openMlmdBackend(opts.mlmdUrl, mlmdOpts);
  try {
    const kfp = await openKfpBackend(opts.kfpUrl, { ...kfpOpts, externalMax: () => archive.maxIds() });
    return new LayeredBackend(kfp, archive);
  } catch (e) {
    await archive.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Closes the shim on SIGTERM/SIGINT (Kubernetes stops pods with SIGTERM); returns a remover. The
 * process exits 0 once the shim has stopped, and at the latest at the shutdown bound plus a second.
 */
export function closeOnSignals(shim: RunningShim, onClosed: () => void = () => process.exit(0), boundMs = DEFAULT_SHUTDOWN_TIMEOUT_MS): () => void {
  let stopping = false;
  const handler = () => {
    // A second signal while stopping is ignored rather than left to kill the process: shutdown is bounded anyway.
    if (stopping) return;
    stopping = true;
    // A backstop: whatever still holds the event loop open, the process ends (exit 0) just after the bound.
    setTimeout(() => process.exit(0), boundMs + 1_000).unref();
    void shim.close().then(onClosed, onClosed);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
