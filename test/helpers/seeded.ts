/** A seeded KFP 2.x deployment at two URLs: `seed` into both databases, closed afterwards. */
import { openDb } from '../../src/db/connection.ts';
import { seedDatabases, type SeedOptions, type SeedReport } from '../../src/seed/index.ts';

export async function seedUrls(mlmdUrl: string, kfpUrl: string, opts: SeedOptions): Promise<SeedReport> {
  const m = await openDb(mlmdUrl, { create: true });
  const k = await openDb(kfpUrl, { create: true });
  try {
    return await seedDatabases(m, k, opts);
  } finally {
    await m.close();
    await k.close();
  }
}
