// The filter_query parser and evaluator under arbitrary input (fast-check): every text either
// parses or is refused with INVALID_ARGUMENT (never another error, never a stack overflow), and
// evaluating a parsed query never throws and does a bounded amount of work, counted in steps (a
// node evaluated, a character compared by LIKE, a choice of neighbour rows) — not timed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeKind } from '../src/shim/backend.ts';
import { matchesFilter, type NeighbourRow, type WorkMeter } from '../src/shim/filter-eval.ts';
import { type FilterQuery, parseFilterQuery } from '../src/shim/filter-query.ts';
import { compileLike, likeMatches } from '../src/shim/like.ts';
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from '../src/shim/limits.ts';
import { RpcError } from '../src/shim/status.ts';
import { artifact, execution } from './helpers/filter-nodes.ts';

class CountingMeter implements WorkMeter {
  steps = 0;
  pauseDue = false;
  work(n: number): void {
    this.steps += n;
  }
}

/** Parses, and returns the query or the refusal; anything but INVALID_ARGUMENT fails the test. */
function parseOrRefuse(text: string, kind: NodeKind): FilterQuery | RpcError {
  try {
    return parseFilterQuery(text, kind);
  } catch (e) {
    expect(e, `"${text.slice(0, 80)}" threw something other than an RpcError`).toBeInstanceOf(RpcError);
    expect((e as RpcError).status).toBe('INVALID_ARGUMENT');
    expect(Buffer.byteLength((e as RpcError).message)).toBeLessThanOrEqual(1000);
    return e as RpcError;
  }
}

const LONG = 'x'.repeat(300);

const node = {
  artifact: artifact({
    uri: `s3://bucket/${'a'.repeat(60)}`,
    name: 'named',
    properties: { size: { kind: 'int', value: 10 } },
    customProperties: { display_name: { kind: 'string', value: LONG }, accuracy: { kind: 'double', value: 0.5 }, flag: { kind: 'bool', value: true } },
  }),
  execution: execution(),
};

const contextRows: NeighbourRow[] = Array.from({ length: 3 }, (_, i) => ({ id: i + 1, name: `ctx-${i}-${'b'.repeat(20)}`, type: 'system.PipelineRun', create_time_since_epoch: i, last_update_time_since_epoch: i }));
const eventRows: NeighbourRow[] = [
  { type: 3, milliseconds_since_epoch: 5, execution_id: 7, artifact_id: 3 },
  { type: 4, milliseconds_since_epoch: 6, execution_id: 8, artifact_id: 4 },
];

/** Longest string a node or neighbour row holds (what one LIKE comparison may walk). */
const LONGEST_VALUE = LONG.length;

/** The neighbours every alias of `q` joins: three contexts, two events. */
function neighboursFor(q: FilterQuery): Map<string, readonly NeighbourRow[]> {
  return new Map(q.joins.map((j) => [j.alias, j.relation === 'events' ? eventRows : contextRows]));
}

/**
 * A bound on the steps of one node's evaluation: each choice of neighbour rows evaluates every
 * expression node once (at most the query's length of them), and a LIKE compares at most
 * (value length + 1) × (pattern length + 1) characters.
 */
function stepBound(q: FilterQuery): number {
  let choices = 1;
  for (const j of q.joins) choices *= j.relation === 'events' ? eventRows.length : contextRows.length;
  return choices * (q.text.length + 1) * (LONGEST_VALUE + 2) * 2;
}

// ------------------------------------------------------------------ a grammar of filters

const attribute = fc.constantFrom('id', 'type_id', 'name', 'uri', 'type', 'external_id', 'create_time_since_epoch', 'last_update_time_since_epoch', 'state', 'last_known_state');
const property = fc
  .tuple(fc.constantFrom('properties', 'custom_properties'), fc.constantFrom('size', 'display_name', 'accuracy', 'flag', 'task_name', '`odd:name`'), fc.constantFrom('int_value', 'double_value', 'string_value', 'bool_value'))
  .map(([p, n, f]) => `${p}.${n}.${f}`);
const neighbour = fc
  .tuple(fc.constantFrom('contexts', 'events', 'parent_contexts', 'artifacts'), fc.constantFrom('a', 'b', '0'), fc.constantFrom('id', 'name', 'type', 'execution_id', 'milliseconds_since_epoch'))
  .map(([r, a, f]) => `${r}_${a}.${f}`);
const column = fc.oneof(attribute, property, neighbour);
const likePattern = fc.array(fc.constantFrom('%', '_', 'a', 'b', 'x', '\\%', 's3://'), { maxLength: 12 }).map((parts) => `'${parts.join('')}'`);
const literal = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => d.toString()),
  fc.string({ maxLength: 8 }).map((s) => `'${s.replace(/['\\]/g, '')}'`),
  fc.constantFrom('TRUE', 'FALSE', 'NULL', 'LIVE', 'COMPLETE', 'INPUT', 'OUTPUT'),
);
const operand = fc.oneof(column, literal);

const predicate = fc.oneof(
  fc.tuple(operand, fc.constantFrom('=', '!=', '<>', '<', '<=', '>', '>=', '=='), operand).map(([a, op, b]) => `${a} ${op} ${b}`),
  fc.tuple(operand, fc.boolean(), likePattern).map(([a, not, p]) => `${a} ${not ? 'NOT ' : ''}LIKE ${p}`),
  fc.tuple(operand, fc.boolean(), fc.array(literal, { minLength: 1, maxLength: 6 })).map(([a, not, xs]) => `${a} ${not ? 'NOT ' : ''}IN (${xs.join(', ')})`),
  fc.tuple(operand, fc.boolean()).map(([a, not]) => `${a} IS ${not ? 'NOT ' : ''}NULL`),
  fc.tuple(operand, operand, operand).map(([a, b, c]) => `${a} BETWEEN ${b} AND ${c}`),
  fc.tuple(operand, fc.constantFrom('+', '-', '*', '/'), operand, operand).map(([a, op, b, c]) => `${a} ${op} ${b} > ${c}`),
);

const { expr: filterText } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    predicate,
    fc.tuple(tie('expr'), fc.constantFrom('AND', 'OR', 'and', 'Or'), tie('expr')).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie('expr').map((e) => `NOT ${e}`),
    tie('expr').map((e) => `(${e})`),
  ),
}));

describe('filter_query under arbitrary input', () => {
  it('any text parses or is refused with INVALID_ARGUMENT and a short message', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 200 }), filterText.map((t) => t.slice(0, 150))), fc.constantFrom<NodeKind>('artifact', 'execution', 'context'), (text, kind) => {
        parseOrRefuse(text, kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('a parsed query evaluates without throwing, within a bounded number of steps', () => {
    let evaluated = 0;
    fc.assert(
      fc.property(filterText, fc.constantFrom<NodeKind>('artifact', 'execution'), (text, kind) => {
        const q = parseOrRefuse(text, kind);
        if (q instanceof RpcError) return;
        evaluated++;
        const meter = new CountingMeter();
        const result = matchesFilter(q, { node: kind === 'artifact' ? node.artifact : node.execution, neighbours: neighboursFor(q) }, meter);
        expect(typeof result).toBe('boolean');
        expect(meter.steps).toBeLessThanOrEqual(stepBound(q));
      }),
      { numRuns: 3000 },
    );
    // The grammar is not so broken that nothing parses.
    expect(evaluated).toBeGreaterThan(300);
  });

  it('LIKE does not backtrack: the patterns that froze the server cost at most (text + 1) × (pattern + 1) comparisons', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 30 }), fc.constantFrom('b', 'a', '_', ''), (n, k, tail) => {
        const text = 'a'.repeat(n);
        const pattern = `${'%a'.repeat(k)}%${tail}`;
        const meter = new CountingMeter();
        const matched = likeMatches(compileLike(pattern), text, meter);
        // The same answer a regular expression gives, on inputs small enough for it.
        if (n <= 40 && k <= 6) expect(matched).toBe(new RegExp(`^${pattern.replace(/%/g, '.*').replace(/_/g, '.')}$`, 's').test(text));
        expect(meter.steps).toBeLessThanOrEqual((n + 1) * (pattern.length + 1));
        // Counted at all: a matcher that does not count its work could not be bounded by it.
        expect(meter.steps).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it("the issue's reproduction: 40 and 50 a's against '%a%a%a%a%a%a%a%a%b' take at most 2n comparisons", () => {
    for (const n of [40, 50]) {
      const meter = new CountingMeter();
      expect(likeMatches(compileLike('%a%a%a%a%a%a%a%a%b'), 'a'.repeat(n), meter)).toBe(false);
      expect(meter.steps).toBeLessThanOrEqual(2 * n);
      expect(meter.steps).toBeGreaterThan(0);
    }
  });

  it('LIKE agrees with a regular expression on random patterns and texts (case-insensitive, escapes)', () => {
    const chars = fc.constantFrom('a', 'B', 'b', '%', '_', '\\', 'é', 'É', 'x');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 10 }), fc.array(fc.constantFrom('a', 'A', 'b', 'B', 'é', 'É', 'x', '%', '_', '\\'), { maxLength: 12 }), (p, t) => {
        const pattern = p.join('');
        const text = t.join('');
        let body = '';
        for (let i = 0; i < pattern.length; i++) {
          const c = pattern[i]!;
          if (c === '\\' && i + 1 < pattern.length) body += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
          else if (c === '%') body += '[\\s\\S]*';
          else if (c === '_') body += '[\\s\\S]';
          else body += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        }
        const expected = new RegExp(`^${body}$`, 'i').test(text);
        expect(likeMatches(compileLike(pattern), text, new CountingMeter())).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('nesting and length beyond the limits are INVALID_ARGUMENT, never a stack overflow', () => {
    const cases = [
      `${'('.repeat(948)}id = 1${')'.repeat(948)}`,
      `${'NOT '.repeat(5000)}id = 1`,
      `id = ${'-'.repeat(50_000)}1`,
      `id = ${Array.from({ length: 20_000 }, () => '1').join(' + ')}`,
      `id = 1 AND ${'('.repeat(MAX_FILTER_DEPTH + 1)}id = 1${')'.repeat(MAX_FILTER_DEPTH + 1)}`,
      `name = '${'z'.repeat(MAX_FILTER_LENGTH)}'`,
    ];
    for (const text of cases) {
      const r = parseOrRefuse(text, 'artifact');
      expect(r, text.slice(0, 40)).toBeInstanceOf(RpcError);
      expect((r as RpcError).message.length).toBeLessThan(400);
    }
    // Just inside the limits still parses.
    expect(parseOrRefuse(`${'('.repeat(MAX_FILTER_DEPTH - 2)}id = 1${')'.repeat(MAX_FILTER_DEPTH - 2)}`, 'artifact')).not.toBeInstanceOf(RpcError);
  });
});
