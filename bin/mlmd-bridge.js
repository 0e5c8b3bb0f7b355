#!/usr/bin/env node
// Runs the compiled CLI in dist/ (`npm run build`; in a checkout `npm install` builds it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(`mlmd-bridge: the CLI is not built (no ${fileURLToPath(main)}): run \`npm run build\` in the checkout\n`);
  process.exit(2);
}
// Before the CLI's modules load, so the bound applies to every allocation they make.
const { boundHeapGrowth } = await import(new URL('../dist/cli/heap-growth.js', import.meta.url).href);
boundHeapGrowth();
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
