/**
 * `npm run bench [-- --runs N]`: seeds KFP-shaped MLMD databases on MariaDB at two sizes (N and
 * N×scale runs), then measures side by side: plan (read + map alone, the floor under migrate),
 * migrate (rows/s, wall time, peak RSS), the LOAD DATA ceiling for the same rows, their ratio,
 * verify and the shim when this checkout has them. Prints
 * a table and one JSON line; everything it creates lives in scratch databases and temp files that
 * are removed at the end, so nothing is written into the repository.
 */
import { BenchInputError, parseArgs } from './args.ts';
import { measureCeiling } from './ceiling.ts';
import { cliHasCommand } from './child.ts';
import { renderTable, type SizeResult } from './report.ts';
import { machineFacts, ScratchDatabases, urlOf } from './scratch.ts';
import { measureShim } from './shim.ts';
import { migrate, plan, seed, verify } from './workloads.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = await machineFacts();
  const hasVerify = await cliHasCommand('verify');
  const scratch = new ScratchDatabases();
  const results: SizeResult[] = [];
  try {
    for (const [size, runs] of [args.runs, args.runs * args.scale].entries()) {
      // Named by size too: with --scale 1 both sizes have the same number of runs.
      const mlmdDb = scratch.name(`mlmd${runs}_${size}`);
      const kfpDb = scratch.name(`kfp${runs}_${size}`);
      log(`seeding ${runs} runs into ${mlmdDb} / ${kfpDb}`);
      const seeded = await seed(urlOf(mlmdDb), urlOf(kfpDb), runs);
      log(`seeded ${seeded.executions} executions, ${seeded.artifacts} artifacts, ${seeded.events} events in ${seeded.seconds.toFixed(1)} s; planning`);
      // Before migrate: over migrated runs plan would skip the reading it is here to measure.
      const planned = await plan(urlOf(mlmdDb), urlOf(kfpDb));
      log(`planned in ${planned.wallSeconds.toFixed(1)} s; migrating`);
      const migrated = await migrate(urlOf(mlmdDb), kfpDb, args);
      log(`migrated ${migrated.targetRows} target rows in ${migrated.wallSeconds.toFixed(1)} s; loading the ceiling`);
      const ceiling = await measureCeiling(kfpDb, scratch.name(`ceil${runs}_${size}`));
      const verified = hasVerify ? await verify(urlOf(mlmdDb), urlOf(kfpDb), migrated.targetRows) : null;
      const shim = args.shim ? await measureShim(urlOf(kfpDb), kfpDb, log) : null;
      results.push({
        runs,
        seeded,
        plan: planned,
        migrate: migrated,
        ceiling,
        ratio: migrated.rowsPerSecond / ceiling.rowsPerSecond,
        ratioBound: ceiling.loadSeconds / planned.wallSeconds,
        verify: verified,
        shim,
      });
    }
  } finally {
    await scratch.dropAll().catch((e) => log(`could not drop the scratch databases: ${(e as Error).message}`));
  }
  process.stdout.write(`${renderTable(machine, results)}\n`);
  process.stdout.write(`${JSON.stringify({ machine, results })}\n`);
}

main().catch((e) => {
  if (e instanceof BenchInputError) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
