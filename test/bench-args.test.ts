/** The bench's command line as parsed (the process-level behaviour, exit codes and output, is in bench.test.ts). */
import { describe, expect, it } from 'vitest';
import { BenchInputError, DEFAULT_RUNS, DEFAULT_SCALE, parseArgs } from '../bench/args.ts';

describe('bench parseArgs', () => {
  it('takes no options as the defaults', () => {
    expect(parseArgs([])).toEqual({ runs: DEFAULT_RUNS, scale: DEFAULT_SCALE, batchSize: undefined, concurrency: undefined, shim: true });
  });

  it('takes a value after its flag or joined to it with =, in any mix', () => {
    const expected = { runs: 5, scale: 2, batchSize: 7, concurrency: 3, shim: false };
    expect(parseArgs(['--runs', '5', '--scale', '2', '--batch-size', '7', '--concurrency', '3', '--no-shim'])).toEqual(expected);
    expect(parseArgs(['--runs=5', '--scale=2', '--batch-size=7', '--concurrency=3', '--no-shim'])).toEqual(expected);
    expect(parseArgs(['--no-shim', '--concurrency=3', '--runs', '5', '--batch-size=7', '--scale', '2'])).toEqual(expected);
  });

  it.each([
    [['--runs=0'], '--runs needs a whole number ≥ 1 (got "0")'],
    [['--runs='], '--runs needs a whole number ≥ 1 (got "")'],
    [['--concurrency=1.5'], '--concurrency needs a whole number ≥ 1 (got "1.5")'],
    [['--runs', '--scale'], '--runs needs a whole number ≥ 1 (got "--scale")'],
    [['--runs', '5', '--concurrency'], '--concurrency needs a whole number ≥ 1 (got "nothing")'],
    [['--bogus=3'], 'unknown option --bogus=3 (try --help)'],
    [['--runs', '5', 'extra'], 'unknown option extra (try --help)'],
  ])('refuses %j with the one-line BenchInputError %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new BenchInputError(message));
    // toThrow(errorInstance) compares messages only; the class decides the exit code (2) and the one-line output.
    expect(() => parseArgs(argv)).toThrow(BenchInputError);
  });
});
