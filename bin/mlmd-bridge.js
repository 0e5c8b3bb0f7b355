#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so a fresh clone runs with `npm install` alone.
import { register } from 'tsx/esm/api';

register();
const { boundHeapGrowth } = await import('../src/cli/heap-growth.ts');
boundHeapGrowth();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
