/** The cache-continuity lines plan, migrate and verify print (docs/cache-continuity.md). */
import type { FingerprintTally, MappingOptions } from '../transform/fingerprints.ts';
import { FINGERPRINT_MISS_REASONS, type FingerprintMissReason } from '../transform/rules.ts';
import { fmtInt, table } from './format.ts';

/** "N of M stored fingerprints reproduced", the reasons of the others, and what tasks.Fingerprint holds. */
export function fingerprintLines(t: FingerprintTally, options: MappingOptions): string[] {
  const lines = [
    `Cache fingerprints: ${fmtInt(t.reproduced)} of ${fmtInt(t.stored)} stored fingerprints reproduced (KFP 2.x key recomputed from the records)`,
  ];
  const misses = Object.entries(t.notReproduced).sort(([a], [b]) => (a < b ? -1 : 1));
  if (misses.length > 0) {
    lines.push(table(['not reproduced, because', 'count'], misses.map(([code, n]) => [`${code}: ${FINGERPRINT_MISS_REASONS[code as FingerprintMissReason] ?? ''}`, n])));
  }
  const mode = `--fingerprints ${options.fingerprints}${options.fingerprints === 'kfp3' ? ` --publish-logs ${options.publishLogs}` : ''}`;
  lines.push(
    options.fingerprints === 'kfp3'
      ? `tasks.Fingerprint (${mode}): KFP 3 keys for ${fmtInt(t.kfp3Keys)} of ${fmtInt(t.serving)} cache-serving tasks (SUCCEEDED, fingerprinted); the others keep the MLMD value`
      : `tasks.Fingerprint (${mode}): the MLMD value for all ${fmtInt(t.serving)} cache-serving tasks (no KFP 3 cache hits)`,
    `Cache-serving tasks lacking a declared output parameter or artifact (a hit on them would lack it): ${fmtInt(t.servingWithoutOutputs)}`,
  );
  return lines;
}
