/**
 * Evaluates a parsed filter_query against one node and its neighbours, with the semantics of the
 * SQL MLMD generates for it:
 * - SQL three-valued logic (a comparison with NULL is unknown, and unknown is not a match);
 * - every referenced property and every `<relation>_<alias>` is an INNER JOIN, so a node lacking
 *   one of them never matches, even under OR or NOT;
 * - a node matches when some choice of one row per alias makes the expression true (MLMD selects
 *   DISTINCT node ids over the joined rows).
 * LIKE compares case-insensitively, as it does on the SQLite and MySQL databases MLMD runs on.
 *
 * Every expression node evaluated and every character LIKE compares is counted against the call's
 * work limit, and the choices of neighbour rows are walked as an odometer that can stop between
 * two choices, so a call with many joined rows lets other calls run and can be cancelled.
 */
import { encodeStructValue } from '../extract/values.ts';
import type { MlmdValue } from '../transform/model.ts';
import type { AnyNode } from './backend.ts';
import type { Expr, FilterQuery, PropertyField } from './filter-query.ts';
import { compileLike, type LikePattern, likeMatches } from './like.ts';

export type Scalar = number | string | boolean | null;
export type NeighbourRow = Readonly<Record<string, Scalar>>;

export interface FilterSubject {
  node: AnyNode;
  /** Rows per join alias (`contexts_a` → the node's contexts as rows). */
  neighbours: ReadonlyMap<string, readonly NeighbourRow[]>;
}

/** Counts evaluation steps (and may end the call by throwing); `pauseDue` asks the caller to let others run. */
export interface WorkMeter {
  work(n: number): void;
  readonly pauseDue: boolean;
}

/** For evaluation outside a call (tests): counts nothing, never pauses. */
export const UNMETERED: WorkMeter = { work() {}, pauseDue: false };

/** Whether `subject` satisfies `query`, evaluated to the end without pausing. */
export function matchesFilter(query: FilterQuery, subject: FilterSubject, meter: WorkMeter = UNMETERED): boolean {
  const m = new FilterMatch(query, subject, meter);
  for (;;) {
    const r = m.step();
    if (r !== undefined) return r;
  }
}

/**
 * One node's evaluation, resumable: `step()` tries choices of neighbour rows until it has an
 * answer (true/false) or the meter asks for a pause (undefined; call `step()` again later).
 */
export class FilterMatch {
  private readonly aliases: string[];
  private readonly choices: (readonly NeighbourRow[])[];
  private readonly at: number[];
  private readonly env = new Map<string, NeighbourRow>();
  private finished: boolean | undefined;

  constructor(
    private readonly query: FilterQuery,
    private readonly subject: FilterSubject,
    private readonly meter: WorkMeter,
  ) {
    this.aliases = query.joins.map((j) => j.alias);
    this.choices = this.aliases.map((a) => subject.neighbours.get(a) ?? []);
    this.at = this.aliases.map(() => 0);
    const { node } = subject;
    for (const p of query.properties) {
      const bag = p.custom ? node.customProperties : node.properties;
      if (!Object.hasOwn(bag, p.name)) this.finished = false;
    }
    if (this.choices.some((rows) => rows.length === 0)) this.finished = false;
  }

  step(): boolean | undefined {
    if (this.finished !== undefined) return this.finished;
    const { aliases, choices, at, env } = this;
    for (;;) {
      for (let i = 0; i < aliases.length; i++) env.set(aliases[i]!, choices[i]![at[i]!]!);
      this.meter.work(1);
      if (evaluate(this.query.expr, this.subject.node, env, this.meter) === true) return (this.finished = true);
      // The next choice: the last alias turns fastest, like nested loops over the joins.
      let i = aliases.length - 1;
      for (; i >= 0; i--) {
        if (++at[i]! < choices[i]!.length) break;
        at[i] = 0;
      }
      if (i < 0) return (this.finished = false);
      if (this.meter.pauseDue) return undefined;
    }
  }
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

function evaluate(e: Expr, node: AnyNode, env: ReadonlyMap<string, NeighbourRow>, meter: WorkMeter): Scalar {
  const ev = (x: Expr) => evaluate(x, node, env, meter);
  meter.work(1);
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
      return likeMatches(likePattern(e.pattern, String(p), meter), String(v), meter) !== e.negated;
    }
    case 'between': {
      const v = ev(e.operand);
      const inside = and([compare('>=', v, ev(e.low)), compare('<=', v, ev(e.high))]);
      return inside === null ? null : inside !== e.negated;
    }
    case 'isNull':
      return (ev(e.operand) === null) !== e.negated;
    case 'and':
      return shortCircuit(e.args, ev, false);
    case 'or':
      return shortCircuit(e.args, ev, true);
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

/**
 * AND (`decisive` false) or OR (`decisive` true) in three-valued logic: the decisive value as soon
 * as an argument has it (the rest are not evaluated), else unknown if any argument was, else the other.
 */
function shortCircuit(args: readonly Expr[], ev: (x: Expr) => Scalar, decisive: boolean): boolean | null {
  let unknown = false;
  for (const a of args) {
    const v = ev(a);
    if (v === decisive) return decisive;
    if (v === null) unknown = true;
  }
  return unknown ? null : !decisive;
}

function and(values: Scalar[]): boolean | null {
  if (values.some((v) => v === false)) return false;
  return values.some((v) => v === null) ? null : true;
}

/** A literal pattern is compiled once per parsed query; a computed one per use, its length counted as work. */
const compiledLiterals = new WeakMap<Expr, LikePattern>();

function likePattern(source: Expr, text: string, meter: WorkMeter): LikePattern {
  if (source.op !== 'literal') {
    meter.work(text.length);
    return compileLike(text);
  }
  let p = compiledLiterals.get(source);
  if (!p) {
    p = compileLike(text);
    compiledLiterals.set(source, p);
  }
  return p;
}
