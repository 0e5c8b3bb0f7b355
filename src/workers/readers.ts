/** What a reading worker thread opens: the MLMD source and the KFP database, both read-only, from the URLs it was started with. */
import { openDb, type Db } from '../db/connection.ts';
import { openMlmdSource, type MlmdSource } from '../extract/index.ts';

export interface ReaderSetup {
  mlmdUrl: string;
  kfpUrl: string;
}

export async function openReaders(setup: ReaderSetup): Promise<{ source: MlmdSource; kfp: Db; close(): Promise<void> }> {
  const source = await openMlmdSource(setup.mlmdUrl);
  const kfp = await openDb(setup.kfpUrl, { readOnly: true, role: 'KFP database', poolSize: 3 }).catch(async (e: unknown) => {
    await source.close();
    throw e;
  });
  return {
    source,
    kfp,
    close: async () => {
      await Promise.allSettled([source.close(), kfp.close()]);
    },
  };
}
