import { Command, CommanderError } from 'commander';

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
  '  (unless --no-shim), then the staged upgrade (stage, a true-up with nothing changed and after 1 % of the runs\n' +
  '  changed, the cut-over outage), prints a table and one JSON line, and drops the databases. The same runs are\n' +
  '  migrated (against a COPY ceiling) and staged into a KFP database on PostgreSQL too, MLMD staying on MariaDB.\n' +
  '  --batch-size and --concurrency are passed to migrate (default: its own defaults).\n' +
  '  Values may follow their flag or be joined to it: --runs 50 or --runs=50.\n' +
  '  Server: MB_BENCH_MYSQL_HOST (127.0.0.1), MB_BENCH_MYSQL_PORT (3306), MB_BENCH_MYSQL_USER (root),\n' +
  '  MB_BENCH_MYSQL_PASSWORD (empty); MB_BENCH_PG_HOST (127.0.0.1), MB_BENCH_PG_PORT (5432), MB_BENCH_PG_USER\n' +
  '  (postgres), MB_BENCH_PG_PASSWORD (empty).\n';

/** Thrown from commander's value parser, so it reaches the caller unchanged (commander rewraps only its own errors). */
const wholeNumber = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new BenchInputError(`${flag} needs a whole number ≥ 1 (got "${value}")`);
  return n;
};

/** The bench's command line as a commander program (docs/configuration.md is checked against its options). */
export function benchProgram(): Command {
  return new Command('bench')
    .option('--runs <n>', 'runs at the small size', wholeNumber('--runs'), DEFAULT_RUNS)
    .option('--scale <k>', 'the large size is runs × scale', wholeNumber('--scale'), DEFAULT_SCALE)
    .option('--batch-size <b>', 'passed to migrate', wholeNumber('--batch-size'))
    .option('--concurrency <c>', 'passed to migrate', wholeNumber('--concurrency'))
    .option('--no-shim', 'skip the shim measurement')
    // Strays are collected and refused below in the bench's own one-line form, not commander's.
    .allowUnknownOption()
    .allowExcessArguments()
    .configureHelp({ formatHelp: () => USAGE })
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: () => {} })
    .exitOverride();
}

export function parseArgs(argv: string[]): BenchArgs {
  const program = benchProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.helpDisplayed') process.exit(0);
    // A flag's value can only be missing at the end of the line (commander takes whatever follows as the value).
    if (e instanceof CommanderError && e.code === 'commander.optionMissingArgument') {
      throw new BenchInputError(`${argv.at(-1)} needs a whole number ≥ 1 (got "nothing")`);
    }
    throw e;
  }
  const [stray] = program.args;
  if (stray !== undefined) throw new BenchInputError(`unknown option ${stray} (try --help)`);
  const o = program.opts<{ runs: number; scale: number; batchSize?: number; concurrency?: number; shim: boolean }>();
  return { runs: o.runs, scale: o.scale, batchSize: o.batchSize, concurrency: o.concurrency, shim: o.shim };
}
