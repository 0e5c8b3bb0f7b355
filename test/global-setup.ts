/**
 * Before any test file runs: compile the sources into dist/, which the CLI (bin/mlmd-bridge.js)
 * runs, so every test that spawns the CLI runs the code as it is now and never an older build.
 * Incremental: only what changed since the last build is compiled again.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUILD = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));

export default function buildCli(): void {
  const r = spawnSync(process.execPath, [BUILD, '--incremental'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.error || r.status !== 0) throw new Error(`building dist/ for the CLI failed (exit ${r.status}): ${r.error?.message ?? said}`);
  // Type errors do not stop the tests (the compiled code still matches the sources); they are shown.
  if (said) process.stderr.write(`build (type errors, code compiled anyway):\n${said}\n`);
}
