/**
 * `npm run bench [-- --runs N]`: seeds KFP-shaped MLMD databases on MariaDB at two sizes (N and
 * N×scale runs), then measures side by side: plan (read + map alone, the floor under migrate),
 * migrate (rows/s, wall time, peak RSS), the LOAD DATA ceiling for the same rows, their ratio,
 * verify and the shim when this checkout has them, what recomputing fingerprints costs the mapping
 * (bench/fingerprints.ts), and the staged upgrade: stage, true-ups and the cut-over outage (bench/stage.ts),
 * with the KFP database on MariaDB and on PostgreSQL (bench/postgres.ts). Prints a table and one JSON line; everything it
 * creates lives in scratch databases and temp files that are removed at the end (or on Ctrl-C), so
 * nothing is written into the repository.
 */
import { BenchInputError, parseArgs } from './args.ts';
import { measureCeiling, removeCeilingFiles } from './ceiling.ts';
import { cliHasCommand, stopAllCommands } from './child.ts';
import { renderTable, type SizeResult } from './report.ts';
import { copyDatabase, machineFacts, MARIADB_KFP, ScratchDatabases, urlOf } from './scratch.ts';
import { measureShim } from './shim.ts';
import { measureFingerprints } from './fingerprints.ts';
import { migrate, plan, seed, verify } from './workloads.ts';
import { measurePostgres, POSTGRES_SCRATCH } from './postgres.ts';
import { measureStaged } from './stage.ts';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Set once a signal arrived: the interrupt handler then owns clean-up and the exit. */
let interrupted = false;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = await machineFacts();
  const hasVerify = await cliHasCommand('verify');
  const scratch = new ScratchDatabases();
  const pgScratch = scratch.on(POSTGRES_SCRATCH);
  onInterrupt(scratch, pgScratch);
  const results: SizeResult[] = [];
  try {
    for (const [size, runs] of [args.runs, args.runs * args.scale].entries()) {
      // Named by size too: with --scale 1 both sizes have the same number of runs.
      const mlmdDb = scratch.name(`mlmd${runs}_${size}`);
      const kfpDb = scratch.name(`kfp${runs}_${size}`);
      log(`seeding ${runs} runs into ${mlmdDb} / ${kfpDb}`);
      const seeded = await seed(urlOf(mlmdDb), urlOf(kfpDb), runs);
      // The staged upgrade gets its own copy of the KFP 2.x database: migrate below moves this one's tasks table aside.
      const stageDb = scratch.name(`stg${runs}_${size}`);
      await copyDatabase(kfpDb, stageDb);
      log(`seeded ${seeded.executions} executions, ${seeded.artifacts} artifacts, ${seeded.events} events in ${seeded.seconds.toFixed(1)} s; planning`);
      // Before migrate: over migrated runs plan would skip the reading it is here to measure.
      const planned = await plan(urlOf(mlmdDb), urlOf(kfpDb));
      log(`planned in ${planned.wallSeconds.toFixed(1)} s; mapping every run with and without fingerprint recomputation`);
      const fingerprints = await measureFingerprints(urlOf(mlmdDb), urlOf(kfpDb));
      log(`mapped ${fingerprints.runs} runs: kfp3 / mlmd ${(fingerprints.ratio * 100).toFixed(0)} %; migrating`);
      const migrated = await migrate(urlOf(mlmdDb), kfpDb, args);
      log(`migrated ${migrated.targetRows} target rows in ${migrated.wallSeconds.toFixed(1)} s; loading the ceiling`);
      const ceiling = await measureCeiling(kfpDb, scratch.name(`ceil${runs}_${size}`));
      const verified = hasVerify ? await verify(urlOf(mlmdDb), urlOf(kfpDb), migrated.targetRows) : null;
      const shim = args.shim ? await measureShim(urlOf(kfpDb), kfpDb, log) : null;
      // PostgreSQL's staged upgrade writes its 1 % change into a copy of the MLMD database, so MariaDB's below starts from the same records.
      const mlmdCopy = async () => {
        const copy = scratch.name(`mlmdpg${runs}_${size}`);
        await copyDatabase(mlmdDb, copy);
        return urlOf(copy);
      };
      const postgres = await measurePostgres(pgScratch, urlOf(mlmdDb), mlmdCopy, runs, size, log);
      if (postgres.available) {
        log(`postgres: ${postgres.targetRows} rows, migrate ${postgres.migrateWallSeconds.toFixed(1)} s, COPY ${postgres.ceilingLoadSeconds.toFixed(1)} s, cut-over after 1 % ${postgres.staged.cutoverChanged.toFixed(1)} s`);
      }
      log('staging, truing up, cutting over');
      const staged = await measureStaged(urlOf(mlmdDb), MARIADB_KFP, stageDb, (purpose) => scratch.name(`${purpose}${runs}_${size}`), runs);
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
        fingerprints,
        postgres,
        staged,
      });
    }
  } finally {
    if (!interrupted) {
      await scratch.dropAll().catch((e) => log(`could not drop the scratch databases: ${(e as Error).message}`));
      await pgScratch.dropAll().catch((e) => log(`could not drop the PostgreSQL scratch databases: ${(e as Error).message}`));
    }
  }
  process.stdout.write(`${renderTable(machine, results)}\n`);
  process.stdout.write(`${JSON.stringify({ machine, results })}\n`);
}

/**
 * Ctrl-C or SIGTERM mid-run: stop the commands being measured, end the sessions still on the scratch
 * databases and drop them, and remove the ceiling's row files, so an interrupted bench leaves nothing behind.
 */
function onInterrupt(scratch: ScratchDatabases, pgScratch: ScratchDatabases): void {
  const stop = (signal: NodeJS.Signals, exitCode: number) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the running command and dropping the scratch databases`);
    removeCeilingFiles();
    void stopAllCommands()
      .then(() => scratch.dropAll({ endSessions: true }))
      .then(() => pgScratch.dropAll())
      .catch((e: unknown) => log(`could not drop the scratch databases: ${(e as Error).message}`))
      .finally(() => process.exit(exitCode));
  };
  process.once('SIGINT', () => stop('SIGINT', 130));
  process.once('SIGTERM', () => stop('SIGTERM', 143));
}

main().catch((e) => {
  if (interrupted) return; // the work failed because it was stopped; the handler reports and exits
  if (e instanceof BenchInputError) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
