/**
 * `--metrics-port` of the batch commands (migrate, stage): while the command runs, Prometheus
 * metrics of its progress are served on GET /metrics at that port, on every interface (a
 * Kubernetes Job's pod is scraped at its own address). The endpoint closes when the command ends.
 */
import { createLogger } from '../log/logger.ts';
import { startMetricsEndpoint } from '../metrics/http-endpoint.ts';
import { type JobProgress, JobMetrics } from '../metrics/job-metrics.ts';

/** Where the batch commands' metrics are served: all interfaces (the pod's address). */
export const JOB_METRICS_HOST = '0.0.0.0';

/**
 * Runs `fn` with a progress listener that feeds the metrics; without a port, the listener does
 * nothing and no endpoint opens.
 */
export async function withJobMetrics<T>(command: string, port: number | undefined, fn: (onProgress: (p: JobProgress) => void, metricsPort: number | undefined) => Promise<T>): Promise<T> {
  if (port === undefined) return fn(() => undefined, undefined);
  const metrics = new JobMetrics(command);
  const endpoint = await startMetricsEndpoint(metrics.registry, JOB_METRICS_HOST, port);
  const logger = createLogger('json');
  logger.info({ command, metricsPort: endpoint.port }, 'metrics listening');
  try {
    return await fn((p) => metrics.update(p), endpoint.port);
  } finally {
    await endpoint.close();
    await logger.flush?.();
  }
}
