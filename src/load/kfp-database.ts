/**
 * The KFP database as the commands that build, check or serve the KFP 3 tables open it: migrate,
 * plan, verify, status, rollback and the shim's --kfp. MySQL/MariaDB, PostgreSQL and SQLite alike;
 * on PostgreSQL the KFP tables keep the mixed-case names GORM quoted, so names are sent as written.
 */
import { type Db, openDb, type OpenOptions, type Queryable } from '../db/connection.ts';
import { type DbTarget, type Dialect, parseDbUrl } from '../db/url.ts';
import { BridgeError } from '../errors.ts';

/** The dialects the KFP 3 target side writes and checks: all of them. */
export type TargetDialect = Dialect;

/** The KFP database a URL names: commands check it before they open anything else. */
export function kfpDatabaseTarget(url: string | DbTarget): DbTarget {
  return typeof url === 'string' ? parseDbUrl(url, 'KFP database URL') : url;
}

/**
 * `stage` and `cutover` build KFP 3's tables beside KFP 2.x's and swap them in; on PostgreSQL that
 * swap (and its index names) is not written yet, so those two commands refuse a PostgreSQL KFP
 * database before anything is opened. `migrate` does the same upgrade in one window there.
 */
export function refuseStagedUpgradeOn(url: string | DbTarget, command: 'stage' | 'cutover'): void {
  const target = kfpDatabaseTarget(url);
  if (target.dialect !== 'postgres') return;
  throw new BridgeError(
    'UNSUPPORTED_DATABASE',
    `${command}: the staged upgrade of a KFP database on PostgreSQL is not supported yet (${target.display})`,
    'upgrade in one maintenance window instead: stop KFP 2.x, run mlmd-bridge migrate, then start KFP 3',
  );
}

export async function openKfpDatabase(url: string | DbTarget, options: Omit<OpenOptions, 'role'> = {}): Promise<Db> {
  return openDb(kfpDatabaseTarget(url), { ...options, role: 'KFP database' });
}

/** The dialect of a KFP database the target side works on. */
export function targetDialect(db: Pick<Queryable, 'dialect'>): TargetDialect {
  return db.dialect;
}
