import { BridgeError } from '../errors.ts';

export type Dialect = 'mysql' | 'sqlite' | 'postgres';

/** How a PostgreSQL connection uses TLS (libpq's sslmode values that node-postgres can honour). */
export type PostgresSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export type DbTarget =
  | { dialect: 'mysql'; host: string; port: number; user: string; password: string; database: string; display: string }
  | { dialect: 'postgres'; host: string; port: number; user: string; password: string; database: string; sslmode: PostgresSslMode; display: string }
  | { dialect: 'sqlite'; path: string; display: string };

const FORMS = 'mysql://user:pass@host:port/db, postgres://user:pass@host:port/db or sqlite:path/to/file.db';

/**
 * Parses the connection URLs the CLI accepts: `mysql://user:pass@host:port/db` (also `mariadb://`),
 * `postgres://user:pass@host:port/db[?sslmode=…]` (also `postgresql://`) and `sqlite:path/to/file.db`.
 */
export function parseDbUrl(raw: string, what = 'database URL'): DbTarget {
  const url = raw.trim();
  if (url === '') {
    throw new BridgeError('BAD_URL', `the ${what} is empty`, `pass ${FORMS}`);
  }
  if (/^sqlite:/i.test(url)) {
    let path = url.replace(/^sqlite:(\/\/)?/i, '');
    if (path === '') throw new BridgeError('BAD_URL', `the ${what} "${raw}" names no file`, 'write it as sqlite:path/to/file.db');
    path = decodeURIComponent(path);
    return { dialect: 'sqlite', path, display: `sqlite:${path}` };
  }
  if (/^(postgres|postgresql):\/\//i.test(url)) return parsePostgresUrl(url, what);
  if (/^(mysql|mariadb):\/\//i.test(url)) {
    const { u, database } = serverUrl(url.replace(/^mariadb:/i, 'mysql:'), what, 'mysql://user:pass@host:3306/metadb');
    const port = u.port === '' ? 3306 : Number(u.port);
    const user = decodeURIComponent(u.username || 'root');
    const host = u.hostname || '127.0.0.1';
    return {
      dialect: 'mysql',
      host,
      port,
      user,
      password: decodeURIComponent(u.password),
      database,
      display: `mysql://${user}@${host}:${port}/${database}`,
    };
  }
  throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" has an unknown scheme`, `use ${FORMS}`);
}

/** The URL and its database name (the path), refused when either is missing or malformed. */
function serverUrl(url: string, what: string, example: string): { u: URL; database: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" is not a valid URL`, `write it as ${example}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) {
    throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" names no database`, `add the database name: ${example}`);
  }
  return { u, database };
}

const SSL_MODES: Record<string, PostgresSslMode> = {
  disable: 'disable',
  // node-postgres cannot fall back from TLS to plain text as libpq does for these two; they connect
  // without TLS, which is what libpq ends up doing against a server that offers none.
  allow: 'disable',
  prefer: 'disable',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

function parsePostgresUrl(url: string, what: string): DbTarget {
  const example = 'postgres://user:pass@host:5432/metadb';
  const { u, database } = serverUrl(url.replace(/^postgresql:/i, 'postgres:'), what, example);
  let sslmode: PostgresSslMode = 'disable';
  for (const [key, value] of u.searchParams) {
    if (key !== 'sslmode') {
      throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" has the parameter "${key}", which mlmd-bridge does not take`, 'remove it; the only parameter understood is sslmode');
    }
    const mode = SSL_MODES[value];
    if (!mode) {
      throw new BridgeError('BAD_URL', `the ${what} "${redact(url)}" has sslmode=${value}`, `use one of ${Object.keys(SSL_MODES).join(', ')}`);
    }
    sslmode = mode;
  }
  const port = u.port === '' ? 5432 : Number(u.port);
  const user = decodeURIComponent(u.username || 'postgres');
  // An IPv6 address comes bracketed, as a URL writes it; the driver wants it bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return {
    dialect: 'postgres',
    host,
    port,
    user,
    password: decodeURIComponent(u.password),
    database,
    sslmode,
    display: `postgres://${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${database}${sslmode === 'disable' ? '' : `?sslmode=${sslmode}`}`,
  };
}

/** Hides the password of a URL so it can be printed. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
