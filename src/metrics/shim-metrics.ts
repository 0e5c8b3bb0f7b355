/**
 * The shim's metrics (docs/metrics.md): calls and their latency per RPC and transport, errors by
 * gRPC status, calls in flight, cache lookups by cache, and the database pools' use. Calls are
 * counted as they end; caches and pools are read when Prometheus scrapes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { poolUses } from '../db/pool-use.ts';
import { allCacheCounts } from '../util/cache-stats.ts';

/** Latency buckets in seconds: a cached run page answers in milliseconds, a cold lineage walk in seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ShimMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'rpc' | 'transport' | 'code'>;
  private readonly latency: Histogram<'rpc' | 'transport'>;
  private readonly errors: Counter<'code'>;

  constructor(activeCalls: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mlmd_bridge_shim_' });
    this.calls = new Counter({ name: 'mlmd_bridge_shim_rpc_calls_total', help: 'MLMD calls answered, by RPC, transport and gRPC status', labelNames: ['rpc', 'transport', 'code'], registers });
    this.latency = new Histogram({
      name: 'mlmd_bridge_shim_rpc_duration_seconds',
      help: 'Time from a call\'s arrival to its answer, by RPC and transport',
      labelNames: ['rpc', 'transport'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.errors = new Counter({ name: 'mlmd_bridge_shim_rpc_errors_total', help: 'Calls answered with a status other than OK, by gRPC status', labelNames: ['code'], registers });
    new Gauge({
      name: 'mlmd_bridge_shim_active_calls',
      help: 'Calls being answered now',
      registers,
      collect() {
        this.set(activeCalls());
      },
    });
    // The caches count in plain numbers (src/util/cache-stats.ts); a scrape adds what was counted since the last one.
    const reported = new Map<string, { hits: number; misses: number }>();
    new Counter({
      name: 'mlmd_bridge_shim_cache_lookups_total',
      help: 'Lookups in the shim\'s caches, by cache and result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        for (const [cache, c] of allCacheCounts()) {
          const before = reported.get(cache) ?? { hits: 0, misses: 0 };
          this.inc({ cache, result: 'hit' }, c.hits - before.hits);
          this.inc({ cache, result: 'miss' }, c.misses - before.misses);
          reported.set(cache, { hits: c.hits, misses: c.misses });
        }
      },
    });
    const pools = (name: string, help: string, value: (p: ReturnType<typeof poolUses>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['database'],
        registers,
        collect() {
          this.reset();
          for (const p of poolUses()) this.inc({ database: p.role }, value(p));
        },
      });
    pools('mlmd_bridge_db_pool_connections_max', 'Most connections each database pool opens', (p) => p.max);
    pools('mlmd_bridge_db_pool_connections_open', 'Connections each database pool holds open now', (p) => p.open);
    pools('mlmd_bridge_db_pool_connections_in_use', 'Connections lent out (running a statement or a transaction) now', (p) => p.open - p.idle);
    pools('mlmd_bridge_db_pool_waiting', 'Statements waiting for a free connection now', (p) => p.waiting);
  }

  /** One call ended: `code` is its gRPC status name (OK, NOT_FOUND, …). */
  observe(rpc: string, transport: string, code: string, seconds: number): void {
    this.calls.inc({ rpc, transport, code });
    this.latency.observe({ rpc, transport }, seconds);
    if (code !== 'OK') this.errors.inc({ code });
  }
}
