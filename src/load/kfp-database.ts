/**
 * The KFP database as the commands that build, check or serve the KFP 3 tables open it: migrate,
 * plan, verify, status, rollback and the shim's --kfp. On PostgreSQL those tables, the bookkeeping
 * and the lock do not exist yet, so such a database is refused before anything is read from it,
 * and each dialect-specific statement of the target side refuses it too (`targetDialect`).
 * (`seed` writes a KFP 2.x database on PostgreSQL through openDb.)
 */
import { type Db, openDb, type OpenOptions, type Queryable } from '../db/connection.ts';
import { type DbTarget, type Dialect, parseDbUrl } from '../db/url.ts';
import { BridgeError } from '../errors.ts';

/** The dialects the KFP 3 target side writes and checks. */
export type TargetDialect = Exclude<Dialect, 'postgres'>;

function unsupported(display?: string): BridgeError {
  return new BridgeError(
    'UNSUPPORTED_DATABASE',
    `the KFP database on PostgreSQL is not supported yet${display ? ` (${display})` : ''}`,
    'use a MySQL/MariaDB or SQLite KFP database for now; the MLMD database may be on PostgreSQL',
  );
}

/**
 * The KFP database a URL names, refused at once when it is on PostgreSQL: commands check it before
 * they open anything else, so an operator is not made to wait for the MLMD side first.
 */
export function kfpDatabaseTarget(url: string | DbTarget): DbTarget {
  const target = typeof url === 'string' ? parseDbUrl(url, 'KFP database URL') : url;
  if (target.dialect === 'postgres') throw unsupported(target.display);
  return target;
}

export async function openKfpDatabase(url: string | DbTarget, options: Omit<OpenOptions, 'role'> = {}): Promise<Db> {
  return openDb(kfpDatabaseTarget(url), { ...options, role: 'KFP database' });
}

/** The dialect of a KFP database the target side works on; PostgreSQL is refused. */
export function targetDialect(db: Pick<Queryable, 'dialect'>): TargetDialect {
  if (db.dialect === 'postgres') throw unsupported();
  return db.dialect;
}
