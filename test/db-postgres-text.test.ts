import { describe, expect, it } from 'vitest';
import { renderForPostgres } from '../src/db/postgres-text.ts';

describe('renderForPostgres', () => {
  it('numbers the placeholders and double-quotes backtick names, keeping their case', () => {
    expect(renderForPostgres('SELECT r.`UUID`, `x` FROM `run_details` r WHERE r.`UUID` IN (?, ?) AND r.n > ? LIMIT ?', false)).toBe(
      'SELECT r."UUID", "x" FROM "run_details" r WHERE r."UUID" IN ($1, $2) AND r.n > $3 LIMIT $4',
    );
  });

  it('folds backtick names to lower case for schemas created unquoted, ASCII letters only', () => {
    expect(renderForPostgres('SELECT t.`id` FROM `ArtifactProperty` p JOIN `Type` t ON `ÄName`', true)).toBe('SELECT t."id" FROM "artifactproperty" p JOIN "type" t ON "Äname"');
  });

  it('leaves strings, quoted names and comments alone, with the quotes doubled inside them', () => {
    const sql = "SELECT 'a?b''`c`?' AS \"we\"\"ird?\", `n` -- what? `x`\n, ? /* ? `y` */ , ?";
    expect(renderForPostgres(sql, true)).toBe("SELECT 'a?b''`c`?' AS \"we\"\"ird?\", \"n\" -- what? `x`\n, $1 /* ? `y` */ , $2");
  });

  it('unescapes a doubled backtick and escapes a double quote inside a name', () => {
    expect(renderForPostgres('SELECT `a``b"c` FROM t', false)).toBe('SELECT "a`b""c" FROM t');
  });

  it('copies a statement with nothing to render unchanged, minus signs and slashes included', () => {
    const sql = 'SELECT a - 1, b / 2, -3 FROM t WHERE x = $$';
    expect(renderForPostgres(sql, false)).toBe(sql);
  });

  it('takes the rest of a statement with an unterminated quote as quoted (the server then reports it)', () => {
    expect(renderForPostgres("SELECT ? WHERE a = 'open ?", false)).toBe("SELECT $1 WHERE a = 'open ?");
  });
});
