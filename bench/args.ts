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

/** Bad input to the bench (its command line, a server it cannot reach): reported as its message alone, exit 2. */
export class BenchInputError extends Error {}

export const USAGE =
  'usage: npm run bench -- [--runs N] [--scale K] [--batch-size B] [--concurrency C] [--no-shim]\n' +
  `  Seeds N and N×K KFP-shaped runs (default ${DEFAULT_RUNS} and ×${DEFAULT_SCALE}) into scratch MariaDB databases; for\n` +
  '  each size runs plan (read + map alone), migrate, the LOAD DATA ceiling for the same rows, verify and the shim\n' +
  '  (unless --no-shim), prints a table and one JSON line, and drops the databases.\n' +
  '  --batch-size and --concurrency are passed to migrate (default: its own defaults).\n' +
  '  Server: MB_BENCH_MYSQL_HOST (127.0.0.1), MB_BENCH_MYSQL_PORT (3306), MB_BENCH_MYSQL_USER (root),\n' +
  '  MB_BENCH_MYSQL_PASSWORD (empty).\n';

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { runs: DEFAULT_RUNS, scale: DEFAULT_SCALE, shim: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new BenchInputError(`${flag} needs a whole number ≥ 1 (got "${argv[i] ?? 'nothing'}")`);
      return v;
    };
    if (flag === '--runs') args.runs = value();
    else if (flag === '--scale') args.scale = value();
    else if (flag === '--batch-size') args.batchSize = value();
    else if (flag === '--concurrency') args.concurrency = value();
    else if (flag === '--no-shim') args.shim = false;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new BenchInputError(`unknown option ${flag} (try --help)`);
  }
  return args;
}
