/**
 * Writes into a MySQL MLMD database as ml-metadata's own client does: connected with the latin1
 * character set (MariaDB Connector/C 3.0's default, which MLMD never overrides) while sending
 * UTF-8 bytes, so that the server keeps each byte as one latin1 character.
 */
import mysql from 'mysql2/promise';
import type { Param, Queryable } from '../../src/db/connection.ts';
import { parseDbUrl } from '../../src/db/url.ts';

export interface Latin1Writer extends Queryable {
  close(): Promise<void>;
}

/** A JS string whose latin1 encoding is `text`'s UTF-8 bytes: what goes over the wire is then those bytes. */
const asWireBytes = (p: Param): Param => (typeof p === 'string' ? Buffer.from(p, 'utf8').toString('latin1') : p);

export async function openLatin1Writer(url: string): Promise<Latin1Writer> {
  const target = parseDbUrl(url);
  if (target.dialect !== 'mysql') throw new Error('openLatin1Writer: only MySQL clients have a connection character set');
  const c = await mysql.createConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    charset: 'latin1_swedish_ci',
  });
  return {
    dialect: 'mysql',
    storedName: (name) => name,
    async all<T>(sql: string, params: readonly Param[] = []) {
      const [rows] = await c.query(sql, params.map(asWireBytes));
      return rows as T[];
    },
    async values(sql: string, params: readonly Param[] = []) {
      const [rows] = await c.query({ sql, rowsAsArray: true }, params.map(asWireBytes));
      return rows as unknown[][];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const [res] = await c.query(sql, params.map(asWireBytes));
      return { changes: (res as { affectedRows?: number }).affectedRows ?? 0 };
    },
    close: () => c.end(),
  };
}
