/**
 * The production package: what `npm pack` ships, and that it runs with production dependencies
 * only — no TypeScript, no tsx — worker threads and the shim's wire contracts included. Also that
 * the CLI every other test spawns is the one built from the sources as they are now.
 *
 * The install here skips install scripts and takes better-sqlite3's compiled binary from this
 * checkout (see installProductionDependenciesReusingNativeBuild): compiling it again costs about two
 * minutes on 2 cores. test/install/ runs the full `npm ci --omit=dev`, scripts and compile included
 * (`npm run test:install`, which .ci/run runs after the suite).
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { installProductionDependenciesReusingNativeBuild, packAndUnpack, run, type UnpackedPackage } from './helpers/package.ts';
import { TOOL_VERSION } from '../src/version.ts';

describe('the CLI the tests spawn', () => {
  it('is built from the current sources: each command explains itself as the sources do', async () => {
    const program = buildProgram(() => undefined, () => undefined);
    const fromSources: [string[], string][] = [[['--help'], program.helpInformation()], ...program.commands.map((c): [string[], string] => [[c.name(), '--help'], c.helpInformation()])];
    expect(fromSources.length).toBeGreaterThan(5);
    for (const [args, help] of fromSources) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      // The root help ends with a footer added after helpInformation().
      expect(r.stdout.startsWith(help), `mlmd-bridge ${args.join(' ')} differs from the sources' help: dist/ is stale`).toBe(true);
    }
  });
});

describe('the packed package, installed with production dependencies only', () => {
  let pkg: UnpackedPackage;

  beforeAll(async () => {
    pkg = await packAndUnpack();
    await installProductionDependenciesReusingNativeBuild(pkg);
  }, 300_000);
  afterAll(() => pkg?.remove());

  it('ships the compiled CLI, its worker entries and the wire contracts, and no sources, tests or build state', () => {
    for (const f of [
      'package.json',
      'bin/mlmd-bridge.js',
      'dist/cli/main.js',
      'dist/cli/heap-growth.js',
      'dist/migrate/prepare-worker.js',
      'dist/verify/check-worker.js',
      'proto/mlmd/metadata_store_service.proto',
      'proto/mlmd/metadata_store.proto',
      'proto/kfp/v2beta1.proto',
      'proto/grpc/health/v1/health.proto',
      'scripts/build.mjs',
    ]) {
      expect(pkg.files, f).toContain(f);
    }
    const unwanted = pkg.files.filter((f) => /^(src|test|bench|\.ci|node_modules)\//.test(f) || f.endsWith('.ts') || f === 'dist/.tsbuildinfo');
    expect(unwanted).toEqual([]);
  });

  it('installs no development dependency', () => {
    for (const dev of ['typescript', 'tsx', 'vitest', 'esbuild', 'fast-check', 'pg-copy-streams']) {
      expect(existsSync(join(pkg.dir, 'node_modules', dev)), dev).toBe(false);
    }
    // drizzle-orm names the driver typings as optional peers, so npm keeps @types/better-sqlite3 and
    // @types/pg for production too (lock file: devOptional): declarations only, no code that could run.
    for (const types of ['@types/better-sqlite3', '@types/pg']) {
      const files = readdirSync(join(pkg.dir, 'node_modules', types), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
      expect(files.length, types).toBeGreaterThan(0);
      expect(files.filter((f) => !/(\.d\.m?ts|\.json|\.md|LICENSE)$/.test(f.name)).map((f) => f.name), types).toEqual([]);
    }
    for (const dep of ['commander', 'better-sqlite3', 'mysql2', '@grpc/grpc-js']) {
      expect(existsSync(join(pkg.dir, 'node_modules', dep)), dep).toBe(true);
    }
  });

  it("npm's prepare keeps the shipped dist/ where TypeScript is not installed", async () => {
    const r = await run('npm', ['run', 'prepare'], pkg.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(pkg.dir, 'dist', 'cli', 'main.js'))).toBe(true);
  });

  it('--version prints the version', async () => {
    const r = await runCli(['--version'], {}, pkg.cli);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(TOOL_VERSION);
  });

  it('seeds, migrates and verifies on SQLite with worker threads (their entries compiled, no tsx)', async () => {
    const mlmd = `sqlite:${join(pkg.scratch, 'mlmd.db')}`;
    const kfp = `sqlite:${join(pkg.scratch, 'kfp.db')}`;
    const workers = { MLMD_BRIDGE_WORKERS: '2' };
    const seeded = await runCli(['seed', '--mlmd', mlmd, '--kfp', kfp, '--runs', '12'], {}, pkg.cli);
    expect(seeded.code, seeded.stderr).toBe(0);
    const migrated = await runCli(['migrate', '--mlmd', mlmd, '--kfp', kfp, '--batch-size', '3', '--json'], workers, pkg.cli);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect((JSON.parse(migrated.stdout) as { runs: { migrated: number } }).runs.migrated).toBe(12);
    const verified = await runCli(['verify', '--mlmd', mlmd, '--kfp', kfp, '--batch-size', '3', '--json'], workers, pkg.cli);
    expect(verified.code, verified.stderr).toBe(0);
    expect((JSON.parse(verified.stdout) as { runs: { checked: number } }).runs.checked).toBe(12);
  });

  it('serves the shim (its .proto files are in the package) and stops cleanly on SIGTERM', async () => {
    const kfp = `sqlite:${join(pkg.scratch, 'shim-kfp.db')}`;
    const mlmd = `sqlite:${join(pkg.scratch, 'shim-mlmd.db')}`;
    expect((await runCli(['seed', '--mlmd', mlmd, '--kfp', kfp, '--runs', '2'], {}, pkg.cli)).code).toBe(0);
    expect((await runCli(['migrate', '--mlmd', mlmd, '--kfp', kfp], {}, pkg.cli)).code).toBe(0);
    const shim = startCli(['shim', '--kfp', kfp, '--mlmd', mlmd, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0'], {}, pkg.cli);
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      shim.child.stdout!.on('data', (d) => {
        stdout += d;
        if (stdout.includes('Serving')) resolve();
      });
      shim.child.on('exit', (code) => reject(new Error(`the shim exited ${code} before serving`)));
    });
    shim.child.kill('SIGTERM');
    const r = await shim.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gRPC on 127\.0\.0\.1:\d+, gRPC-Web on 127\.0\.0\.1:\d+/);
  });

  it('names a missing build in one line with exit 2, rather than a module-loader stack', async () => {
    const dist = join(pkg.dir, 'dist');
    renameSync(dist, `${dist}.aside`);
    try {
      const r = await runCli(['--version'], {}, pkg.cli);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`mlmd-bridge: the CLI is not built (no ${join(dist, 'cli', 'main.js')}): run \`npm run build\` in the checkout\n`);
    } finally {
      renameSync(`${dist}.aside`, dist);
    }
  });
});
