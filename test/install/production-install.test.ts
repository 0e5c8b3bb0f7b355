/**
 * The production install exactly as an operator or an image build without a build stage does it:
 * `npm ci --omit=dev` in the unpacked package, every install script run — the package's `prepare`
 * (TypeScript is absent, so the shipped dist/ is kept) and better-sqlite3's native build, which
 * compiles SQLite where no prebuilt binary can be downloaded (about two minutes on 2 cores). That
 * is why this file is not part of `npm test`: `npm run test:install` runs it, and so does .ci/run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_VERSION } from '../../src/version.ts';
import { runCli } from '../helpers/cli.ts';
import { installProductionDependencies, packAndUnpack, type UnpackedPackage } from '../helpers/package.ts';

describe('npm ci --omit=dev of the packed package, install scripts included', () => {
  let pkg: UnpackedPackage;

  beforeAll(async () => {
    pkg = await packAndUnpack();
    await installProductionDependencies(pkg);
  }, 900_000);
  afterAll(() => pkg?.remove());

  it('runs --version', async () => {
    const r = await runCli(['--version'], {}, pkg.cli);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(TOOL_VERSION);
  });

  it('runs the demo (seed, migrate, verify on SQLite) with worker threads', async () => {
    const r = await runCli(['demo', '--dir', join(pkg.scratch, 'demo'), '--runs', '12'], { MLMD_BRIDGE_WORKERS: '2' }, pkg.cli);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Every record migrated');
    expect(r.stdout).toContain('Every checked run matches');
  });
});
