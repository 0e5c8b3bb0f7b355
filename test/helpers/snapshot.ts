/**
 * A canonical text dump of a database (schema and every row, rows sorted), and its checksum: how the
 * integration tests prove "byte-identical", "unchanged" and "as it was before".
 */
import { createHash } from 'node:crypto';
import { openDb } from '../../src/db/connection.ts';
import { showCreateTable } from '../../src/load/v1-tasks.ts';

export async function dumpDatabase(url: string, opts: { tables?: string[]; exclude?: string[]; ignoreColumns?: string[] } = {}): Promise<Record<string, string>> {
  const db = await openDb(url, { readOnly: true, role: 'test database' });
  try {
    const names =
      db.dialect === 'mysql'
        ? (await db.all<Record<string, string>>('SHOW TABLES')).map((r) => Object.values(r)[0]!)
        : db.dialect === 'postgres'
          ? (await db.all<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()')).map((r) => r.name)
          : (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")).map((r) => r.name);
    const out: Record<string, string> = {};
    for (const name of names.sort()) {
      if (opts.tables && !opts.tables.includes(name)) continue;
      if (opts.exclude?.includes(name)) continue;
      const ddl =
        db.dialect === 'mysql'
          ? String(Object.values((await db.all<Record<string, string>>(`SHOW CREATE TABLE \`${name}\``))[0]!)[1])
          : db.dialect === 'postgres'
            ? await showCreateTable(db, name)
            : (await db.all<{ sql: string }>("SELECT sql FROM sqlite_master WHERE tbl_name = ? ORDER BY type DESC, name", [name])).map((r) => r.sql).join(';\n');
      const q = db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
      const rows = await db.all<Record<string, unknown>>(`SELECT * FROM ${q}`);
      const lines = rows
        .map((r) => {
          for (const c of opts.ignoreColumns ?? []) delete r[c];
          return JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v));
        })
        .sort();
      out[name] = `${ddl}\n${lines.join('\n')}`;
    }
    return out;
  } finally {
    await db.close();
  }
}

export async function checksum(url: string, opts: Parameters<typeof dumpDatabase>[1] = {}): Promise<string> {
  const dump = await dumpDatabase(url, opts);
  return createHash('sha256').update(JSON.stringify(dump)).digest('hex');
}
