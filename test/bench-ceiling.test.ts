/** The benchmark's ceiling: the rows migrate wrote, loaded again with LOAD DATA LOCAL, whatever the server's local_infile. */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureCeiling } from '../bench/ceiling.ts';
import { openDb } from '../src/db/connection.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER, type TempDatabase, tempMariaDb } from './helpers/databases.ts';

const server = () => mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER });
const dbName = (t: TempDatabase) => t.url.slice(t.url.lastIndexOf('/') + 1);

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
      const [[row]] = (await c.query('SELECT @@GLOBAL.local_infile AS v')) as unknown as [[{ v: number }]];
      original = Number(row.v);
      written = {};
      for (const t of ['tasks', 'artifacts', 'artifact_tasks']) {
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
        expect(r.localInfile).toBe(setting ? 'on' : 'turned on for the loads');
        const [[after]] = (await c.query('SELECT @@GLOBAL.local_infile AS v')) as unknown as [[{ v: number }]];
        expect(Number(after.v)).toBe(setting);
      } finally {
        await c.query(`DROP DATABASE IF EXISTS \`${ceilingDb}\``);
        await c.end();
      }
    });
  }
});
