/**
 * A KFP database whose run_details has another character set than the database default (older
 * deployments): the KFP 3 tables cannot reference it. The refusal says why and leaves nothing behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { BridgeError } from '../src/errors.ts';
import { ensureTargetTables, tableExists } from '../src/load/schema.ts';
import { tempMariaDb, type TempDatabase } from './helpers/databases.ts';

describe('creating the KFP 3 tables over a run_details with another charset (MariaDB)', () => {
  let tmp: TempDatabase;
  afterAll(async () => {
    await tmp?.drop();
  });

  it('refuses with TARGET_SCHEMA_MISMATCH (exit 3), names the cause, and creates nothing', async () => {
    tmp = await tempMariaDb('charset');
    const db = await openDb(tmp.url);
    try {
      await db.run('CREATE TABLE run_details (UUID varchar(191) NOT NULL PRIMARY KEY) CHARACTER SET latin1');
      const err = await ensureTargetTables(db).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BridgeError);
      expect(err).toMatchObject({ code: 'TARGET_SCHEMA_MISMATCH', exitCode: 3 });
      expect((err as BridgeError).hint).toContain('character set');
      for (const t of ['artifacts', 'tasks', 'artifact_tasks']) expect(await tableExists(db, t)).toBe(false);
    } finally {
      await db.close();
    }
  });
});
