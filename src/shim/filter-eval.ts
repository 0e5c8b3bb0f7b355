/**
 * Evaluates a parsed filter_query against one node and its neighbours, with the semantics of the
 * SQL MLMD generates for it:
 * - SQL three-valued logic (a comparison with NULL is unknown, and unknown is not a match);
 * - every referenced property and every `<relation>_<alias>` is an INNER JOIN, so a node lacking
 *   one of them never matches, even under OR or NOT;
 * - a node matches when some choice of one row per alias makes the expression true (MLMD selects
 *   DISTINCT node ids over the joined rows).
 * LIKE compares case-insensitively, as it does on the SQLite and MySQL databases MLMD runs on.
 */
import { encodeStructValue } from '../extract/values.ts';
import type { MlmdValue } from '../transform/model.ts';
import type { AnyNode } from './backend.ts';
import type { Expr, FilterQuery, PropertyField } from './filter-query.ts';

export type Scalar = number | string | boolean | null;
export type NeighbourRow = Readonly<Record<string, Scalar>>;

export interface FilterSubject {
  node: AnyNode;
  /** Rows per join alias (`contexts_a` → the node's contexts as rows). */
  neighbours: ReadonlyMap<string, readonly NeighbourRow[]>;
}

export function matchesFilter(query: FilterQuery, subject: FilterSubject): boolean {
  const { node } = subject;
  for (const p of query.properties) {
    const bag = p.custom ? node.customProperties : node.properties;
    if (!Object.hasOwn(bag, p.name)) return false;
  }
  const aliases = query.joins.map((j) => j.alias);
  const choices = aliases.map((a) => subject.neighbours.get(a) ?? []);
  if (choices.some((rows) => rows.length === 0)) return false;
  const env = new Map<string, NeighbourRow>();
  const search = (i: number): boolean => {
    if (i === aliases.length) return evaluate(query.expr, node, env) === true;
    for (const row of choices[i]!) {
      env.set(aliases[i]!, row);
      if (search(i + 1)) return true;
    }
    return false;
  };
  return search(0);
}

/** The attribute columns of a node as the filter sees them. */
export function nodeAttribute(node: AnyNode, field: string): Scalar {
  switch (field) {
    case 'id':
      return node.id;
    case 'type_id':
      return node.typeId;
    case 'type':
      return node.type;
    case 'name':
      return node.name;
    case 'external_id':
      return node.externalId;
    case 'create_time_since_epoch':
      return node.createMs;
    case 'last_update_time_since_epoch':
      return node.updateMs;
    case 'uri':
      return 'uri' in node ? node.uri : null;
    case 'state':
      return 'state' in node ? node.state : null;
    case 'last_known_state':
      return 'lastKnownState' in node ? node.lastKnownState : null;
    default:
      return null;
  }
}

/** The value column a property row would have under `field` (NULL for the other columns). */
export function propertyColumn(value: MlmdValue | undefined, field: PropertyField): Scalar {
  if (!value) return null;
  switch (value.kind) {
    case 'int':
      return field === 'int_value' ? value.value : null;
    case 'double':
      return field === 'double_value' ? value.value : null;
    case 'string':
      return field === 'string_value' ? value.value : null;
    case 'bool':
      return field === 'bool_value' ? value.value : null;
    // Structs live in string_value as their encoded text; a broken one is that text as stored.
    case 'struct':
      return field === 'string_value' ? encodeStructValue(value.value) : null;
    case 'corrupt':
      return field === 'string_value' ? value.raw : null;
    case 'proto':
      return null;
  }
}

function evaluate(e: Expr, node: AnyNode, env: ReadonlyMap<string, NeighbourRow>): Scalar {
  const ev = (x: Expr) => evaluate(x, node, env);
  switch (e.op) {
    case 'literal':
      return e.value;
    case 'column': {
      const c = e.column;
      if (c.ref === 'attribute') return nodeAttribute(node, c.field);
      if (c.ref === 'property') return propertyColumn((c.custom ? node.customProperties : node.properties)[c.name], c.field);
      return env.get(c.alias)?.[c.field] ?? null;
    }
    case 'compare':
      return compare(e.cmp, ev(e.left), ev(e.right));
    case 'in': {
      const v = ev(e.operand);
      if (v === null) return null;
      let sawNull = false;
      for (const item of e.list) {
        const r = compare('=', v, ev(item));
        if (r === true) return !e.negated;
        if (r === null) sawNull = true;
      }
      return sawNull ? null : e.negated;
    }
    case 'like': {
      const v = ev(e.operand);
      const p = ev(e.pattern);
      if (v === null || p === null) return null;
      return likeRegExp(String(p)).test(String(v)) !== e.negated;
    }
    case 'between': {
      const v = ev(e.operand);
      const inside = and([compare('>=', v, ev(e.low)), compare('<=', v, ev(e.high))]);
      return inside === null ? null : inside !== e.negated;
    }
    case 'isNull':
      return (ev(e.operand) === null) !== e.negated;
    case 'and':
      return and(e.args.map(ev));
    case 'or':
      return or(e.args.map(ev));
    case 'not': {
      const v = ev(e.arg);
      return v === null ? null : !v;
    }
    case 'arith': {
      const a = ev(e.left);
      const b = ev(e.right);
      if (typeof a !== 'number' || typeof b !== 'number') return null;
      if (e.fn === '+') return a + b;
      if (e.fn === '-') return a - b;
      if (e.fn === '*') return a * b;
      return b === 0 ? null : a / b;
    }
    case 'negate': {
      const v = ev(e.arg);
      return typeof v === 'number' ? -v : null;
    }
  }
}

function compare(cmp: string, a: Scalar, b: Scalar): boolean | null {
  if (a === null || b === null) return null;
  const c = a < b ? -1 : a > b ? 1 : 0;
  switch (cmp) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function and(values: Scalar[]): boolean | null {
  if (values.some((v) => v === false)) return false;
  return values.some((v) => v === null) ? null : true;
}

function or(values: Scalar[]): boolean | null {
  if (values.some((v) => v === true)) return true;
  return values.some((v) => v === null) ? null : false;
}

const likeCache = new Map<string, RegExp>();

/** `%` any run, `_` one character, backslash escapes the next character. */
function likeRegExp(pattern: string): RegExp {
  let re = likeCache.get(pattern);
  if (re) return re;
  let body = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) body += escapeRegExp(pattern[++i]!);
    else if (c === '%') body += '[\\s\\S]*';
    else if (c === '_') body += '[\\s\\S]';
    else body += escapeRegExp(c);
  }
  re = new RegExp(`^${body}$`, 'i');
  if (likeCache.size > 1000) likeCache.clear();
  likeCache.set(pattern, re);
  return re;
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
