/**
 * What recomputing fingerprints costs: every run of the seeded database is mapped twice in this
 * process, as `migrate --fingerprints mlmd` maps it (MLMD values copied) and as `--fingerprints
 * kfp3` does (each stored KFP 2.x key recomputed, then the KFP 3 key), alternating which goes first
 * batch by batch so neither is favoured by a warm cache. Only mapping is timed: reading is the same
 * for both and is done once.
 */
import { openDb } from '../src/db/connection.ts';
import { openMlmdSource, readRunDetails } from '../src/extract/index.ts';
import { runContextPages } from '../src/extract/run-bundles.ts';
import { addTally, emptyTally, type FingerprintTally, type MappingOptions } from '../src/transform/fingerprints.ts';
import { mapRun } from '../src/transform/forward.ts';
import type { RunBundle } from '../src/transform/model.ts';

export interface FingerprintFigures {
  runs: number;
  /** CPU milliseconds of mapping every run, per mode. */
  mlmdMs: number;
  kfp3Ms: number;
  /** kfp3 ÷ mlmd mapping time. */
  ratio: number;
  tally: FingerprintTally;
}

const MLMD: MappingOptions = { fingerprints: 'mlmd', publishLogs: true };
const KFP3: MappingOptions = { fingerprints: 'kfp3', publishLogs: true };

export async function measureFingerprints(mlmdUrl: string, kfpUrl: string): Promise<FingerprintFigures> {
  const source = await openMlmdSource(mlmdUrl);
  const kfp = await openDb(kfpUrl, { readOnly: true, role: 'bench KFP database' });
  const figures: FingerprintFigures = { runs: 0, mlmdMs: 0, kfp3Ms: 0, ratio: 0, tally: emptyTally() };
  try {
    let batch = 0;
    for await (const page of runContextPages(source.db, 200)) {
      const details = await readRunDetails(kfp, page.map((c) => c.name));
      const bundles = await source.readRunBundles(page.map((c) => c.id), details);
      const order = batch++ % 2 === 0 ? [MLMD, KFP3] : [KFP3, MLMD];
      for (const options of order) {
        const ms = timeMapping(bundles, options, options === KFP3 ? figures.tally : null);
        if (options === MLMD) figures.mlmdMs += ms;
        else figures.kfp3Ms += ms;
      }
      figures.runs += bundles.length;
    }
  } finally {
    await source.close();
    await kfp.close();
  }
  figures.ratio = figures.mlmdMs > 0 ? figures.kfp3Ms / figures.mlmdMs : 0;
  return figures;
}

function timeMapping(bundles: RunBundle[], options: MappingOptions, tally: FingerprintTally | null): number {
  const started = process.cpuUsage();
  const results = bundles.map((b) => mapRun(b, options));
  const used = process.cpuUsage(started);
  if (tally) for (const m of results) if (m.fingerprints) addTally(tally, m.fingerprints);
  return (used.user + used.system) / 1000;
}
