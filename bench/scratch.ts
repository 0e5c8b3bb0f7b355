/**
 * Throw-away MariaDB databases for one benchmark run, and the facts about the machine and the
 * server that every figure has to be read against.
 */
import { randomBytes } from 'node:crypto';
import { cpus, freemem, totalmem } from 'node:os';
import mysql from 'mysql2/promise';
import { BenchInputError } from './args.ts';
import type { KfpServer } from './stage.ts';

export interface Server {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const SERVER: Server = {
  host: process.env.MB_BENCH_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.MB_BENCH_MYSQL_PORT ?? 3306),
  user: process.env.MB_BENCH_MYSQL_USER ?? 'root',
  password: process.env.MB_BENCH_MYSQL_PASSWORD ?? '',
};

export function urlOf(database: string, server: Server = SERVER, scheme: 'mysql' | 'postgres' = 'mysql'): string {
  const auth = server.password ? `${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}` : encodeURIComponent(server.user);
  return `${scheme}://${auth}@${server.host}:${server.port}/${database}`;
}

/** What the bench needs of a server it makes scratch databases on: a name prefix of its own and a way to drop them. */
export interface ScratchServer {
  /** After `mb_bench_`: tells one server's scratch databases from another's. */
  readonly prefix: string;
  /** Drops the named databases that exist; `endSessions`: first end the sessions still using them (after an interruption). */
  drop(names: readonly string[], endSessions: boolean): Promise<void>;
}

/**
 * Names the databases of one benchmark run on one server (`mb_bench_<prefix><purpose>_<hex>`) and
 * drops every one of them at the end. `on` gives the same run's databases on another server, under
 * the same tag, so one tag finds everything a run made.
 */
export class ScratchDatabases {
  private readonly names: string[] = [];

  constructor(
    private readonly server: ScratchServer = MARIADB_SCRATCH,
    private readonly tag = randomBytes(3).toString('hex'),
  ) {}

  on(server: ScratchServer): ScratchDatabases {
    return new ScratchDatabases(server, this.tag);
  }

  name(purpose: string): string {
    const n = `mb_bench_${this.server.prefix}${purpose}_${this.tag}`;
    this.names.push(n);
    return n;
  }

  async dropAll(opts: { endSessions?: boolean } = {}): Promise<void> {
    if (this.names.length > 0) await this.server.drop(this.names, opts.endSessions ?? false);
  }
}

/**
 * MariaDB's scratch databases. After an interruption the server sessions still using them (the
 * bench's own seeding connections among them) are ended first: an open transaction would otherwise
 * hold DROP DATABASE back on its metadata lock for as long as it lived.
 */
export const MARIADB_SCRATCH: ScratchServer = {
  prefix: '',
  async drop(names, endSessions) {
    const c = await serverConnection();
    try {
      if (endSessions) {
        const [sessions] = (await c.query(
          `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB IN (${names.map(() => '?').join(', ')}) AND ID <> CONNECTION_ID()`,
          [...names],
        )) as unknown as [{ id: number }[]];
        for (const { id } of sessions) await c.query(`KILL CONNECTION ${Number(id)}`).catch(() => undefined); // it may have ended meanwhile
      }
      for (const n of names) await c.query(`DROP DATABASE IF EXISTS \`${n}\``);
    } finally {
      await c.end();
    }
  },
};

/**
 * Copies every table of one database into another, on the server: each table as SHOW CREATE TABLE
 * prints it (foreign keys included, which CREATE TABLE … LIKE drops) and its rows, foreign key checks
 * off (the rows were checked where they come from).
 */
export async function copyDatabase(from: string, to: string): Promise<void> {
  const c = await serverConnection();
  try {
    await c.query(`CREATE DATABASE IF NOT EXISTS \`${to}\``);
    await c.query('SET SESSION foreign_key_checks = 0');
    const [tables] = (await c.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = ?', [from, 'BASE TABLE'])) as unknown as [{ t: string }[]];
    for (const { t } of tables) {
      const [[shown]] = (await c.query(`SHOW CREATE TABLE \`${from}\`.\`${t}\``)) as unknown as [Record<string, string>[]];
      await c.query(`USE \`${to}\``);
      await c.query(shown!['Create Table']!);
      await c.query(`INSERT INTO \`${to}\`.\`${t}\` SELECT * FROM \`${from}\`.\`${t}\``);
    }
  } finally {
    await c.end();
  }
}

/** The staged upgrade's KFP databases on MariaDB (bench/stage.ts). */
export const MARIADB_KFP: KfpServer = { url: (database) => urlOf(database), copy: copyDatabase };

export function serverConnection(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ ...SERVER, database, charset: 'utf8mb4_unicode_ci', jsonStrings: true, dateStrings: true });
}

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  server: string;
  innodbBufferPoolMiB: number;
  innodbFlushLogAtTrxCommit: number;
  logBin: string;
}

/** The bench's first contact with the server: a server it cannot reach or log in to is bad input, said so plainly. */
export async function machineFacts(): Promise<MachineFacts> {
  const c = await serverConnection().catch((e: unknown) => {
    const { code, message } = e as { code?: string; message?: string };
    throw new BenchInputError(
      `cannot connect to MariaDB/MySQL at ${SERVER.host}:${SERVER.port} as ${SERVER.user} (${code ?? message ?? String(e)}): ` +
        'start the server, or point MB_BENCH_MYSQL_HOST, MB_BENCH_MYSQL_PORT, MB_BENCH_MYSQL_USER and MB_BENCH_MYSQL_PASSWORD at one',
    );
  });
  try {
    const [[v]] = (await c.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]];
    const [vars] = (await c.query(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_buffer_pool_size', 'innodb_flush_log_at_trx_commit', 'log_bin')",
    )) as unknown as [{ Variable_name: string; Value: string }[]];
    const get = (n: string) => vars.find((r) => r.Variable_name === n)?.Value ?? '';
    return {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: round1(totalmem() / 2 ** 30),
      freeMemoryGiB: round1(freemem() / 2 ** 30),
      node: process.version,
      server: v!.v,
      innodbBufferPoolMiB: Number(get('innodb_buffer_pool_size')) / 2 ** 20,
      innodbFlushLogAtTrxCommit: Number(get('innodb_flush_log_at_trx_commit')),
      logBin: get('log_bin'),
    };
  } finally {
    await c.end();
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
