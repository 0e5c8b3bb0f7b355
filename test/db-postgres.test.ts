// The PostgreSQL side of the connection factory: URL forms, values coming back as the other
// dialects give them, read-only sessions, transactions, creating a database, and statements in the
// project's backtick/? spelling rendered for PostgreSQL, names folded where the schema was created
// unquoted.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import { parseDbUrl, redact } from '../src/db/url.ts';
import { BridgeError } from '../src/errors.ts';
import { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, type TempDatabase, tempPostgres } from './helpers/databases.ts';

describe('postgres:// URLs', () => {
  it('take user, password, host, port and database, with PostgreSQL defaults', () => {
    expect(parseDbUrl('postgres://kfp:s%40cret@db.example:6543/metadb')).toEqual({
      dialect: 'postgres',
      host: 'db.example',
      port: 6543,
      user: 'kfp',
      password: 's@cret',
      database: 'metadb',
      sslmode: 'disable',
      display: 'postgres://kfp@db.example:6543/metadb',
    });
    expect(parseDbUrl('postgresql://h/m')).toMatchObject({ dialect: 'postgres', host: 'h', port: 5432, user: 'postgres', password: '', database: 'm' });
    expect(parseDbUrl('postgres://[::1]/m')).toMatchObject({ host: '::1', display: 'postgres://postgres@[::1]:5432/m' });
  });

  it('take sslmode, and nothing else', () => {
    expect(parseDbUrl('postgres://h/m?sslmode=verify-full')).toMatchObject({ sslmode: 'verify-full', display: 'postgres://postgres@h:5432/m?sslmode=verify-full' });
    expect(parseDbUrl('postgres://h/m?sslmode=prefer')).toMatchObject({ sslmode: 'disable' });
    const refusal = (url: string) => {
      try {
        parseDbUrl(url, 'MLMD database URL');
      } catch (e) {
        return e as BridgeError;
      }
      throw new Error(`${url} was accepted`);
    };
    expect(refusal('postgres://u:pw@h/m?sslmode=sometimes')).toMatchObject({ code: 'BAD_URL', message: expect.stringContaining('sslmode=sometimes') });
    expect(refusal('postgres://u:pw@h/m?sslmode=sometimes').message).not.toContain('pw');
    expect(refusal('postgres://h/m?options=-c%20x').hint).toContain('only parameter understood is sslmode');
    expect(refusal('postgres://h/').message).toContain('names no database');
    expect(refusal('postgres://h/a/b').code).toBe('BAD_URL');
    expect(redact('postgres://u:pw@h/m')).toBe('postgres://u:***@h/m');
  });
});

describe('a PostgreSQL connection', () => {
  let tmp: TempDatabase;
  let db: Db;
  beforeAll(async () => {
    tmp = await tempPostgres('db_pg');
    db = await openDb(tmp.url);
    await db.run('CREATE TABLE `MixedCase` (`Id` int PRIMARY KEY, `Note` text)');
    await db.run('CREATE TABLE folded (id int PRIMARY KEY, note text)');
  });
  afterAll(async () => {
    await db?.close();
    await tmp?.drop();
  });

  it('gives BIGINT and NUMERIC as numbers where they are exact, else as text; booleans, bytes, JSON and times as the other dialects do', async () => {
    const [r] = await db.all<Record<string, unknown>>(
      "SELECT 42::bigint AS small, 9007199254740993::bigint AS big, 0.2500::numeric AS frac, 3.0::numeric AS whole, " +
        "12345678901234567.5::numeric AS wide, SUM(x) AS total, COUNT(*) AS n, true AS yes, '\\x00ff'::bytea AS bytes, " +
        "'{\"b\": 1,  \"a\": [2]}'::json AS doc, '2024-01-02 03:04:05'::timestamp AS at, 2147483647 AS int4 " +
        'FROM (VALUES (1::bigint), (2::bigint)) v(x)',
    );
    expect(r).toEqual({
      small: 42,
      big: '9007199254740993',
      frac: 0.25,
      whole: 3,
      wide: '12345678901234567.5',
      total: 3,
      n: 2,
      yes: true,
      bytes: Buffer.from([0, 255]),
      doc: '{"b": 1,  "a": [2]}',
      at: '2024-01-02 03:04:05',
      int4: 2147483647,
    });
  });

  it('sends `names` and ? placeholders as PostgreSQL reads them, a ? inside a string staying text', async () => {
    await db.run('INSERT INTO `MixedCase` (`Id`, `Note`) VALUES (?, ?), (?, ?)', [1, 'what?', 2, "it's `x`"]);
    expect(await db.all('SELECT `Id`, `Note` FROM `MixedCase` WHERE `Note` <> \'?\' AND `Id` IN (?, ?) ORDER BY `Id`', [1, 2])).toEqual([
      { Id: 1, Note: 'what?' },
      { Id: 2, Note: "it's `x`" },
    ]);
    expect(db.storedName('MixedCase')).toBe('MixedCase');
    expect(await db.run('UPDATE `MixedCase` SET `Note` = ? WHERE `Id` > ?', ['later', 0])).toEqual({ changes: 2 });
  });

  it('folds backtick names to lower case when asked, for a schema created unquoted', async () => {
    const folded = await openDb(tmp.url, { foldIdentifiers: true });
    try {
      expect(folded.storedName('Folded')).toBe('folded');
      await folded.run('INSERT INTO `Folded` (`ID`, `Note`) VALUES (?, ?)', [1, 'x']);
      expect(await folded.all('SELECT `ID` AS id FROM `FOLDED`')).toEqual([{ id: 1 }]);
    } finally {
      await folded.close();
    }
  });

  it('runs a transaction on one connection and rolls it back when it throws', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO folded (id, note) VALUES (?, ?)', [10, 'gone']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO folded (id, note) VALUES (?, ?)', [11, 'kept']);
    });
    expect(await db.all('SELECT id FROM folded WHERE id >= 10')).toEqual([{ id: 11 }]);
  });

  it('opened read-only, refuses every write, in a transaction as well', async () => {
    const ro = await openDb(tmp.url, { readOnly: true });
    try {
      await expect(ro.run('INSERT INTO folded (id) VALUES (?)', [20])).rejects.toThrow(/read-only transaction/);
      await expect(ro.transaction((tx) => tx.run('DELETE FROM folded'))).rejects.toThrow(/read-only transaction/);
      expect(await ro.all('SELECT COUNT(*) AS n FROM folded')).toEqual([{ n: 2 }]);
    } finally {
      await ro.close();
    }
  });

  it('creates its database when asked, also when another opener creates it at the same time', async () => {
    const name = `mb_db_pg_create_${randomBytes(4).toString('hex')}`;
    const url = `postgres://${POSTGRES_USER}@${POSTGRES_HOST}:${POSTGRES_PORT}/${name}`;
    const admin = new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_USER, database: 'postgres' });
    await admin.connect();
    try {
      const opened = await Promise.all([openDb(url, { create: true }), openDb(url, { create: true })]);
      for (const o of opened) await o.close();
      const { rows } = await admin.query("SELECT pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = $1", [name]);
      expect(rows).toEqual([{ enc: 'UTF8' }]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
