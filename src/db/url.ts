import { BridgeError } from '../errors.ts';

export type Dialect = 'mysql' | 'sqlite';

export type DbTarget =
  | { dialect: 'mysql'; host: string; port: number; user: string; password: string; database: string; display: string }
  | { dialect: 'sqlite'; path: string; display: string };

/**
 * Parses the connection URLs the CLI accepts: `mysql://user:pass@host:port/db` (also `mariadb://`)
 * and `sqlite:path/to/file.db`. PostgreSQL URLs are recognised so the refusal can be precise.
 */
export function parseDbUrl(raw: string, what = 'database URL'): DbTarget {
  const url = raw.trim();
  if (url === '') {
    throw new BridgeError('BAD_URL', `the ${what} is empty`, 'pass mysql://user:pass@host:port/db or sqlite:path/to/file.db');
  }
  if (/^sqlite:/i.test(url)) {
    let path = url.replace(/^sqlite:(\/\/)?/i, '');
    if (path === '') throw new BridgeError('BAD_URL', `the ${what} "${raw}" names no file`, 'write it as sqlite:path/to/file.db');
    path = decodeURIComponent(path);
    return { dialect: 'sqlite', path, display: `sqlite:${path}` };
  }
  if (/^(postgres|postgresql):\/\//i.test(url)) {
    throw new BridgeError(
      'UNSUPPORTED_DATABASE',
      `PostgreSQL is not yet supported (${what} ${redact(url)})`,
      'migrate from a MySQL/MariaDB or SQLite copy of the database for now; PostgreSQL support is planned',
    );
  }
  if (/^(mysql|mariadb):\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url.replace(/^mariadb:/i, 'mysql:'));
    } catch {
      throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" is not a valid URL`, 'write it as mysql://user:pass@host:port/db');
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (database === '' || database.includes('/')) {
      throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" names no database`, 'add the database name: mysql://user:pass@host:3306/metadb');
    }
    const port = u.port === '' ? 3306 : Number(u.port);
    return {
      dialect: 'mysql',
      host: u.hostname || '127.0.0.1',
      port,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database,
      display: `mysql://${decodeURIComponent(u.username || 'root')}@${u.hostname || '127.0.0.1'}:${port}/${database}`,
    };
  }
  throw new BridgeError(
    'BAD_URL',
    `the ${what} "${redact(url)}" has an unknown scheme`,
    'use mysql://user:pass@host:port/db or sqlite:path/to/file.db',
  );
}

/** Hides the password of a URL so it can be printed. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
