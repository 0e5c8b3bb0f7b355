/**
 * The benchmark itself: end to end at a tiny size, and its ceiling load whatever the server's
 * local_infile. In one file on purpose: the ceiling test changes local_infile server-wide, and
 * tests of one file run one after another, so the bench run never loads while it is switched.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureCeiling } from '../bench/ceiling.ts';
import { databaseServerPid, processCpuSeconds } from '../bench/cpu.ts';
import type { StagedFigures } from '../bench/stage.ts';
import { openDb } from '../src/db/connection.ts';
import { TARGET_TABLES } from '../src/load/schema.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { type CliResult, startProcess } from './helpers/cli.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, type TempDatabase, tempMariaDb } from './helpers/databases.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const server = () => mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER });
const dbName = (t: TempDatabase) => t.url.slice(t.url.lastIndexOf('/') + 1);
const localInfile = async (c: mysql.Connection) => {
  const [[row]] = (await c.query('SELECT @@GLOBAL.local_infile AS v')) as unknown as [[{ v: number }]];
  return Number(row.v);
};

/**
 * The scratch databases of the bench run whose stderr this is: its names end in a tag of its own
 * (bench/scratch.ts). Other worktrees' bench tests share the server and the mb_bench_ prefix.
 */
function ownTag(stderr: string): string {
  const tag = /seeding \d+ runs into mb_bench_\w+_([0-9a-f]{6}) /.exec(stderr)?.[1];
  if (tag === undefined) throw new Error(`no scratch database named in the bench's stderr:\n${stderr}`);
  return tag;
}
const ownDatabases = async (tag: string) => (await benchDatabases()).filter((d) => d.endsWith(`_${tag}`));

async function benchDatabases(): Promise<string[]> {
  const c = await server();
  try {
    const [rows] = (await c.query("SHOW DATABASES LIKE 'mb\\_bench\\_%'")) as unknown as [Record<string, string>[]];
    return rows.map((r) => Object.values(r)[0]!);
  } finally {
    await c.end();
  }
}

function bench(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startProcess(process.execPath, ['--import', 'tsx', 'bench/bench.ts', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      MB_BENCH_MYSQL_HOST: MARIADB_HOST,
      MB_BENCH_MYSQL_PORT: String(MARIADB_PORT),
      MB_BENCH_MYSQL_USER: MARIADB_USER,
      MB_BENCH_PG_HOST: POSTGRES_HOST,
      MB_BENCH_PG_PORT: String(POSTGRES_PORT),
      MB_BENCH_PG_USER: POSTGRES_USER,
      ...env,
    },
  }).done;
}

describe('npm run bench', () => {
  it('runs both sizes (here the same size twice: --scale 1), prints the table and one JSON line, and drops its databases', async () => {
    const r = await bench(['--runs', '3', '--scale', '1', '--no-shim']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('RATIO migrate / ceiling');
    expect(r.stdout).toContain('BOUND on migrate / ceiling: ceiling / plan time');
    const json = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      results: {
        runs: number;
        plan: { exitCode: number; wallSeconds: number; peakRssMiB: number | null };
        migrate: { targetRows: number };
        ceiling: { totalRows: number; loadSeconds: number };
        ratio: number;
        ratioBound: number;
        verify: { exitCode: number } | null;
        fingerprints: { runs: number; mlmdMs: number; kfp3Ms: number; tally: { stored: number; reproduced: number } };
        postgres: { available: boolean; targetRows: number; migrateRowsPerSecond: number; ceilingRowsPerSecond: number; ratio: number; staged: StagedFigures };
        staged: StagedFigures;
      }[];
    };
    expect(json.results.map((x) => x.runs)).toEqual([3, 3]);
    for (const size of json.results) {
      expect(size.migrate.targetRows).toBeGreaterThan(0);
      // The ceiling loads exactly the rows migrate wrote.
      expect(size.ceiling.totalRows).toBe(size.migrate.targetRows);
      expect(size.ratio).toBeGreaterThan(0);
      // plan ran (before migrate, over the same databases) and the bound is derived from its own figures.
      expect(size.plan.exitCode).toBe(0);
      expect(size.plan.peakRssMiB).toBeGreaterThan(0);
      expect(size.ratioBound).toBeCloseTo(size.ceiling.loadSeconds / size.plan.wallSeconds, 10);
      expect(size.verify?.exitCode).toBe(0);
      // Every run mapped both ways; the seeded fingerprints all reproduce.
      expect(size.fingerprints.runs).toBe(3);
      expect(size.fingerprints.tally.stored).toBeGreaterThan(0);
      expect(size.fingerprints.tally.reproduced).toBe(size.fingerprints.tally.stored);
      expect(size.fingerprints.mlmdMs).toBeGreaterThan(0);
      expect(size.fingerprints.kfp3Ms).toBeGreaterThan(0);
      // The same runs migrated into PostgreSQL give the same rows, and its COPY ceiling loads exactly those.
      expect(size.postgres.available).toBe(true);
      expect(size.postgres.targetRows).toBe(size.migrate.targetRows);
      expect(size.postgres.ratio).toBeCloseTo(size.postgres.migrateRowsPerSecond / size.postgres.ceilingRowsPerSecond, 10);
      // The staged upgrade on both KFP databases, the same 1 % of the same runs changed on each (3 runs: one of each kind at most).
      for (const staged of [size.staged, size.postgres.staged]) {
        expect(staged.changed.runs).toBe(3);
        expect(staged.changed.added + staged.changed.finished + staged.changed.deleted).toBe(staged.changed.runs);
        expect(staged.changed.added).toBe(1);
        // The true-up after the change read at least the new run again.
        expect(staged.changedTrueUpRuns).toBeGreaterThanOrEqual(staged.changed.added);
        for (const wall of [staged.full, staged.idleTrueUp, staged.changedTrueUp]) expect(wall).toBeGreaterThan(0);
        // Each cut-over's wall time holds its swap.
        expect(staged.swapSeconds.idle).toBeGreaterThan(0);
        expect(staged.cutoverIdle).toBeGreaterThan(staged.swapSeconds.idle);
        expect(staged.swapSeconds.changed).toBeGreaterThan(0);
        expect(staged.cutoverChanged).toBeGreaterThan(staged.swapSeconds.changed);
      }
      expect(size.postgres.staged.changed).toEqual(size.staged.changed);
    }
    expect(r.stdout).toContain('CUT-OVER OUTAGE after 1 % changed (swap alone)');
    expect(r.stdout).toContain('PostgreSQL KFP database: CUT-OVER OUTAGE after 1 % changed (swap alone)');
    expect(r.stdout).toContain('RATIO mapping kfp3 / mlmd (cost of recomputing)');
    expect(r.stdout).toContain('RATIO migrate / COPY ceiling');
    const tag = ownTag(r.stderr);
    const pg = new PgClient({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: 'postgres' });
    await pg.connect();
    try {
      expect((await pg.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`mb\\_bench\\_pg\\_%\\_${tag}`])).rows).toEqual([]);
    } finally {
      await pg.end();
    }
    expect(await ownDatabases(ownTag(r.stderr))).toEqual([]);
  }, 180_000);
});

describe('npm run bench, interrupted', () => {
  // Signalled once its stderr shows it reached a phase: seeding runs in the bench's own process, migrate in a child.
  for (const [phase, signal, exitCode] of [['seeding', 'SIGINT', 130], ['migrating', 'SIGTERM', 143]] as const) {
    it(`${signal} while ${phase}: stops, drops every scratch database it made and exits ${exitCode}`, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', '--runs', '400', '--scale', '1', '--no-shim'], {
        cwd: ROOT,
        env: { ...process.env, MB_BENCH_MYSQL_HOST: MARIADB_HOST, MB_BENCH_MYSQL_PORT: String(MARIADB_PORT), MB_BENCH_MYSQL_USER: MARIADB_USER },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let signalled = false;
      const madeDuringRun = new Set<string>();
      child.stderr.on('data', (d) => {
        stderr += d;
        if (!signalled && new RegExp(`bench: .*; ${phase}$|bench: ${phase} `, 'm').test(stderr)) {
          signalled = true;
          // Let the phase get going (databases created, rows in flight) before the signal.
          setTimeout(async () => {
            for (const db of await ownDatabases(ownTag(stderr))) madeDuringRun.add(db);
            child.kill(signal);
          }, 700);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(signalled, stderr).toBe(true);
      expect(code, stderr).toBe(exitCode);
      expect(stderr).toContain(`bench: ${signal}: stopping the running command and dropping the scratch databases`);
      expect(stderr).not.toContain('could not drop');
      expect(madeDuringRun.size, 'the phase had created its databases when the signal came').toBeGreaterThan(0);
      expect(await ownDatabases(ownTag(stderr))).toEqual([]);
    }, 120_000);
  }
});

describe('npm run bench: its command line', () => {
  it.each([
    [['--runs', '0'], '--runs needs a whole number ≥ 1 (got "0")'],
    [['--runs=0'], '--runs needs a whole number ≥ 1 (got "0")'],
    [['--scale', 'ten'], '--scale needs a whole number ≥ 1 (got "ten")'],
    [['--batch-size'], '--batch-size needs a whole number ≥ 1 (got "nothing")'],
    [['--bogus'], 'unknown option --bogus (try --help)'],
  ])('refuses %j with exit 2 and one line naming the bad input, no stack, before touching a database', async (args, message) => {
    const r = await bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bench: ${message}\n`);
    expect(r.stdout).toBe('');
  });

  it('says which server it could not reach and how to name another, with exit 2', async () => {
    // Port 1 on loopback: nothing listens there.
    const r = await bench(['--runs', '1'], { MB_BENCH_MYSQL_PORT: '1' });
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(`bench: cannot connect to MariaDB/MySQL at ${MARIADB_HOST}:1 as ${MARIADB_USER} (ECONNREFUSED): `), r.stderr).toBe(true);
    expect(r.stderr).toContain('MB_BENCH_MYSQL_PORT');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--help says what it measures and where the server is', async () => {
    const r = await bench(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const word of ['--runs', '--scale', 'plan', 'migrate', 'LOAD DATA', 'verify', 'shim', 'MB_BENCH_MYSQL_HOST', 'PostgreSQL', 'MB_BENCH_PG_HOST']) expect(r.stdout).toContain(word);
  });
});

describe('bench ceiling', () => {
  const dbs: TempDatabase[] = [];
  let kfp: TempDatabase;
  let written: Record<string, number>;
  let original: number;

  beforeAll(async () => {
    const mlmd = await tempMariaDb('ceil_mlmd');
    kfp = await tempMariaDb('ceil_kfp');
    dbs.push(mlmd, kfp);
    const m = await openDb(mlmd.url, { create: true });
    const k = await openDb(kfp.url, { create: true });
    await seedDatabases(m, k, { runs: 6, seed: 5 });
    await m.close();
    await k.close();
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
    const c = await server();
    try {
      original = await localInfile(c);
      written = {};
      for (const t of TARGET_TABLES) {
        const [[n]] = (await c.query(`SELECT COUNT(*) AS n FROM \`${dbName(kfp)}\`.\`${t}\``)) as unknown as [[{ n: number }]];
        written[t] = Number(n.n);
      }
    } finally {
      await c.end();
    }
  });
  afterAll(async () => {
    const c = await server();
    try {
      await c.query(`SET GLOBAL local_infile = ${original}`);
    } finally {
      await c.end();
    }
    for (const d of dbs) await d.drop();
  });

  for (const setting of [1, 0]) {
    it(`loads every row migrate wrote with local_infile ${setting ? 'on' : 'off'}, and leaves the setting as it found it`, async () => {
      const c = await server();
      const ceilingDb = `mb_ceil_copy_${setting}_${process.pid}`;
      try {
        await c.query(`SET GLOBAL local_infile = ${setting}`);
        const r = await measureCeiling(dbName(kfp), ceilingDb);
        expect(r.rows).toEqual(written);
        expect(r.totalRows).toBeGreaterThan(0);
        // The test server runs on this machine, so its CPU during the loads is read: a share of all it has used
        // (0.01 s ticks, so a load this small may take 0 of them).
        const serverPid = databaseServerPid();
        expect(serverPid, 'the test server is a process on this machine').not.toBeNull();
        expect(r.serverCpuSeconds).toBeTypeOf('number');
        expect(r.serverCpuSeconds).toBeGreaterThanOrEqual(0);
        expect(r.serverCpuSeconds).toBeLessThanOrEqual(processCpuSeconds(serverPid!)!);
        expect(r.localInfile).toBe(setting ? 'on' : 'turned on for the loads');
        expect(await localInfile(c)).toBe(setting);
      } finally {
        await c.query(`DROP DATABASE IF EXISTS \`${ceilingDb}\``);
        await c.end();
      }
    });
  }
});
