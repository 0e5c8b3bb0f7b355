// insertMany on every dialect: every kind of value comes back exactly as it was given, whatever
// characters a string holds (on MySQL the values travel as literals, not placeholders; on
// PostgreSQL the statement is rendered with $n placeholders, which a '?' in the data must not
// disturb), large sets are split into several statements, and an upsert replaces the non-key columns.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb, type Param } from '../src/db/connection.ts';
import { mysqlLiteral, quoteIdent } from '../src/db/dialect.ts';
import { insertMany } from '../src/db/insert.ts';
import type { Dialect } from '../src/db/url.ts';
import { MLMD_DIALECTS, type TempDatabase, tempMariaDb } from './helpers/databases.ts';

const COLUMNS = ['id', 's', 'n', 'b', 'blob', 'flag'] as const;

const HOSTILE_STRINGS = [
  '',
  'plain',
  "it's",
  'back\\slash',
  'trailing backslash\\',
  "\\'",
  "\\\\'\\",
  'nul\0byte',
  '{"json": [1, "two", {"three": "\\"quoted\\""}], "k": null}',
  'line\nbreak\r\ttab\bbell\x1actrl-z',
  'emoji 🚀 ünïcödé 中文',
  '?',
  'a?b ?? c ?',
  "'); DROP TABLE t; -- ",
  '/* not a comment */ # nor this -- nor this',
  '`backtick` "double" \'single\'',
];

/** A long string of the characters above, so one value crosses many escapes (PostgreSQL text holds no NUL). */
function longMix(length: number, dialect: Dialect = 'mysql'): string {
  const alphabet = ['a', "'", '\\', dialect === 'postgres' ? '$1' : '\0', '"', '\n', '?', '🚀', 'ü', ' ', '`', '#'];
  let out = '';
  for (let i = 0; out.length < length; i++) out += alphabet[(i * 7 + (i >> 3)) % alphabet.length];
  return out;
}

const TABLE_DDL: Record<Dialect, string> = {
  mysql: 'CREATE TABLE t (id int NOT NULL PRIMARY KEY, s longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, n double NULL, b bigint NULL, `blob` longblob NULL, flag tinyint NULL)',
  sqlite: 'CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, s TEXT NULL, n REAL NULL, b INTEGER NULL, "blob" BLOB NULL, flag INTEGER NULL)',
  postgres: 'CREATE TABLE t (id int NOT NULL PRIMARY KEY, s text NULL, n double precision NULL, b bigint NULL, "blob" bytea NULL, flag boolean NULL)',
};
const tableDdl = (dialect: Dialect) => TABLE_DDL[dialect];

describe.each(MLMD_DIALECTS)('insertMany on $dialect', ({ dialect, temp }) => {
  let tmp: TempDatabase;
  let db: Db;
  beforeEach(async () => {
    tmp = await temp('insert_many');
    db = await openDb(tmp.url, { create: true });
    await db.run(tableDdl(dialect));
  });
  afterEach(async () => {
    await db.close();
    await tmp.drop();
  });

  it('stores every string, number, bigint, buffer, boolean and null exactly', async () => {
    const strings = [...HOSTILE_STRINGS.filter((x) => dialect !== 'postgres' || !x.includes('\0')), longMix(100_000, dialect)];
    const numbers = [0, -1, 1.5, -2.25e-10, 1e300, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    const rows: Param[][] = strings.map((s, i) => [
      i,
      s,
      numbers[i % numbers.length]!,
      BigInt(i) * 1_000_000_007n,
      Buffer.from([0, 1, 39, 92, 34, 255, i]),
      i % 2 === 0,
    ]);
    rows.push([strings.length, null, null, null, null, null]);
    await insertMany(db, 't', COLUMNS, rows);

    const back = await db.all<Record<string, unknown>>(`SELECT id, s, n, b, ${quoteIdent(db, 'blob')}, flag FROM t ORDER BY id`);
    expect(back).toHaveLength(rows.length);
    back.forEach((r, i) => {
      const want = rows[i]!;
      expect(Number(r.id)).toBe(want[0]);
      expect(r.s).toBe(want[1]);
      expect(r.n === null ? null : Number(r.n)).toBe(want[2]);
      expect(r.b === null ? null : BigInt(r.b as number)).toBe(want[3]);
      expect(r.blob === null ? null : Buffer.from(r.blob as Uint8Array).toString('hex')).toBe(want[4] === null ? null : (want[4] as Buffer).toString('hex'));
      expect(r.flag === null ? null : Number(r.flag)).toBe(want[5] === null ? null : want[5] ? 1 : 0);
    });
    // A placeholder query after the literal inserts still binds its values (the '?' in the data were not taken for placeholders).
    const found = await db.all<{ id: number }>('SELECT id FROM t WHERE s = ?', ['a?b ?? c ?']);
    expect(found.map((r) => Number(r.id))).toEqual([strings.indexOf('a?b ?? c ?')]);
  });

  it('splits a large set into several statements and loses no row', async () => {
    const big = 'x'.repeat(3_000);
    const rows: Param[][] = Array.from({ length: 2_500 }, (_, i) => [i, `${i}:${big}`, i / 3, i, null, true]);
    await insertMany(db, 't', COLUMNS, rows);
    const [count] = await db.all<{ n: number; len: number }>('SELECT COUNT(*) AS n, SUM(LENGTH(s)) AS len FROM t');
    expect(Number(count!.n)).toBe(2_500);
    expect(Number(count!.len)).toBe(rows.reduce((sum, r) => sum + (r[1] as string).length, 0));
  });

  it('as an upsert, replaces the non-key columns of rows that exist and adds the others', async () => {
    await insertMany(db, 't', COLUMNS, [[1, 'old', 1, 1, null, false], [2, 'kept', 2, 2, null, false]]);
    await insertMany(db, 't', COLUMNS, [[1, "new 'one'", 10, 10, null, true], [3, 'added', 3, 3, null, true]], ['id']);
    const back = await db.all<{ id: number; s: string; n: number }>('SELECT id, s, n FROM t ORDER BY id');
    expect(back.map((r) => [Number(r.id), r.s, Number(r.n)])).toEqual([[1, "new 'one'", 10], [2, 'kept', 2], [3, 'added', 3]]);
  });

  if (dialect === 'postgres') {
    it('refuses a string holding NUL, which PostgreSQL text cannot store, and writes nothing of that statement', async () => {
      await expect(insertMany(db, 't', COLUMNS, [[1, 'fine', null, null, null, null], [2, 'nul\0byte', null, null, null, null]])).rejects.toThrow(/0x00/);
      expect(await db.all('SELECT id FROM t')).toEqual([]);
    });
  }

  it('without a key, refuses a duplicate and writes nothing of that statement', async () => {
    await insertMany(db, 't', COLUMNS, [[1, 'a', 1, 1, null, false]]);
    await expect(insertMany(db, 't', COLUMNS, [[2, 'b', 2, 2, null, false], [1, 'dup', 1, 1, null, false]])).rejects.toThrow();
    const back = await db.all<{ id: number }>('SELECT id FROM t ORDER BY id');
    expect(back.map((r) => Number(r.id))).toEqual([1]);
  });
});

describe('insertMany on a MySQL session with NO_BACKSLASH_ESCAPES', () => {
  it('stores the same values as under the default sql_mode', async () => {
    const tmp = await tempMariaDb('insert_many_nbe');
    const db = await openDb(tmp.url, { create: true });
    try {
      await db.run(tableDdl('mysql'));
      const strings = [...HOSTILE_STRINGS, longMix(10_000)];
      const rows: Param[][] = strings.map((s, i) => [i, s, null, null, null, null]);
      const back = await db.session(async (s) => {
        const [mode] = await s.all<{ m: string }>('SELECT @@SESSION.sql_mode AS m');
        await s.run("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')");
        try {
          await insertMany(s, 't', COLUMNS, rows);
          return await s.all<{ id: number; s: string }>('SELECT id, s FROM t ORDER BY id');
        } finally {
          await s.run('SET SESSION sql_mode = ?', [mode!.m]);
        }
      });
      expect(back.map((r) => r.s)).toEqual(strings);
    } finally {
      await db.close();
      await tmp.drop();
    }
  });
});

describe('mysqlLiteral', () => {
  it('doubles quotes, leaves every other character as it is, and sends strings with a backslash or NUL as hex', () => {
    expect(mysqlLiteral('a"b\n')).toBe("'a\"b\n'");
    expect(mysqlLiteral("it's")).toBe("'it''s'");
    expect(mysqlLiteral('a\\b')).toBe("_utf8mb4 X'615c62'");
    expect(mysqlLiteral('\0é')).toBe("_utf8mb4 X'00c3a9'");
    expect(mysqlLiteral(null)).toBe('NULL');
    expect(mysqlLiteral(-1.5)).toBe('-1.5');
    expect(mysqlLiteral(12n)).toBe('12');
    expect(mysqlLiteral(true)).toBe('TRUE');
    expect(mysqlLiteral(Buffer.from([0, 255]))).toBe("X'00ff'");
  });

  it('refuses numbers SQL cannot write instead of sending a bare word', () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(() => mysqlLiteral(n)).toThrow(/cannot be written/);
  });
});
