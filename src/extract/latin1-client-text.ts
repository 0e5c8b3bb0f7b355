/**
 * Text as MLMD's MySQL client leaves it in the database.
 *
 * ml-metadata links MariaDB Connector/C 3.0.8, whose default connection character set is latin1,
 * and never names another. It sends UTF-8 bytes regardless, so the server takes every byte for one
 * latin1 character: `é` (C3 A9) is stored as `Ã©`, in a utf8mb4 column as in a latin1 one. MLMD
 * reads it back over the same latin1 connection and sees its bytes again; a utf8mb4 reader sees the
 * two characters. MySQL's latin1 is Windows-1252, with its five unassigned bytes passed through as
 * the C1 controls of the same number.
 *
 * Undoing it is safe to attempt on any text: properly stored text either holds a character no
 * latin1 byte stands for, or its latin1 bytes are not valid UTF-8 (a lone `é` is E9). Only text
 * that is itself readable as such a byte sequence (`Ã©` meant literally) would be misread.
 */
import type { Db, Queryable, Row } from '../db/connection.ts';

/** Windows-1252's characters for bytes 0x80–0x9F; a number is a byte MySQL passes through. */
const CP1252_HIGH: readonly (string | number)[] = [
  '€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8d, 'Ž', 0x8f,
  0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9d, 'ž', 'Ÿ',
];

const CHAR_OF_BYTE: string[] = Array.from({ length: 256 }, (_, b) => {
  if (b < 0x80 || b > 0x9f) return String.fromCharCode(b);
  const c = CP1252_HIGH[b - 0x80]!;
  return typeof c === 'number' ? String.fromCharCode(c) : c;
});
const BYTE_OF_CHAR = new Map(CHAR_OF_BYTE.map((c, b) => [c, b]));

// Every character past ASCII takes two or more UTF-8 bytes; native byte counting is the quickest test.
const isAscii = (text: string) => Buffer.byteLength(text, 'utf8') === text.length;
// ignoreBOM keeps a leading U+FEFF the writer sent: the decoder would otherwise drop it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text a latin1-connected writer meant, or `text` itself when it cannot be such a misreading. */
export function fromLatin1Client(text: string): string {
  if (isAscii(text)) return text;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = BYTE_OF_CHAR.get(text[i]!);
    if (b === undefined) return text;
    bytes[i] = b;
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return text;
  }
}

/** What MLMD's client stores for `text` (the inverse of `fromLatin1Client`). */
export function asLatin1Client(text: string): string {
  if (isAscii(text)) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += CHAR_OF_BYTE[b]!;
  return out;
}

/** Every string a MySQL MLMD database may hold for a value read as `text`, for lookups by value. */
export function latin1ClientSpellings(text: string): string[] {
  const stored = asLatin1Client(text);
  return stored === text ? [text] : [text, stored];
}

function repairRows<T>(rows: T[]): T[] {
  for (const row of rows as Row[]) {
    for (const key of Object.keys(row)) {
      const v = row[key];
      if (typeof v !== 'string') continue;
      const text = fromLatin1Client(v);
      if (text !== v) row[key] = text;
    }
  }
  return rows;
}

function repairValues(rows: unknown[][]): unknown[][] {
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (typeof v === 'string') row[i] = fromLatin1Client(v);
    }
  }
  return rows;
}

function repairing(q: Queryable): Queryable {
  return {
    dialect: q.dialect,
    storedName: (name) => q.storedName(name),
    all: async <T>(sql: string, params?: Parameters<Queryable['all']>[1]) => repairRows(await q.all<T>(sql, params)),
    values: async (sql, params) => repairValues(await q.values(sql, params)),
    run: (sql, params) => q.run(sql, params),
  };
}

/** `db` with every text column it reads undone as `fromLatin1Client` does. */
export function readingLatin1ClientText(db: Db): Db {
  return {
    ...repairing(db),
    target: db.target,
    transaction: (fn) => db.transaction((tx) => fn(repairing(tx))),
    session: (fn) => db.session((s) => fn(repairing(s))),
    close: () => db.close(),
  };
}
