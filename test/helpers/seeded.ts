/** A seeded KFP 2.x deployment at two URLs: `seed` into both databases, closed afterwards. */
import { openDb } from '../../src/db/connection.ts';
import { MLMD_IDENTIFIERS } from '../../src/extract/schema-version.ts';
import { seedDatabases, type SeedOptions, type SeedReport } from '../../src/seed/index.ts';

export async function seedUrls(mlmdUrl: string, kfpUrl: string, opts: SeedOptions): Promise<SeedReport> {
  // MLMD names its tables unquoted, so on PostgreSQL they are lower case (as `seed` opens them).
  const m = await openDb(mlmdUrl, { ...MLMD_IDENTIFIERS, create: true });
  const k = await openDb(kfpUrl, { create: true });
  try {
    return await seedDatabases(m, k, opts);
  } finally {
    await m.close();
    await k.close();
  }
}
