/**
 * Rows as the data of PostgreSQL's `COPY … FROM STDIN` in its text format: one line per row,
 * values separated by tabs, NULL as `\N`. COPY reads a row without parsing a statement or binding
 * a parameter.
 */
import type { Param } from './connection.ts';

/** Data handed to the server per write: large enough to keep messages few, small enough to bound the memory of one copy. */
const CHUNK_BYTES = 1 << 20;

/** What COPY's text format reads as an escape or a separator: each goes as its backslash escape. */
const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One value as COPY text: the same text the driver would have bound (numbers as JavaScript prints
 * them, booleans as t/f, binary as bytea's hex form). A NUL stays in the text; the server refuses it
 * (22021) as it refuses a bound one.
 */
export function copyTextValue(v: Param): string {
  if (v === null) return '\\N';
  switch (typeof v) {
    case 'string':
      return SPECIAL.test(v) ? v.replace(SPECIALS, (c) => ESCAPES[c]!) : v;
    case 'number':
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 't' : 'f';
    default:
      // bytea's hex input, its backslash escaped for COPY.
      return `\\\\x${v.toString('hex')}`;
  }
}

/** The rows as COPY text data, in chunks of about CHUNK_BYTES. */
export function copyTextChunks(rows: readonly (readonly Param[])[]): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let length = 0;
  for (const row of rows) {
    const line = `${row.map(copyTextValue).join('\t')}\n`;
    lines.push(line);
    // UTF-16 units, not bytes: a bound on the chunk's size is all that is needed.
    length += line.length;
    if (length >= CHUNK_BYTES) {
      chunks.push(Buffer.from(lines.join(''), 'utf8'));
      lines = [];
      length = 0;
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join(''), 'utf8'));
  return chunks;
}
