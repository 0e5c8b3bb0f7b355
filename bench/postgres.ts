/**
 * The same runs migrated into a KFP database on PostgreSQL, beside MariaDB's figures, with
 * PostgreSQL's own ceiling: the very rows migrate wrote, loaded with `COPY … FROM STDIN` into empty
 * copies of the three KFP 3 tables (FK triggers off, as LOAD DATA's ceiling has its FK checks off;
 * rows in primary-key order). Only the loads are timed.
 *
 * The KFP 2.x side (run_details and the v1 tasks table) is seeded on PostgreSQL with the same seed
 * and number of runs as the MariaDB one, so the run_details rows are the same; the MLMD source is the
 * MariaDB database the rest of the bench reads, so both migrations read the same records.
 *
 * Then the staged upgrade (bench/stage.ts) into a copy of the same KFP 2.x database, as on MariaDB,
 * reading its own copy of the MLMD database: the 1 % change writes MLMD, and MariaDB's staged
 * figures are taken from the untouched one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createTableStatements, TARGET_TABLES, type TargetTable } from '../src/load/schema.ts';
import { runCliMeasured } from './child.ts';
import { type ScratchDatabases, type ScratchServer, type Server, urlOf } from './scratch.ts';
import { type KfpServer, measureStaged, type StagedFigures } from './stage.ts';
import { seed } from './workloads.ts';

export const PG_SERVER: Server = {
  host: process.env.MB_BENCH_PG_HOST ?? '127.0.0.1',
  port: Number(process.env.MB_BENCH_PG_PORT ?? 5432),
  user: process.env.MB_BENCH_PG_USER ?? 'postgres',
  password: process.env.MB_BENCH_PG_PASSWORD ?? '',
};

const pgUrlOf = (database: string) => urlOf(database, PG_SERVER, 'postgres');

export type PostgresResult =
  | { available: false; reason: string }
  | {
      available: true;
      server: string;
      targetRows: number;
      migrateWallSeconds: number;
      migrateRowsPerSecond: number;
      migratePeakRssMiB: number | null;
      ceilingLoadSeconds: number;
      ceilingRowsPerSecond: number;
      /** migrate rows/s ÷ COPY rows/s. */
      ratio: number;
      staged: StagedFigures;
    };

/** PostgreSQL's scratch databases. WITH (FORCE) ends the sessions still on them, an interrupted command's among them. */
export const POSTGRES_SCRATCH: ScratchServer = {
  prefix: 'pg_',
  async drop(names) {
    const c = await client('postgres');
    try {
      for (const n of names) await c.query(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  },
};

/**
 * The staged upgrade's KFP databases on PostgreSQL. A copy is CREATE DATABASE … TEMPLATE, which
 * needs the source without sessions: the commands measured have exited by then.
 */
export const POSTGRES_KFP: KfpServer = {
  url: pgUrlOf,
  async copy(from, to) {
    const c = await client('postgres');
    try {
      await c.query(`CREATE DATABASE "${to}" TEMPLATE "${from}"`);
    } finally {
      await c.end();
    }
  },
};

async function client(database: string): Promise<pg.Client> {
  const c = new pg.Client({ ...PG_SERVER, database });
  await c.connect();
  return c;
}

/**
 * Migrates the MLMD database `mlmdUrl` (seeded with `runs` runs, seed 1) into a fresh PostgreSQL KFP
 * database, loads the COPY ceiling, then measures the staged upgrade reading the MLMD copy that
 * `mlmdCopy` makes (its URL).
 */
export async function measurePostgres(
  scratch: ScratchDatabases,
  mlmdUrl: string,
  mlmdCopy: () => Promise<string>,
  runs: number,
  size: number,
  log: (s: string) => void,
): Promise<PostgresResult> {
  let server: string;
  try {
    const c = await client('postgres');
    server = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    await c.end();
  } catch (e) {
    return { available: false, reason: `no PostgreSQL at ${PG_SERVER.host}:${PG_SERVER.port} (${(e as Error).message}); set MB_BENCH_PG_HOST/PORT/USER/PASSWORD` };
  }
  const kfpDb = scratch.name(`kfp${runs}_${size}`);
  // The KFP 2.x tables for the same runs (the seed is deterministic); the MLMD copy written beside them is not read.
  const throwaway = mkdtempSync(join(tmpdir(), 'mb-bench-pg-'));
  try {
    await seed(`sqlite:${join(throwaway, 'mlmd.db')}`, pgUrlOf(kfpDb), runs);
  } finally {
    rmSync(throwaway, { recursive: true, force: true });
  }
  // The staged upgrade's own KFP 2.x database: migrate moves this one's tasks table aside.
  const stageDb = scratch.name(`stg${runs}_${size}`);
  await POSTGRES_KFP.copy(kfpDb, stageDb);
  log(`postgres: migrating ${runs} runs into ${kfpDb}`);
  const r = await runCliMeasured(['migrate', '--mlmd', mlmdUrl, '--kfp', pgUrlOf(kfpDb), '--json']);
  if (r.code !== 0) throw new Error(`migrate into PostgreSQL exited ${r.code}: ${r.stderr.trim() || r.stdout.slice(0, 2000)}`);
  const ceilingDb = scratch.name(`ceil${runs}_${size}`);
  const ceiling = await copyCeiling(kfpDb, ceilingDb);
  const migrateRowsPerSecond = ceiling.totalRows / r.wallSeconds;
  const ceilingRowsPerSecond = ceiling.totalRows / ceiling.loadSeconds;
  log(`postgres: staging, truing up, cutting over in ${stageDb}`);
  const staged = await measureStaged(await mlmdCopy(), POSTGRES_KFP, stageDb, (purpose) => scratch.name(`${purpose}${runs}_${size}`), runs);
  return {
    available: true,
    server,
    targetRows: ceiling.totalRows,
    migrateWallSeconds: r.wallSeconds,
    migrateRowsPerSecond,
    migratePeakRssMiB: r.peakRssMiB,
    ceilingLoadSeconds: ceiling.loadSeconds,
    ceilingRowsPerSecond,
    ratio: migrateRowsPerSecond / ceilingRowsPerSecond,
    staged,
  };
}

/** Copies the migrated rows out (COPY TO STDOUT, in key order) and times loading them into empty tables (COPY FROM STDIN). */
async function copyCeiling(migratedDb: string, ceilingDb: string): Promise<{ totalRows: number; loadSeconds: number }> {
  const exported = new Map<TargetTable, Buffer>();
  const counts = new Map<TargetTable, number>();
  const source = await client(migratedDb);
  let runDetails: Buffer;
  let runDetailsDdl: string[];
  try {
    for (const table of TARGET_TABLES) {
      exported.set(table, await copyOut(source, `COPY (SELECT * FROM "${table}" ORDER BY "UUID") TO STDOUT`));
      counts.set(table, Number((await source.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${table}"`)).rows[0]!.n));
    }
    runDetails = await copyOut(source, 'COPY run_details TO STDOUT');
    // run_details as it is, for the FKs to point at: its columns and primary key.
    const cols = await source.query<{ name: string; type: string }>(
      "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = 'run_details'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    );
    runDetailsDdl = [`CREATE TABLE run_details (${cols.rows.map((c) => `"${c.name}" ${c.type}`).join(', ')}, PRIMARY KEY ("UUID"))`];
  } finally {
    await source.end();
  }
  const admin = await client('postgres');
  try {
    await admin.query(`CREATE DATABASE "${ceilingDb}" TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await admin.end();
  }
  const c = await client(ceilingDb);
  try {
    for (const sql of runDetailsDdl) await c.query(sql);
    await copyIn(c, 'COPY run_details FROM STDIN', runDetails);
    for (const table of TARGET_TABLES) for (const sql of createTableStatements(table, 'postgres')) await c.query(sql);
    // FK checks off for the loads, as the MariaDB ceiling has them: a child task may come before its parent in UUID order.
    await c.query('SET session_replication_role = replica');
    let seconds = 0;
    let total = 0;
    for (const table of TARGET_TABLES) {
      const started = process.hrtime.bigint();
      await copyIn(c, `COPY "${table}" FROM STDIN`, exported.get(table)!);
      seconds += Number(process.hrtime.bigint() - started) / 1e9;
      const loaded = Number((await c.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${table}"`)).rows[0]!.n);
      if (loaded !== counts.get(table)) throw new Error(`ceiling: COPY put ${loaded} rows into ${table}, expected ${counts.get(table)}`);
      total += loaded;
    }
    return { totalRows: total, loadSeconds: seconds };
  } finally {
    await c.end();
  }
}

async function copyOut(c: pg.Client, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = c.query(copyTo(sql));
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function copyIn(c: pg.Client, sql: string, data: Buffer): Promise<void> {
  await pipeline(Readable.from([data]), c.query(copyFrom(sql)));
}
