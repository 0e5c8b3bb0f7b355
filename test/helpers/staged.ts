/**
 * Shared steps of the staged-upgrade integration tests: seeding a KFP 2.x pair, opening both ends,
 * and the reference every staged path is held against — a one-shot `migrate` of the same final
 * source into a copy of the KFP 2.x database.
 */
import { expect } from 'vitest';
import { type Db, openDb, type Param } from '../../src/db/connection.ts';
import { insertMany } from '../../src/db/insert.ts';
import { MLMD_IDENTIFIERS } from '../../src/extract/schema-version.ts';
import { createV1TasksTable } from '../../src/load/v1-tasks.ts';
import { migrate, type MigrateSummary } from '../../src/migrate/migrator.ts';
import { seedDatabases, type SeedOptions, type SeedReport } from '../../src/seed/index.ts';
import { createKfp2Tables } from '../../src/seed/kfp2-ddl.ts';
import { dumpDatabase } from './snapshot.ts';

export const KFP3_TABLES = ['artifacts', 'tasks', 'artifact_tasks'];
/** What a one-shot migrate also writes: the id map the shim and verify use, every reject. */
export const BOOKKEEPING = ['mlmd_id_map', 'mlmd_bridge_rejects'];

export async function seedPair(mlmdUrl: string, kfpUrl: string, opts: SeedOptions): Promise<SeedReport> {
  return withBoth(mlmdUrl, kfpUrl, (m, k) => seedDatabases(m, k, opts), true);
}

export async function withBoth<T>(mlmdUrl: string, kfpUrl: string, fn: (mlmd: Db, kfp: Db) => Promise<T>, create = false): Promise<T> {
  // MLMD names its tables unquoted: on PostgreSQL they are lower case, and the statements' names are folded to match.
  const mlmd = await openDb(mlmdUrl, { ...MLMD_IDENTIFIERS, create });
  const kfp = await openDb(kfpUrl, { create });
  try {
    return await fn(mlmd, kfp);
  } finally {
    await mlmd.close();
    await kfp.close();
  }
}

/** A KFP 2.x database holding the same experiments and run_details as `from` and an empty v1 tasks table: the target of the reference migrate. */
export async function copyKfp2(fromUrl: string, toUrl: string): Promise<void> {
  const from = await openDb(fromUrl, { readOnly: true });
  const to = await openDb(toUrl, { create: true });
  try {
    await createKfp2Tables(to);
    await createV1TasksTable(to);
    for (const table of ['experiments', 'run_details']) {
      const rows = await from.all<Record<string, unknown>>(`SELECT * FROM \`${table}\``);
      if (rows.length === 0) continue;
      const columns = Object.keys(rows[0]!);
      await insertMany(to, table, columns, rows.map((r) => columns.map((c) => (r[c] ?? null) as Param)));
    }
  } finally {
    await from.close();
    await to.close();
  }
}

export const count = async (url: string, sql: string, params: Param[] = []): Promise<number> => {
  const db = await openDb(url, { readOnly: true });
  try {
    return Number((await db.all<{ n: number }>(sql, params))[0]?.n ?? 0);
  } finally {
    await db.close();
  }
};

/**
 * The KFP 3 tables, the id map and the rejects of `kfpUrl` equal those of a one-shot migrate of
 * `mlmdUrl` into `referenceUrl` (a fresh database; run_details copied from `kfpUrl` first).
 */
export async function expectOneShotEqual(mlmdUrl: string, kfpUrl: string, referenceUrl: string): Promise<MigrateSummary> {
  await copyKfp2(kfpUrl, referenceUrl);
  const oneShot = await migrate({ mlmdUrl, kfpUrl: referenceUrl });
  expect(await dumpDatabase(kfpUrl, { tables: KFP3_TABLES })).toEqual(await dumpDatabase(referenceUrl, { tables: KFP3_TABLES }));
  // A true-up appends the non-KFP records MLMD gained after those listed before (a one-shot lists contexts, then
  // executions): the same rejects, numbered (`seq`) in another order.
  const bookkeeping = { tables: BOOKKEEPING, ignoreColumns: ['seq'] };
  expect(await dumpDatabase(kfpUrl, bookkeeping)).toEqual(await dumpDatabase(referenceUrl, bookkeeping));
  return oneShot;
}
