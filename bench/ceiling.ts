/**
 * The ceiling: the very rows `migrate` wrote, bulk-loaded with LOAD DATA LOCAL INFILE into empty
 * copies of the three KFP 3 tables. That is as fast as this server on this machine can take
 * these rows, so migrate's rows per second is judged against it.
 *
 * The files are written in primary-key order (the cheapest order for InnoDB) and foreign-key checks
 * are off for the loads — tasks reference their parent task, and in UUID order a child often comes
 * before its parent. Both choices flatter the ceiling, never migrate. Only the loads are timed.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, FieldPacket } from 'mysql2/promise';
import { createTableStatements, TARGET_TABLES, type TargetTable } from '../src/load/schema.ts';
import { withServerCpu } from './cpu.ts';
import { serverConnection } from './scratch.ts';

const PAGE = 10_000;

export interface CeilingResult {
  rows: Record<TargetTable, number>;
  totalRows: number;
  loadSeconds: number;
  rowsPerSecond: number;
  /**
   * CPU seconds the local database server spent during the loads (null when it is not a local
   * process): set against loadSeconds it tells whether the ceiling waited on the disk or on the CPU.
   */
  serverCpuSeconds: number | null;
  foreignKeyChecks: 'off';
  runDetails: 'copied';
  /** Whether the server allowed LOAD DATA LOCAL already, or the bench allowed it for its loads only. */
  localInfile: 'on' | 'turned on for the loads';
}

/** Directories of row files being loaded: an interrupted bench removes them (see removeCeilingFiles). */
const liveDirs = new Set<string>();

/** Removes the row files of a ceiling still being measured; for an interrupted bench, which exits before its finally blocks run. */
export function removeCeilingFiles(): void {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

export async function measureCeiling(migratedDb: string, ceilingDb: string): Promise<CeilingResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-'));
  liveDirs.add(dir);
  try {
    const files = new Map<TargetTable, { path: string; columns: string[]; rows: number }>();
    const source = await serverConnection(migratedDb);
    try {
      for (const table of TARGET_TABLES) files.set(table, await exportTable(source, table, join(dir, `${table}.tsv`)));
    } finally {
      await source.end();
    }

    const c = await serverConnection();
    try {
      await c.query(`CREATE DATABASE \`${ceilingDb}\` CHARACTER SET utf8mb4`);
      await c.query(`USE \`${ceilingDb}\``);
      await c.query(`CREATE TABLE run_details LIKE \`${migratedDb}\`.run_details`);
      await c.query(`INSERT INTO run_details SELECT * FROM \`${migratedDb}\`.run_details`);
      for (const table of TARGET_TABLES) for (const sql of createTableStatements(table, 'mysql')) await c.query(sql);
      await c.query('SET SESSION foreign_key_checks = 0');

      const rows = {} as Record<TargetTable, number>;
      let seconds = 0;
      const loadAll = async () => {
        for (const table of TARGET_TABLES) {
          const f = files.get(table)!;
          const started = process.hrtime.bigint();
          const loaded = await loadFile(c, table, f.path, f.columns);
          seconds += Number(process.hrtime.bigint() - started) / 1e9;
          if (loaded !== f.rows) throw new Error(`ceiling: LOAD DATA put ${loaded} rows into ${table}, expected ${f.rows}`);
          rows[table] = loaded;
        }
      };
      let serverCpu: number | null = null;
      const localInfile = await withLocalInfile(c, async () => {
        serverCpu = (await withServerCpu(loadAll)).serverCpuSeconds;
      });
      const totalRows = Object.values(rows).reduce((a, b) => a + b, 0);
      return { rows, totalRows, loadSeconds: seconds, rowsPerSecond: totalRows / seconds, serverCpuSeconds: serverCpu, foreignKeyChecks: 'off', runDetails: 'copied', localInfile };
    } finally {
      await c.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  }
}

/** Writes a table as LOAD DATA's default text format, paging by primary key so memory stays flat. */
async function exportTable(c: Connection, table: TargetTable, path: string): Promise<{ path: string; columns: string[]; rows: number }> {
  const out = createWriteStream(path);
  let columns: string[] = [];
  let keyIndex = -1;
  let last: string | null = null;
  let rows = 0;
  for (;;) {
    const [page, fields] = (await c.query({
      sql: `SELECT * FROM \`${table}\` ${last === null ? '' : 'WHERE `UUID` > ? '}ORDER BY \`UUID\` LIMIT ${PAGE}`,
      values: last === null ? [] : [last],
      rowsAsArray: true,
    })) as unknown as [unknown[][], FieldPacket[]];
    if (columns.length === 0) {
      columns = fields.map((f) => f.name);
      keyIndex = columns.indexOf('UUID');
    }
    if (page.length === 0) break;
    let chunk = '';
    for (const r of page) chunk += `${r.map(tsvField).join('\t')}\n`;
    if (!out.write(chunk)) await once(out, 'drain');
    rows += page.length;
    last = String(page[page.length - 1]![keyIndex]);
    if (page.length < PAGE) break;
  }
  out.end();
  await once(out, 'finish');
  return { path, columns, rows };
}

/** LOAD DATA's default escaping: backslash escapes, \N for NULL. */
function tsvField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return s.replace(/[\\\t\n\r\0]/g, (ch) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' })[ch]!);
}

/**
 * LOAD DATA LOCAL needs the server's local_infile on: MariaDB's default, but MySQL 8 ships it off
 * and an administrator may have turned it off. The bench then turns it on for its own loads and
 * back off after; where the account may not, it says what to do instead of failing on the load.
 */
async function withLocalInfile(c: Connection, load: () => Promise<void>): Promise<CeilingResult['localInfile']> {
  const [[state]] = (await c.query('SELECT @@GLOBAL.local_infile AS enabled')) as unknown as [[{ enabled: number | string }]];
  if (Number(state.enabled) === 1) {
    await load();
    return 'on';
  }
  try {
    await c.query('SET GLOBAL local_infile = 1');
  } catch (e) {
    throw new Error(
      `the ceiling needs LOAD DATA LOCAL INFILE, which this server has turned off (local_infile = OFF), and this account may not turn it on (${(e as Error).message}); ` +
        'run SET GLOBAL local_infile = 1 as an administrator (or start the server with --local-infile=1) and run the bench again',
    );
  }
  try {
    await load();
  } finally {
    await c.query('SET GLOBAL local_infile = 0');
  }
  return 'turned on for the loads';
}

async function loadFile(c: Connection, table: string, path: string, columns: string[]): Promise<number> {
  const [res] = (await c.query({
    sql:
      `LOAD DATA LOCAL INFILE ? INTO TABLE \`${table}\` CHARACTER SET utf8mb4 ` +
      "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
      `(${columns.map((col) => `\`${col}\``).join(', ')})`,
    values: [path],
    infileStreamFactory: () => createReadStream(path),
  })) as unknown as [{ affectedRows: number }];
  return res.affectedRows;
}
