/** One message and one hint for every way opening a database server connection fails. */
import { BridgeError } from '../errors.ts';
import type { DbTarget } from './url.ts';

export function connectionError(role: string, target: DbTarget, e: unknown): BridgeError {
  const err = e as { code?: string; errno?: number; message?: string };
  const why = err.code ? `${err.code}: ${err.message}` : String(err.message ?? e);
  return new BridgeError('CONNECTION', `cannot connect to the ${role} at ${target.display} (${why})`, connectionHint(target, err), { cause: e });
}

function connectionHint(target: DbTarget, err: { code?: string; errno?: number }): string {
  switch (err.code) {
    case 'ER_BAD_DB_ERROR':
    case '3D000': // invalid_catalog_name
      return 'check the database name in the URL';
    case 'ER_ACCESS_DENIED_ERROR':
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification: no such role, or pg_hba.conf turns it away
      return 'check the user and password in the URL';
    case '42501': // insufficient_privilege: the role may not connect to this database
      if (target.dialect === 'postgres') return `let the role connect: GRANT CONNECT ON DATABASE "${target.database}" TO "${target.user}"`;
  }
  if (err.errno === 1698) return 'check the user and password in the URL';
  return 'check that the server is running and the host and port are right';
}
