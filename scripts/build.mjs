#!/usr/bin/env node
/**
 * Compiles src/ to dist/ (tsconfig.build.json), which is what bin/mlmd-bridge.js runs.
 *
 *   node scripts/build.mjs                a clean build: dist/ removed first, so nothing of a deleted
 *                                         source survives (npm run build, the container image)
 *   node scripts/build.mjs --incremental  recompiles only what changed since the last build (the test
 *                                         suite's setup, before every run; dist/.tsbuildinfo records it)
 *   node scripts/build.mjs --prepare      npm's `prepare` (npm install, npm ci, npm pack): a clean build
 *                                         in a checkout; in an unpacked package installed with
 *                                         --omit=dev, where TypeScript is absent, the dist/ it shipped with
 *
 * Plain JavaScript on purpose: it runs before anything is compiled, and in a production install.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const ENTRY = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const USAGE = 'usage: node scripts/build.mjs [--incremental | --prepare]';

function typescriptCompiler() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

function compile(tsc, extraArgs) {
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...extraArgs], { cwd: ROOT, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const mode = process.argv[2];
if (process.argv.length > 3 || (mode !== undefined && mode !== '--incremental' && mode !== '--prepare')) {
  process.stderr.write(`build: unknown arguments ${JSON.stringify(process.argv.slice(2).join(' '))}; ${USAGE}\n`);
  process.exit(2);
}

const tsc = typescriptCompiler();
if (tsc === null) {
  if (mode === '--prepare' && existsSync(ENTRY)) {
    // A packed mlmd-bridge installed with --omit=dev: its dist/ is the build; nothing to compile.
    process.exit(0);
  }
  process.stderr.write(
    'build: TypeScript is not installed, so dist/ cannot be built. In a checkout, run `npm ci` (with the development ' +
      'dependencies) and then `npm run build`; for a production install, build first and install the packed package ' +
      '(`npm pack`), or use the container image.\n',
  );
  process.exit(1);
}

// The build records what it compiled in dist/.tsbuildinfo, so the next --incremental build starts
// from it; a clean build writes it too. It lives in dist/ so that removing dist/ forgets it.
const incremental = ['--incremental', '--tsBuildInfoFile', `${DIST}.tsbuildinfo`];
if (mode === '--incremental') {
  // tsc exits 2 when it reported type errors but still wrote every file (noEmitOnError is off): the
  // compiled code matches the sources, so the tests may run; `npm run typecheck` is where errors fail.
  const status = compile(tsc, incremental);
  process.exit(status === 2 ? 0 : status);
}

rmSync(DIST, { recursive: true, force: true });
process.exit(compile(tsc, incremental));
