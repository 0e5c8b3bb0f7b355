/**
 * Statements are written once, in the spelling MySQL and SQLite both read: identifiers in
 * backticks, parameters as `?`. PostgreSQL reads neither, so a PostgreSQL connection renders each
 * statement before sending it: a backtick-quoted name becomes a double-quoted one, and the n-th `?`
 * becomes `$n`. Quoted strings, double-quoted names and comments are copied as they are, so a `?`
 * or a backtick inside them stays text. (No statement of this project uses PostgreSQL's own `$n`,
 * dollar quoting or the `?` JSON operators, which this spelling could not express.)
 *
 * PostgreSQL folds unquoted names to lower case, so a schema created by unquoted DDL — MLMD's —
 * holds `artifact` where the statements say `Artifact`; with `foldNames` the rendered names are
 * lower-cased the same way (ASCII letters only, as PostgreSQL does in a UTF-8 database). Without
 * it they keep their case: GORM's KFP tables are created with quoted mixed-case names.
 */

import type { Dialect } from './url.ts';

/** The characters that may start something the renderer must handle; everything else is copied. */
const SPECIAL = /[?'"`/-]/g;

export function renderForPostgres(sql: string, foldNames: boolean): string {
  let out = '';
  let copiedUpTo = 0;
  let n = 0;
  SPECIAL.lastIndex = 0;
  for (let m = SPECIAL.exec(sql); m !== null; m = SPECIAL.exec(sql)) {
    const i = m.index;
    switch (sql[i]) {
      case '?':
        out += `${sql.slice(copiedUpTo, i)}$${++n}`;
        copiedUpTo = i + 1;
        break;
      case "'":
      case '"':
        SPECIAL.lastIndex = endOfQuoted(sql, i);
        break;
      case '`': {
        const end = endOfQuoted(sql, i);
        let name = sql.slice(i + 1, end - 1).replaceAll('``', '`');
        if (foldNames) name = foldName(name);
        out += `${sql.slice(copiedUpTo, i)}"${name.replaceAll('"', '""')}"`;
        copiedUpTo = end;
        SPECIAL.lastIndex = end;
        break;
      }
      case '-':
        if (sql[i + 1] === '-') {
          const eol = sql.indexOf('\n', i);
          SPECIAL.lastIndex = eol < 0 ? sql.length : eol;
        }
        break;
      case '/':
        if (sql[i + 1] === '*') {
          const close = sql.indexOf('*/', i + 2);
          SPECIAL.lastIndex = close < 0 ? sql.length : close + 2;
        }
        break;
    }
  }
  return out + sql.slice(copiedUpTo);
}

/** A name as PostgreSQL stores it when written unquoted: ASCII letters lower-cased, as it does in a UTF-8 database. */
export function foldName(name: string): string {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** The index just past the quote that closes the one at `start` (a doubled quote is part of the text). */
function endOfQuoted(sql: string, start: number): number {
  const quote = sql[start]!;
  let i = start + 1;
  for (;;) {
    const close = sql.indexOf(quote, i);
    // Unterminated: the rest is taken as quoted, and the server reports the statement.
    if (close < 0) return sql.length;
    if (sql[close + 1] !== quote) return close + 1;
    i = close + 2;
  }
}

/**
 * Whether a text column of `dialect` can hold `text`: PostgreSQL's cannot hold U+0000 (and refuses
 * such a parameter outright), so a lookup by such a text finds nothing there without asking.
 */
export function storableText(dialect: Dialect, text: string): boolean {
  return dialect !== 'postgres' || !text.includes('\0');
}
