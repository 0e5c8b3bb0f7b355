/**
 * The operator documentation against the code: the mapping reference lists exactly the reject and
 * lossy codes the code reports, with the same meaning, and every relative link in README.md and
 * docs/ names a file of the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOSSY_CODES } from '../src/transform/lossy-codes.ts';
import { REJECT_CODES } from '../src/transform/reject-codes.ts';
import { ROOT } from './helpers/package.ts';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The rows of the markdown table that follows `heading`, as arrays of cells (backticks removed). */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start + heading.length + 2).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const table = lines.slice(first, lines.findIndex((l, i) => i > first && !l.startsWith('|')));
  return table.slice(2).map((row) => row.slice(1, -1).split(' | ').map((cell) => cell.trim().replace(/^`|`$/g, '')));
}

describe('docs/mapping.md', () => {
  const mapping = read('docs/mapping.md');

  it('lists every reject code, in the code order, with its disposition and meaning', () => {
    expect(tableAfter(mapping, '## Rejected and adjusted records')).toEqual(Object.entries(REJECT_CODES).map(([code, r]) => [code, r.disposition, r.doc]));
  });

  it('lists every lossy transformation verify accepts, in the code order, with its reason', () => {
    expect(tableAfter(mapping, '## Documented lossy transformations (`verify`)')).toEqual(Object.entries(LOSSY_CODES).map(([code, r]) => [code, r.doc]));
  });
});

describe('links', () => {
  // Written on other branches at the same time; the merge into main brings them.
  const PENDING = new Set(['docs/shim.md', 'docs/configuration.md']);
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

  /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
  const anchor = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
  const anchorsOf = (file: string) => new Set([...read(file).matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));

  it.each(files)('every relative link in %s names a file of the repository, and a heading of it', (file) => {
    const links = [...read(file).matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)].map((m) => ({ path: m[1]!, fragment: m[2] }));
    const broken = links
      .filter((l) => !/^[a-z]+:/.test(l.path))
      .map((l) => ({ ...l, target: l.path === '' ? file : join(dirname(file), l.path) }))
      .filter((l) => !PENDING.has(l.target))
      .filter((l) => !existsSync(join(ROOT, l.target)) || (l.fragment !== undefined && !anchorsOf(l.target).has(l.fragment)))
      .map((l) => `${l.path}${l.fragment ? `#${l.fragment}` : ''}`);
    expect(links.length).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });
});
