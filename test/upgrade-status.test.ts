import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import { kfpTables } from '../src/db/kfp-tables.ts';
import { orm } from '../src/db/orm.ts';
import { ensureBridgeTables } from '../src/load/bridge-tables.ts';
import { upgradeStatus } from '../src/migrate/status.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';

describe.each(KFP_DIALECTS)('upgradeStatus on $dialect', ({ temp: makeTemp }) => {
  let temp: TempDatabase;
  let db: Db;
  beforeEach(async () => {
    temp = await makeTemp('upgstatus');
    db = await openDb(temp.url, { create: true });
    await ensureBridgeTables(db);
  });
  afterEach(async () => {
    await db.close();
    await temp.drop();
  });

  const checkpoint = (n: number) => ({
    run_uuid: `run-${n}`,
    context_id: n,
    source_version: 'v',
    tasks: 1,
    artifacts: 0,
    links: 0,
    rejects: 0,
    migrated_at: 1_700_000_000,
    tool_version: 'test',
  });

  it('counts the staged runs by their checkpoints while staged, and none once cut over', async () => {
    expect((await upgradeStatus(db, 'staged', null, undefined)).stagedRuns).toBe(0);
    await orm(db).insert(kfpTables(db).bridgeRuns).values([1, 2, 3].map(checkpoint));
    expect((await upgradeStatus(db, 'staged', null, undefined)).stagedRuns).toBe(3);
    expect((await upgradeStatus(db, 'kfp3', null, undefined)).stagedRuns).toBe(0);
  });
});
