/**
 * The mapping options a migration is bound to (`--fingerprints`, `--publish-logs`). The first
 * migrate into a KFP database records them in mlmd_bridge_state; every later one — a resumed or
 * true-up migrate, verify — keeps them, because runs a later migrate skips as unchanged keep the
 * fingerprints they were written with, and a database must not hold two kinds.
 */
import type { Queryable } from '../db/connection.ts';
import { BridgeError } from '../errors.ts';
import { getState, setState, STATE_KEYS } from '../load/bridge-tables.ts';
import { tableExists } from '../load/schema.ts';
import { DEFAULT_MAPPING_OPTIONS, type MappingOptions } from '../transform/fingerprints.ts';

/** What the command line asked for; a field left out means "what the database recorded, else the default". */
export type RequestedMappingOptions = Partial<MappingOptions>;

/**
 * The options recorded in the KFP database, or null when no migration recorded any. A database
 * migrated before the options existed copied MLMD's fingerprints: that is what it holds.
 */
export async function recordedMappingOptions(db: Queryable): Promise<MappingOptions | null> {
  if (!(await tableExists(db, 'mlmd_bridge_state'))) return null;
  const fingerprints = await getState(db, STATE_KEYS.fingerprints);
  const publishLogs = await getState(db, STATE_KEYS.publishLogs);
  if (fingerprints === 'kfp3' || fingerprints === 'mlmd') return { fingerprints, publishLogs: publishLogs !== 'false' };
  const migratedBefore = (await tableExists(db, 'mlmd_bridge_runs')) && (await db.all('SELECT 1 FROM mlmd_bridge_runs LIMIT 1')).length > 0;
  return migratedBefore ? { fingerprints: 'mlmd', publishLogs: DEFAULT_MAPPING_OPTIONS.publishLogs } : null;
}

/** The recorded options, the requested ones where none are recorded; refuses a request that contradicts the record (exit 3). */
export function settleMappingOptions(recorded: MappingOptions | null, requested: RequestedMappingOptions): MappingOptions {
  if (!recorded) return { ...DEFAULT_MAPPING_OPTIONS, ...definedOnly(requested) };
  const conflicts: string[] = [];
  if (requested.fingerprints !== undefined && requested.fingerprints !== recorded.fingerprints) {
    conflicts.push(`--fingerprints ${requested.fingerprints} (this database holds ${recorded.fingerprints} fingerprints)`);
  }
  // PUBLISH_LOGS only enters KFP 3 keys.
  if (requested.publishLogs !== undefined && requested.publishLogs !== recorded.publishLogs && recorded.fingerprints === 'kfp3') {
    conflicts.push(`--publish-logs ${requested.publishLogs} (its KFP 3 keys were computed for --publish-logs ${recorded.publishLogs})`);
  }
  if (conflicts.length > 0) {
    throw new BridgeError(
      'OPTION_CONFLICT',
      `${conflicts.join(' and ')}: runs migrated earlier keep what they were written with, and one database cannot hold both`,
      'leave the option out to keep the recorded value, or run `mlmd-bridge rollback --kfp <url>` and migrate again with the new one',
    );
  }
  return recorded;
}

export async function recordMappingOptions(db: Queryable, o: MappingOptions): Promise<void> {
  await setState(db, STATE_KEYS.fingerprints, o.fingerprints);
  await setState(db, STATE_KEYS.publishLogs, String(o.publishLogs));
}

function definedOnly(o: RequestedMappingOptions): RequestedMappingOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
