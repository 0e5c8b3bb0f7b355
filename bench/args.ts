/** The benchmark's few options: `npm run bench -- --runs N [--scale K] [--batch-size B] [--concurrency C]`. */
export interface BenchArgs {
  /** Runs seeded at the small size; the large size is `runs * scale`. */
  runs: number;
  scale: number;
  /** Passed to `migrate` when given; otherwise migrate's own defaults are measured. */
  batchSize?: number;
  concurrency?: number;
  /** Skip the shim measurement (it needs free local ports). */
  shim: boolean;
}

/** Sized so that both sizes, seeding included, finish in a few minutes on a 2-core machine. */
export const DEFAULT_RUNS = 1500;
export const DEFAULT_SCALE = 10;

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { runs: DEFAULT_RUNS, scale: DEFAULT_SCALE, shim: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} needs a whole number ≥ 1 (got "${argv[i]}")`);
      return v;
    };
    if (flag === '--runs') args.runs = value();
    else if (flag === '--scale') args.scale = value();
    else if (flag === '--batch-size') args.batchSize = value();
    else if (flag === '--concurrency') args.concurrency = value();
    else if (flag === '--no-shim') args.shim = false;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--runs N] [--scale K] [--batch-size B] [--concurrency C] [--no-shim]\n' +
          `  seeds N and N×K runs (default ${DEFAULT_RUNS} and ×${DEFAULT_SCALE}) into scratch MariaDB databases, measures, drops them\n`,
      );
      process.exit(0);
    } else throw new Error(`unknown option ${flag} (try --help)`);
  }
  return args;
}
