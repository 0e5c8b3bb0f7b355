/**
 * The rejects of no run (key ''), as a true-up stores them on each KFP dialect: the shared-artifact
 * rejects of the last true-up are replaced, the non-KFP records listed before stay, and the newly
 * listed ones are numbered on from the highest seq left under '' (not from another run's, not from
 * a count, not from before the delete).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import type { NonKfpRecord } from '../src/extract/source-census.ts';
import { ensureBridgeTables } from '../src/load/bridge-tables.ts';
import { appendRejects } from '../src/load/writer.ts';
import { storeRunlessRejects } from '../src/migrate/migrator.ts';
import type { Reject } from '../src/transform/model.ts';
import { KFP_DIALECTS, type TempDatabase } from './helpers/databases.ts';

const reject = (code: string, entity: Reject['entity'], mlmdId: number, runUuid: string | null = null): Reject => ({
  code,
  disposition: code === 'IDENTITY_KEY_SHARED' ? 'adjusted' : 'skipped',
  entity,
  mlmdId,
  runUuid,
  reason: `${code} ${mlmdId}`,
});

type Stored = { run_key: string; seq: number; code: string; mlmd_id: number };

describe.each(KFP_DIALECTS)('run-less rejects on a true-up ($dialect)', ({ dialect, temp }) => {
  const made: TempDatabase[] = [];
  afterAll(async () => {
    for (const d of made) await d.drop();
  });
  /** `fn` on a fresh KFP database of this dialect holding the bookkeeping tables. */
  async function onFreshKfp(prefix: string, fn: (kfp: Db) => Promise<void>): Promise<void> {
    const kfpDb = await temp(`${prefix}_${dialect}`);
    made.push(kfpDb);
    const kfp = await openDb(kfpDb.url, { create: true });
    try {
      await ensureBridgeTables(kfp);
      await fn(kfp);
    } finally {
      await kfp.close();
    }
  }

  it('replaces the shared-artifact rejects under key "" only and numbers the new records after the highest seq left there', async () => {
    await onFreshKfp('rl', async (kfp) => {
      // Under '': two non-KFP records with a gap in seq, then the last true-up's two shared artifacts.
      await appendRejects(kfp, '', [reject('NON_KFP_CONTEXT', 'context', 1)], 0);
      await appendRejects(kfp, '', [reject('NON_KFP_EXECUTION', 'execution', 2), reject('IDENTITY_KEY_SHARED', 'artifact', 10), reject('IDENTITY_KEY_SHARED', 'artifact', 11)], 5);
      // A run's own rejects: a higher seq and the same code, neither of which the run-less path may touch.
      await appendRejects(kfp, 'run-a', [reject('ORPHAN_RUN', 'context', 20, 'run-a'), reject('IDENTITY_KEY_SHARED', 'artifact', 21, 'run-a')], 8);

      const asked: ({ context: number; execution: number } | undefined)[] = [];
      const listed: NonKfpRecord[] = [{ entity: 'execution', id: 42, type: 'Trainer' }, { entity: 'context', id: 43, type: 'pipeline_run' }];
      const source = {
        async *listNonKfp(above?: { context: number; execution: number }) {
          asked.push(above);
          yield* listed;
        },
      };
      const above = { context: 3, execution: 2 };
      await storeRunlessRejects(source, kfp, [reject('IDENTITY_KEY_SHARED', 'artifact', 12)], above);

      expect(asked).toEqual([above]);
      const rows = (await kfp.all<Stored>('SELECT run_key, seq, code, mlmd_id FROM mlmd_bridge_rejects ORDER BY run_key, seq')).map((r) => ({
        run_key: r.run_key,
        seq: Number(r.seq),
        code: r.code,
        mlmd_id: Number(r.mlmd_id),
      }));
      expect(rows).toEqual([
        { run_key: '', seq: 0, code: 'NON_KFP_CONTEXT', mlmd_id: 1 },
        { run_key: '', seq: 5, code: 'NON_KFP_EXECUTION', mlmd_id: 2 },
        { run_key: '', seq: 6, code: 'NON_KFP_EXECUTION', mlmd_id: 42 },
        { run_key: '', seq: 7, code: 'NON_KFP_CONTEXT', mlmd_id: 43 },
        { run_key: '', seq: 8, code: 'IDENTITY_KEY_SHARED', mlmd_id: 12 },
        { run_key: 'run-a', seq: 8, code: 'ORPHAN_RUN', mlmd_id: 20 },
        { run_key: 'run-a', seq: 9, code: 'IDENTITY_KEY_SHARED', mlmd_id: 21 },
      ]);
    });
  });

  it('numbers from 0 when nothing is left under "" after the delete', async () => {
    await onFreshKfp('rl0', async (kfp) => {
      await appendRejects(kfp, '', [reject('IDENTITY_KEY_SHARED', 'artifact', 10)], 3);
      await appendRejects(kfp, 'run-b', [reject('ORPHAN_RUN', 'context', 20, 'run-b')], 4);
      const source = { async *listNonKfp() {} };
      await storeRunlessRejects(source, kfp, [reject('IDENTITY_KEY_SHARED', 'artifact', 12)], { context: 0, execution: 0 });
      const rows = await kfp.all<Stored>("SELECT run_key, seq, code, mlmd_id FROM mlmd_bridge_rejects WHERE run_key = '' ORDER BY seq");
      expect(rows.map((r) => [Number(r.seq), r.code, Number(r.mlmd_id)])).toEqual([[0, 'IDENTITY_KEY_SHARED', 12]]);
    });
  });
});
