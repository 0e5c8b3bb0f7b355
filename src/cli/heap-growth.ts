/**
 * How far V8 lets the heap grow between full collections. V8 sets the next collection at the live
 * heap times a factor it chooses itself, up to 4 on a machine with a lot of RAM; a migration keeps
 * 35–50 MiB live, so up to 150 MiB more of garbage was held before a collection, and peak RSS grew
 * with the run (15,000 runs: migrate 245 MiB, verify 270–290 MiB; 150,000 runs: migrate 330 MiB).
 * A factor of 2.5 measured 193–195 MiB and 209 MiB at 15,000 runs, for about 1 s more CPU over
 * a 20 s migrate and none measurable over verify (docs/design.md, Throughput and memory).
 *
 * V8 reads this flag each time it sets the next limit, so unlike --max-old-space-size it takes
 * effect when set from inside the process, and applies to worker threads too. Node does not accept
 * V8 heap flags in NODE_OPTIONS, so an operator chooses with MLMD_BRIDGE_HEAP_GROWING_PERCENT
 * (0: V8's own factor) or `node --heap-growing-percent=N`; either is left as given.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 150;
export const HEAP_GROWTH_ENV = 'MLMD_BRIDGE_HEAP_GROWING_PERCENT';

/** The V8 flag to set (null: leave V8 as it is), and a warning when the environment variable was not usable. */
export function heapGrowthFlag(execArgv: readonly string[], fromEnv: string | undefined): { flag: string | null; warning?: string } {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return { flag: null };
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const n = Number(fromEnv);
    if (Number.isInteger(n) && n >= 0 && n <= 1000) return { flag: n === 0 ? null : `--heap-growing-percent=${n}` };
    return {
      flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
      warning: `mlmd-bridge: ignoring ${HEAP_GROWTH_ENV}=${JSON.stringify(fromEnv)} (expected a whole number from 0 to 1000); using ${HEAP_GROWING_PERCENT}\n`,
    };
  }
  return { flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}` };
}

export function boundHeapGrowth(): void {
  const { flag, warning } = heapGrowthFlag(process.execArgv, process.env[HEAP_GROWTH_ENV]);
  if (warning) process.stderr.write(warning);
  if (flag) setFlagsFromString(flag);
}
