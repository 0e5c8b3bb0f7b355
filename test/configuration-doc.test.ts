/**
 * docs/configuration.md cannot fall behind the code: every option of the CLI's own commander program
 * (buildProgram) and of the bench's (benchProgram) has a row in its command's section, with its
 * default and environment variable; every environment variable the code reads is in the
 * environment table; every reject and lossy code is in the user documentation. Other engineers add
 * commands and flags: this test names what the doc lacks.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { benchProgram } from '../bench/args.ts';
import { HEAP_GROWTH_ENV } from '../src/cli/heap-growth.ts';
import { buildProgram } from '../src/cli/main.ts';
import { LOSSY_CODES } from '../src/transform/lossy-codes.ts';
import { REJECT_CODES } from '../src/transform/reject-codes.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');

/** The doc's `## ` sections by heading. */
const sections = new Map<string, string>();
for (const part of DOC.split(/^## /m).slice(1)) {
  const newline = part.indexOf('\n');
  sections.set(part.slice(0, newline).trim(), part.slice(newline + 1));
}
const tableRows = (section: string) => section.split('\n').filter((l) => l.startsWith('| `'));

/** Every problem with one program's options in its section: a missing section, option, default or environment variable. */
function problems(heading: string, command: Command): string[] {
  const section = sections.get(heading);
  if (section === undefined) return [`no section "## ${heading}"`];
  const rows = tableRows(section);
  const out: string[] = [];
  for (const option of command.options as readonly Option[]) {
    const flag = option.long ?? option.short!;
    const row = rows.find((r) => r.split('|')[1]!.includes(`\`${flag} `) || r.split('|')[1]!.includes(`\`${flag}\``));
    if (!row) {
      out.push(`${heading}: no row for ${flag}`);
      continue;
    }
    // A negated flag (--no-shim) carries commander's implicit `true`; its row says what happens without it.
    if (option.defaultValue !== undefined && !option.negate && !row.split('|')[2]!.includes(String(option.defaultValue))) {
      out.push(`${heading}: the row of ${flag} does not give its default ${JSON.stringify(option.defaultValue)}`);
    }
    if (option.envVar && !row.includes(`\`${option.envVar}\``)) out.push(`${heading}: the row of ${flag} does not name ${option.envVar}`);
  }
  return out;
}

/** Every name read as process.env.NAME or process.env['NAME'] in the code users run (src, bin, bench) and the tests' helpers. */
function environmentVariablesRead(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js|mjs)$/.test(entry)) {
        for (const m of readFileSync(path, 'utf8').matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g)) names.add(m[1] ?? m[2]!);
      }
    }
  };
  for (const dir of ['src', 'bin', 'bench', 'test/helpers']) walk(join(ROOT, dir));
  return names;
}

describe('docs/configuration.md', () => {
  const program = buildProgram(() => {}, () => {});

  it('has a row, default and environment variable for every option of every mlmd-bridge command', () => {
    expect(program.commands.length).toBeGreaterThan(0);
    const missing = program.commands.flatMap((c) => problems(`\`mlmd-bridge ${c.name()}\``, c));
    expect(missing).toEqual([]);
  });

  it('documents the options every command has (--help, --version)', () => {
    const rows = tableRows(sections.get('Every command') ?? '');
    const flags = [...(program.options as readonly Option[]).map((o) => o.long!), '--help'];
    expect(flags).toContain('--version');
    expect(flags.filter((f) => !rows.some((r) => r.includes(`\`${f}\``)))).toEqual([]);
  });

  it('has a row and default for every option of npm run bench', () => {
    const bench = benchProgram();
    expect(bench.options.length).toBeGreaterThan(0);
    expect(problems('`npm run bench`', bench)).toEqual([]);
  });

  it('lists every environment variable the code reads', () => {
    const names = environmentVariablesRead();
    names.add(HEAP_GROWTH_ENV); // read through its constant
    for (const c of program.commands) for (const o of c.options as readonly Option[]) if (o.envVar) names.add(o.envVar);
    // The scan found what it is there to find (a regression in the scan must not pass as "nothing missing").
    expect([...names]).toEqual(expect.arrayContaining(['MLMD_BRIDGE_WORKERS', 'MB_BENCH_MYSQL_HOST', 'MB_TEST_MYSQL_HOST', 'KFP_DB_URL']));
    const rows = tableRows(sections.get('Environment variables') ?? '');
    expect([...names].filter((n) => !rows.some((r) => r.startsWith(`| \`${n}\``))).sort()).toEqual([]);
  });
});

describe('the user documentation (README.md and docs/)', () => {
  const userDocs = [readFileSync(join(ROOT, 'README.md'), 'utf8'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8'))].join('\n');

  it('explains every reject code and every documented lossy transformation', () => {
    const codes = [...Object.keys(REJECT_CODES), ...Object.keys(LOSSY_CODES)];
    expect(codes.filter((c) => !userDocs.includes(`| \`${c}\` |`))).toEqual([]);
  });
});
