// Prometheus metrics, scraped for real: the shim's (a real shim over migrated MariaDB tables,
// real gRPC and gRPC-Web calls) and a migration's progress (a real migrate on SQLite with its
// metrics port open, scraped while it runs), plus the CLI's --metrics-port.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withJobMetrics } from '../src/cli/job-metrics.ts';
import { migrate } from '../src/migrate/migrator.ts';
import type { SeedReport } from '../src/seed/index.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { type TempDatabase, tempMariaDb, tempSqlite } from './helpers/databases.ts';
import { type MlmdTestClient, mlmdClient } from './helpers/grpc-client.ts';
import { frame, post } from './helpers/grpc-web.ts';
import { type Scrape, sample, scrape } from './helpers/prometheus.ts';
import { seedUrls } from './helpers/seeded.ts';

describe('the shim serves /metrics', () => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  let seeded: SeedReport;
  let shim: RunningShim;
  let client: MlmdTestClient;

  beforeAll(async () => {
    mlmd = await tempMariaDb('metrics_mlmd');
    kfp = await tempMariaDb('metrics_kfp');
    seeded = await seedUrls(mlmd.url, kfp.url, { runs: 6, seed: 5 });
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, batchSize: 3 });
    shim = await startShim({ kfpUrl: kfp.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, metricsPort: 0, logger: silentLogger });
    client = mlmdClient(shim.port);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await shim?.close();
    await mlmd?.drop();
    await kfp?.drop();
  });

  it('counts calls by RPC, transport and status, times them, counts errors by status, cache lookups and pool use', async () => {
    expect(shim.metricsPort).toBeGreaterThan(0);
    const before = await scrape(shim.metricsPort!);
    expect(before.status).toBe(200);
    expect(before.contentType).toContain('text/plain');
    const ctxCalls = { rpc: 'GetContextByTypeAndName', transport: 'grpc', code: 'OK' };
    expect(sample(before.text, 'mlmd_bridge_shim_rpc_calls_total', ctxCalls)).toBeUndefined();

    const uuid = seeded.runs[0]!.uuid;
    const context = (await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: uuid })).context;
    expect(context).toBeDefined();
    // The same run twice: the first call loads its view (a miss), the second finds it cached (a hit).
    for (let i = 0; i < 2; i++) expect((await client.call('GetExecutionsByContext', { context_id: context.id })).executions.length).toBeGreaterThan(0);
    expect((await client.fail('GetArtifactType', { type_name: 'no.such.Type' })).code).toBe(grpc.status.NOT_FOUND);
    const web = await post(shim.grpcWebPort, '/ml_metadata.MetadataStoreService/GetArtifactTypes', frame(0, new Uint8Array()), {
      'content-type': 'application/grpc-web+proto',
      'x-grpc-web': '1',
    });
    expect(web.status).toBe(200);

    const after = await scrape(shim.metricsPort!);
    const v = (name: string, labels: Record<string, string> = {}) => sample(after.text, name, labels);
    expect(v('mlmd_bridge_shim_rpc_calls_total', ctxCalls)).toBe(1);
    expect(v('mlmd_bridge_shim_rpc_calls_total', { rpc: 'GetExecutionsByContext', transport: 'grpc', code: 'OK' })).toBe(2);
    expect(v('mlmd_bridge_shim_rpc_calls_total', { rpc: 'GetArtifactType', transport: 'grpc', code: 'NOT_FOUND' })).toBe(1);
    expect(v('mlmd_bridge_shim_rpc_calls_total', { rpc: 'GetArtifactTypes', transport: 'grpc-web', code: 'OK' })).toBe(1);
    expect(v('mlmd_bridge_shim_rpc_errors_total', { code: 'NOT_FOUND' })).toBe(1);
    expect(v('mlmd_bridge_shim_rpc_duration_seconds_count', { rpc: 'GetExecutionsByContext', transport: 'grpc' })).toBe(2);
    expect(v('mlmd_bridge_shim_rpc_duration_seconds_sum', { rpc: 'GetExecutionsByContext', transport: 'grpc' })).toBeGreaterThan(0);
    expect(v('mlmd_bridge_shim_rpc_duration_seconds_bucket', { rpc: 'GetExecutionsByContext', transport: 'grpc', le: '+Inf' })).toBe(2);
    expect(v('mlmd_bridge_shim_active_calls')).toBe(0);
    expect(v('mlmd_bridge_shim_cache_lookups_total', { cache: 'runs', result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(v('mlmd_bridge_shim_cache_lookups_total', { cache: 'runs', result: 'miss' })).toBeGreaterThanOrEqual(1);
    // The KFP backend's two pools, summed: the reader's 8 connections and the id writer's 4.
    expect(v('mlmd_bridge_db_pool_connections_max', { database: 'KFP database' })).toBe(12);
    expect(v('mlmd_bridge_db_pool_connections_open', { database: 'KFP database' })).toBeGreaterThanOrEqual(1);
    expect(v('mlmd_bridge_db_pool_connections_in_use', { database: 'KFP database' })).toBe(0);
    expect(v('mlmd_bridge_shim_process_resident_memory_bytes')).toBeGreaterThan(0);

    // Counters only grow: one more call moves exactly its own series.
    await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: uuid });
    expect(sample((await scrape(shim.metricsPort!)).text, 'mlmd_bridge_shim_rpc_calls_total', ctxCalls)).toBe(2);
  });

  it('answers 404 anywhere but GET /metrics', async () => {
    expect((await scrape(shim.metricsPort!, '/')).status).toBe(404);
    expect((await scrape(shim.metricsPort!, '/metricsx')).status).toBe(404);
  });
});

describe('migrate exposes its progress on --metrics-port', () => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;
  const RUNS = 40;

  beforeAll(async () => {
    mlmd = await tempSqlite('metrics_job_mlmd');
    kfp = await tempSqlite('metrics_job_kfp');
    await seedUrls(mlmd.url, kfp.url, { runs: RUNS, seed: 3, hostile: true });
  }, 120_000);

  afterAll(async () => {
    await mlmd?.drop();
    await kfp?.drop();
  });

  it('scraped while it runs: runs done of total, rows written and their rate, rejects by code move with the migration', async () => {
    const during: Promise<Scrape>[] = [];
    const final = await withJobMetrics('migrate', 0, async (onProgress, port) => {
      expect(port).toBeGreaterThan(0);
      const summary = await migrate({
        mlmdUrl: mlmd.url,
        kfpUrl: kfp.url,
        batchSize: 4,
        concurrency: 1,
        onProgress: (p) => {
          onProgress(p);
          // Scraped at a quarter, half and three quarters of the runs: the migration goes on meanwhile.
          if (p.phase === 'runs' && during.length < 3 && p.runsDone >= ((during.length + 1) * p.runsTotal) / 4) during.push(scrape(port!));
        },
      });
      return { summary, scrape: await scrape(port!) };
    });
    expect(during).toHaveLength(3);
    const scrapes = [...(await Promise.all(during)), final.scrape];
    const done = scrapes.map((s) => sample(s.text, 'mlmd_bridge_job_runs_done', { command: 'migrate' })!);
    const rows = scrapes.map((s) => sample(s.text, 'mlmd_bridge_job_rows_written_total', { command: 'migrate' })!);
    for (const s of scrapes) expect(sample(s.text, 'mlmd_bridge_job_runs_total', { command: 'migrate' })).toBe(final.summary.runs.total);
    expect(done[0]).toBeGreaterThan(0);
    expect(done.at(-1)).toBe(final.summary.runs.total);
    for (let i = 1; i < done.length; i++) {
      expect(done[i]).toBeGreaterThanOrEqual(done[i - 1]!);
      expect(rows[i]).toBeGreaterThanOrEqual(rows[i - 1]!);
    }
    expect(rows.at(-1)).toBeGreaterThan(rows[0]!);
    expect(rows.at(-1)).toBe(final.summary.rows.tasks + final.summary.rows.artifacts + final.summary.rows.artifact_tasks);
    expect(sample(final.scrape.text, 'mlmd_bridge_job_rows_per_second', { command: 'migrate' })).toBeGreaterThan(0);
    expect(sample(final.scrape.text, 'mlmd_bridge_job_phase', { command: 'migrate', phase: 'done' })).toBe(1);
    // The hostile seed plants records the mapping rejects inside runs; each code counted as the migrator reports it.
    const rejected = [...final.scrape.text.matchAll(/^mlmd_bridge_job_rejects_total\{code="(\w+)",command="migrate"\} (\d+)$/gm)];
    expect(rejected.length).toBeGreaterThan(0);
    for (const [, code, n] of rejected) expect(Number(n)).toBeLessThanOrEqual(final.summary.rejects.byCode[code!] ?? 0);
  }, 120_000);

  it('the CLI: --metrics-port 0 logs the port it serves on (a pino JSON line) and closes it at the end; a bad value exits 2', async () => {
    const again = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--metrics-port', '0']);
    // Exit 1: the hostile seed's records are reported, as without --metrics-port.
    expect(again.code, again.stderr).toBe(1);
    const line = JSON.parse(again.stderr.split('\n').find((l) => l.includes('metrics listening'))!);
    expect(line).toMatchObject({ level: 'info', msg: 'metrics listening', command: 'migrate', metricsPort: expect.any(Number) });
    await expect(scrape(line.metricsPort)).rejects.toThrow(/ECONNREFUSED/);
    const bad = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--metrics-port', 'ninety']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--metrics-port must be a whole number ≥ 0 (got "ninety")');
  }, 120_000);

  it('the shim CLI names its metrics port in its Serving line and answers a scrape there', async () => {
    const { child, done } = startCli(['shim', '--kfp', kfp.url, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0', '--metrics-port', '0']);
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /metrics on 127\.0\.0\.1:(\d+)\/metrics/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void done.then((r) => reject(new Error(`shim exited ${r.code}: ${r.stderr}`)));
    });
    const s = await scrape(port);
    expect(s.status).toBe(200);
    expect(sample(s.text, 'mlmd_bridge_shim_active_calls')).toBe(0);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  }, 60_000);
});
