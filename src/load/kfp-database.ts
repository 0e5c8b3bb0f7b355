/**
 * The KFP database as the commands that build, check or serve the KFP 3 tables open it: migrate,
 * plan, verify, status, rollback and the shim's --kfp. MySQL/MariaDB, PostgreSQL and SQLite alike;
 * on PostgreSQL the KFP tables keep the mixed-case names GORM quoted, so names are sent as written.
 */
import { type Db, openDb, type OpenOptions, type Queryable } from '../db/connection.ts';
import { type DbTarget, type Dialect, parseDbUrl } from '../db/url.ts';

/** The dialects the KFP 3 target side writes and checks: all of them. */
export type TargetDialect = Dialect;

/** The KFP database a URL names: commands check it before they open anything else. */
export function kfpDatabaseTarget(url: string | DbTarget): DbTarget {
  return typeof url === 'string' ? parseDbUrl(url, 'KFP database URL') : url;
}

export async function openKfpDatabase(url: string | DbTarget, options: Omit<OpenOptions, 'role'> = {}): Promise<Db> {
  return openDb(kfpDatabaseTarget(url), { ...options, role: 'KFP database' });
}

/** The dialect of a KFP database the target side works on. */
export function targetDialect(db: Pick<Queryable, 'dialect'>): TargetDialect {
  return db.dialect;
}
