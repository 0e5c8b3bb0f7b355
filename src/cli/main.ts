/**
 * The `mlmd-bridge` command line: wires each command to its module, prints a human summary (or one
 * JSON document with --json) and turns every failure into a clear message and the exit code of
 * design.md §5.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, isBridgeError } from '../errors.ts';
import { statementError } from '../db/orm.ts';
import { lastExitCode } from './exit.ts';
import { shardOption } from './shard-option.ts';
import { TOOL_VERSION } from '../version.ts';
import { HEAP_GROWING_PERCENT } from './heap-growth.ts';
import { DEFAULT_CONCURRENCY, DEFAULT_LOCK_WAIT_SECONDS } from '../migrate/defaults.ts';
import {
  DEFAULT_GRPC_PORT as DEFAULT_SHIM_GRPC_PORT,
  DEFAULT_GRPC_WEB_PORT as DEFAULT_SHIM_GRPC_WEB_PORT,
  DEFAULT_HOST as DEFAULT_SHIM_HOST,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
} from '../shim/defaults.ts';
import { DEFAULT_LIMITS, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from '../shim/limits.ts';
import { cutoverCommand, demoCommand, migrateCommand, stageCommand, planCommand, rollbackCommand, seedCommand, shimCommand, statusCommand, verifyCommand } from './commands.ts';

const HELP_FOOTER = `
Connection URLs:
  mysql://user:pass@host:port/db     MySQL 8 or MariaDB (KFP's metadb / mlpipeline)
  postgres://user:pass@host:port/db  PostgreSQL (port 5432 by default; ?sslmode=disable|require|verify-ca|verify-full),
                                     on either side: the MLMD database (--mlmd), the KFP database (--kfp), seed's databases
  sqlite:path/to/file.db             a SQLite file
  MLMD_DB_URL and KFP_DB_URL stand in for --mlmd and --kfp.

Exit codes:
  0  success
  1  verification drift, or records that were skipped or degraded (see --rejects)
  2  usage or connection error
  3  blocked by a precondition (MLMD schema version, lock held, target not a KFP database, target tables differ,
     stage after cut-over, cutover with nothing staged, status --require cutover not met)

Tuning (environment):
  MLMD_BRIDGE_WORKERS=n                 worker threads for migrate's reading and mapping and verify's checks
                                        (default: one per core beyond two; 0: none)
  MLMD_BRIDGE_HEAP_GROWING_PERCENT=p    let the JavaScript heap grow by p % between full collections
                                        (default ${HEAP_GROWING_PERCENT}; 0 leaves it to V8, which may use several times more memory)

Upgrade procedure (plan, stage, cutover, verify, start KFP 3 behind status --require cutover):
docs/staged-upgrade.md; every command in detail: docs/commands.md; every flag and environment variable
with its default: docs/configuration.md.`;

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1 (got "${v}")`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0 (got "${v}")`);
    return n;
  };
}

const mlmdOption = () => new Option('--mlmd <url>', 'MLMD database (source, opened read-only)').env('MLMD_DB_URL');

/**
 * How tasks.Fingerprint is filled: the options every command that maps runs takes. No commander
 * default: an option left out means "what the KFP database recorded", and only a database no
 * migration wrote into takes the documented default.
 */
function addMappingOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--fingerprints <mode>',
        'tasks.Fingerprint of SUCCEEDED containers: kfp3 = the key KFP 3 computes, so migrated tasks serve cache hits (each stored KFP 2.x fingerprint is recomputed first; ' +
          'one that does not reproduce keeps its MLMD value and is reported); mlmd = MLMD\'s cache_fingerprint, copied (never a KFP 3 hit). ' +
          'Default: kfp3, or what the first migrate into this KFP database recorded',
      ).choices(['kfp3', 'mlmd']),
    )
    .addOption(
      new Option(
        '--publish-logs <bool>',
        'the PUBLISH_LOGS setting of the KFP 3 deployment (part of every KFP 3 key: a wrong value means no hits). Default: true, or what the first migrate recorded',
      )
        .choices(['true', 'false'])
        // Replaces the choices' own parser, which would hand on the text: this one checks and converts.
        .argParser((v: string) => {
          if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`--publish-logs must be true or false (got "${v}")`);
          return v === 'true';
        }),
    );
}
/** `--metrics-port` of the batch commands (served by src/cli/job-metrics.ts while they run). */
const jobMetricsPortOption = () =>
  new Option(
    '--metrics-port <n>',
    'serve Prometheus metrics of the progress (runs done/total, rows written, rows/s, rejects by code) on GET /metrics at this port, on every interface, while running (0 picks a free one; default: none)',
  ).argParser(nonNegativeInt('--metrics-port'));
const kfpOption = () => new Option('--kfp <url>', 'KFP database (target: the KFP API server database)').env('KFP_DB_URL');

/** The options of every command that runs the migration pipeline (migrate, stage, cutover). */
function addRunOptions(cmd: Command): Command {
  return cmd
    .addOption(mlmdOption().makeOptionMandatory())
    .addOption(kfpOption().makeOptionMandatory())
    .option('--batch-size <n>', 'runs read and mapped per batch', positiveInt('--batch-size'), 100)
    .option('--concurrency <n>', 'batches in flight at once (two are written at once, the others read and mapped)', positiveInt('--concurrency'), DEFAULT_CONCURRENCY)
    .option('--rejects <file>', 'write every skipped, degraded or adjusted record (MLMD id, reason code) as NDJSON to this file')
    .option('--json', 'print one JSON document (the summary)');
}

export function buildProgram(out: (s: string) => void, err: (s: string) => void): Command {
  const program = new Command('mlmd-bridge')
    .description('Carry KFP 2.x run metadata from ML Metadata (MLMD) into the KFP 3 tables tasks, artifacts and artifact_tasks.')
    .version(TOOL_VERSION, '-V, --version', 'print the version of mlmd-bridge and exit')
    .addHelpText('after', HELP_FOOTER)
    .configureOutput({ writeOut: out, writeErr: err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const plan = program
    .command('plan')
    .description('read-only forecast: runs, rows per target table, orphan runs, non-KFP data by type, stored fingerprints reproduced, source schema version, blockers')
    .addOption(mlmdOption().makeOptionMandatory())
    .addOption(kfpOption().makeOptionMandatory())
    .option('--batch-size <n>', 'runs read per batch', positiveInt('--batch-size'), 100)
    .option('--json', 'print one JSON document')
    .addHelpText('after', '\nExample:\n  mlmd-bridge plan --mlmd mysql://root@mysql:3306/metadb --kfp mysql://root@mysql:3306/mlpipeline\n\nExit 0 when nothing blocks a migration, 3 when something does.')
    .action(async (o) => planCommand(o, out));
  addMappingOptions(plan);

  const migrate = addRunOptions(program.command('migrate'))
    .description('migrate every KFP run from MLMD into the KFP 3 tables; resumable and idempotent (re-run to resume or true up)')
    .addOption(jobMetricsPortOption())
    .addOption(shardOption())
    .addHelpText(
      'after',
      '\nExample:\n  mlmd-bridge migrate --mlmd mysql://root@mysql:3306/metadb --kfp mysql://root@mysql:3306/mlpipeline --rejects rejects.ndjson\n\n' +
        'The MLMD database is never written. Each run commits in one transaction with its checkpoint;\n' +
        'a killed migration resumes where it stopped. Exit 1 when records were skipped or degraded.\n\n' +
        '--fingerprints and --publish-logs are recorded by the first migrate into a KFP database and kept by every later one;\n' +
        'a later migrate given another value stops with exit 3 (rollback first to change them). See docs/cache-continuity.md.',
    )
    .action(async (o) => migrateCommand(o, out, err));
  addMappingOptions(migrate);

  const stage = addRunOptions(program.command('stage'))
    .description('staged upgrade, step 1 (KFP 2.x keeps serving): build the KFP 3 tables beside KFP 2.x\'s; re-run to true up (reads only what changed)')
    .addOption(jobMetricsPortOption())
    .addOption(shardOption())
    .addHelpText(
      'after',
      '\nExample:\n  mlmd-bridge stage --mlmd mysql://root@mysql:3306/metadb --kfp mysql://root@mysql:3306/mlpipeline\n\n' +
        `KFP 3's tasks table is built as tasks_kfp3_staged; KFP 2.x's tasks table is not touched. The first stage reads every run;\n` +
        'each later one reads only the runs whose MLMD records or run_details row changed since the last (new, finished,\n' +
        'deleted runs). Resumable after a kill. Then, with KFP 2.x stopped: mlmd-bridge cutover. See docs/staged-upgrade.md.\n\n' +
        'Exit 0 ok, 1 records skipped or degraded, 2 usage or connection, 3 blocked (lock held, already cut over: ALREADY_CUT_OVER).',
    )
    .action(async (o) => stageCommand(o, out, err));
  addMappingOptions(stage);

  const cutover = addRunOptions(program.command('cutover'))
    .description('staged upgrade, step 2 (KFP 2.x stopped): a last true-up, then swap the staged tasks table in atomically')
    .option(
      '--lock-wait <seconds>',
      'the most the swap waits for a session still using tasks (KFP 2.x not stopped, a client left in a transaction); past it: LOCK_HELD, exit 3, nothing swapped',
      positiveInt('--lock-wait'),
      DEFAULT_LOCK_WAIT_SECONDS,
    )
    .addHelpText(
      'after',
      '\nExample:\n  mlmd-bridge cutover --mlmd mysql://root@mysql:3306/metadb --kfp mysql://root@mysql:3306/mlpipeline\n\n' +
        'Takes the migration lock, trues up, then renames tasks to tasks_v1_backup and tasks_kfp3_staged to tasks in one step\n' +
        "(one RENAME TABLE on MySQL, one transaction on PostgreSQL and SQLite; every index and constraint then has KFP 3's name). Killed at any point, the database is before or after the swap; re-run to finish.\n" +
        'rollback swaps back. Exit 0 ok, 1 records skipped or degraded, 2 usage or connection, 3 blocked (lock held, or tasks\n' +
        'still used by another session after --lock-wait seconds: LOCK_HELD, naming the sessions where the server tells;\n' +
        'nothing staged: NOT_STAGED; a name the swap needs held by another table or index: TARGET_SCHEMA_MISMATCH).',
    )
    .action(async (o) => cutoverCommand(o, out, err));
  addMappingOptions(cutover);

  program
    .command('verify')
    .description('prove migration fidelity: compare every run\'s MLMD records with reverse(KFP rows), field by field, and check the KFP tables\' invariants')
    .addOption(mlmdOption().makeOptionMandatory())
    .addOption(kfpOption().makeOptionMandatory())
    .option('--runs <ids>', 'check only these run UUIDs (comma-separated)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--sample <n>', 'check only N runs spread evenly over all runs (a quick check; a full verify belongs in every upgrade)', positiveInt('--sample'))
    .option('--batch-size <n>', 'runs read per batch', positiveInt('--batch-size'), 100)
    .option('--report <file>', 'write a JUnit XML report, one test case per run, for CI systems')
    .option('--json', 'print one JSON document (the full report)')
    .addHelpText(
      'after',
      '\nExample:\n  mlmd-bridge verify --mlmd mysql://root@mysql:3306/metadb --kfp mysql://root@mysql:3306/mlpipeline --report verify.xml\n\n' +
        'Every difference is either a documented lossy transformation (listed in docs/mapping.md with its reason) or drift.\n' +
        'Exit 0 when everything matches, 1 on drift (named by run, MLMD id and field), 2/3 on usage, connection or precondition errors.',
    )
    .action(async (o) => verifyCommand(o, out));

  program
    .command('status')
    .description('migrated? staged? cut over? complete? by which version? with row and reject counts; --require cutover: the startup gate of KFP 3')
    .addOption(kfpOption().makeOptionMandatory())
    .addOption(new Option('--mlmd <url>', 'MLMD database (read-only): with it, status also counts the runs changed since the last true-up (pending)').env('MLMD_DB_URL'))
    .addOption(new Option('--require <state>', 'exit 0 only in this state, else 3 with one line saying what is missing (cutover: cut over and, with --mlmd, nothing pending)').choices(['cutover']))
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      '\nAs the initContainer of KFP 3\'s API server:\n  mlmd-bridge status --kfp mysql://root@mysql:3306/mlpipeline --mlmd mysql://root@mysql:3306/metadb --require cutover\n\n' +
        'Exit 0 cut over and nothing pending; 3 not cut over yet, or runs changed since the last true-up (one line says which);\n' +
        '2 usage or connection error. Without --require, status exits 0 whatever the state.',
    )
    .action(async (o) => statusCommand(o, out, err));

  program
    .command('rollback')
    .description('remove exactly what migrate wrote and restore the KFP 2.x tasks table')
    .addOption(kfpOption().makeOptionMandatory())
    .option('--json', 'print one JSON document')
    .action(async (o) => rollbackCommand(o, out));

  program
    .command('shim')
    .description('serve the MLMD gRPC API (ml_metadata.MetadataStoreService) to legacy clients such as the KFP UI, from the KFP 3 tables, an MLMD archive, or both')
    .addOption(new Option('--kfp <url>', 'KFP database: serve migrated and KFP-3-native runs through the reverse mapping').env('KFP_DB_URL'))
    .addOption(new Option('--mlmd <url>', 'MLMD database: serve it as it is, read-only (an archive of what was not migrated)').env('MLMD_DB_URL'))
    .option('--host <host>', 'address to listen on', DEFAULT_SHIM_HOST)
    .option('--port <n>', 'gRPC port (MLMD\'s own port; 0 picks a free one)', nonNegativeInt('--port'), DEFAULT_SHIM_GRPC_PORT)
    .option('--grpc-web-port <n>', 'gRPC-Web port, where the KFP UI\'s proxy connects (0 picks a free one)', nonNegativeInt('--grpc-web-port'), DEFAULT_SHIM_GRPC_WEB_PORT)
    .addOption(new Option('--log-format <format>', 'one log line per call on stderr: JSON objects (for log collectors) or plain text').choices(['json', 'text']).default('json'))
    .option('--max-request-bytes <n>', 'largest request accepted, in bytes (gRPC\'s default, as MLMD\'s server); larger: RESOURCE_EXHAUSTED', positiveInt('--max-request-bytes'), DEFAULT_LIMITS.maxRequestBytes)
    .option('--max-ids <n>', 'most ids, URIs or external ids one request may name; more: RESOURCE_EXHAUSTED', positiveInt('--max-ids'), DEFAULT_LIMITS.maxIdsPerRequest)
    .option('--max-page-size <n>', 'largest page a listing answers; a larger max_result_size is capped (as MLMD caps it at 100)', positiveInt('--max-page-size'), DEFAULT_LIMITS.maxPageSize)
    .option('--max-work <steps>', 'work one call may do evaluating filter_query or walking lineage (nodes, rows and characters looked at); more: RESOURCE_EXHAUSTED', positiveInt('--max-work'), DEFAULT_LIMITS.maxWorkSteps)
    .option('--cors-origin <origins>', 'browser origins allowed to call the gRPC-Web port (comma-separated, or * for any); default: none, no CORS headers', (v: string) =>
      v.split(',').map((x) => x.trim()).filter(Boolean),
    )
    .option('--metrics-port <n>', 'serve Prometheus metrics (calls and latency per RPC, errors by status, cache hits, database pool use) on GET /metrics at this port (0 picks a free one; default: none)', nonNegativeInt('--metrics-port'))
    .option('--shutdown-timeout <seconds>', 'the longest the shim takes to stop after SIGTERM; calls still running 3 s before it are cancelled (UNAVAILABLE)', positiveInt('--shutdown-timeout'), DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000)
    .addHelpText(
      'after',
      '\nBackends:\n' +
        '  --kfp URL           the KFP 3 tables (tasks, artifacts, artifact_tasks) shown as MLMD records, with the legacy\n' +
        '                      MLMD ids kept by migrate in mlmd_id_map, so old links such as /executions/details/:id keep working.\n' +
        '                      Rows KFP 3 created after the migration get ids above every MLMD id on first sight; they are stored\n' +
        '                      in the table mlmd_bridge_shim_ids, the only thing the shim writes (it needs write access for that\n' +
        '                      table alone; everything else is read-only).\n' +
        '  --mlmd URL          an MLMD database, read-only and unchanged (TFX runs, KFP v1 runs, or everything before a migration).\n' +
        '  --kfp URL --mlmd URL  both: the KFP tables win for every id they hold, the archive fills in the rest.\n' +
        '\nServed: MetadataStoreService over gRPC (--port) and gRPC-Web (--grpc-web-port); grpc.health.v1.Health and server\n' +
        'reflection on the gRPC port. Writes (Put*) answer UNIMPLEMENTED.\n' +
        '\nPoint the KFP UI at the gRPC-Web port: set METADATA_ENVOY_SERVICE_SERVICE_HOST and METADATA_ENVOY_SERVICE_SERVICE_PORT\n' +
        'on the ml-pipeline-ui deployment to this host and --grpc-web-port (no Envoy needed). Other gRPC clients use\n' +
        'metadata-grpc-service:8080 as before: point that Service at --port.\n' +
        '\nExample:\n  mlmd-bridge shim --kfp mysql://root@mysql:3306/mlpipeline --mlmd mysql://root@mysql:3306/metadb\n' +
        `\nLimits: a filter_query longer than ${MAX_FILTER_LENGTH} characters or nested deeper than ${MAX_FILTER_DEPTH} levels is INVALID_ARGUMENT;\n` +
        'a gRPC-Web request body must arrive within 10 s. Each call obeys its deadline and its client\'s cancellation (its\n' +
        'database statements are stopped too). See docs/shim.md for every limit and what a client gets over it.\n' +
        '\nRuns until SIGTERM or SIGINT, then answers new calls UNAVAILABLE, lets calls in flight finish, cancels those still\n' +
        'running 3 s before --shutdown-timeout, closes its database connections and exits 0 within --shutdown-timeout.',
    )
    .action(async (o) => shimCommand(o, out));

  program
    .command('seed')
    .description('write a KFP-2.x-shaped MLMD database and a KFP 2.x database (sample data covering every shape KFP 2.x writes)')
    .addOption(mlmdOption().makeOptionMandatory())
    .addOption(kfpOption().makeOptionMandatory())
    .option('--runs <n>', 'number of runs', nonNegativeInt('--runs'), 24)
    .option('--seed <s>', 'random seed (same seed, same data)', nonNegativeInt('--seed'), 1)
    .addOption(new Option('--schema-version <v>', 'MLMD schema version to write').choices(['8', '9', '10']).default('10'))
    .option('--hostile', 'also plant bad records (orphan runs, TFX and KFP v1 data, corrupt values, dangling ids, oversized strings, an unreadable manifest)')
    .option('--json', 'print one JSON document')
    .action(async (o) => seedCommand(o, out));

  program
    .command('demo')
    .description('seed, migrate and verify on SQLite files under .demo/ (no database server needed)')
    .option('--dir <dir>', 'where the SQLite files go', '.demo')
    .option('--runs <n>', 'number of runs to seed', nonNegativeInt('--runs'), 24)
    .option('--json', 'print one JSON document')
    .action(async (o) => demoCommand(o, out, err));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const err = (s: string) => process.stderr.write(s);
  const program = buildProgram(out, err);
  try {
    lastExitCode.value = EXIT.OK;
    await program.parseAsync(argv);
    return lastExitCode.value;
  } catch (thrown) {
    const e = statementError(thrown);
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE_OR_CONNECTION;
    }
    if (isBridgeError(e)) {
      err(`mlmd-bridge: error [${e.code}]: ${e.message}\n`);
      if (e.hint) err(`  what to do: ${e.hint}\n`);
      return e.exitCode;
    }
    err(`mlmd-bridge: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.USAGE_OR_CONNECTION;
  }
}
