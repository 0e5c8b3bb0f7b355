/**
 * The `filter_query` language of MLMD's list operations (mlmd-source.md §4): a boolean ZetaSQL
 * expression over a node's attributes, its (custom) properties and its one-hop neighbours.
 *
 * MLMD hands the text to ZetaSQL's analyzer and rewrites it into SQL. This module does the part a
 * re-implementation needs: tokenise, parse, resolve names against the node kind, type-check with
 * ZetaSQL's strictness (no `==`, no INT64 = STRING, enum names only where MLMD rewrites them), and
 * hand back a typed tree plus the joins it implies. Every rejection is an INVALID_ARGUMENT whose
 * message names the problem. Evaluation lives in filter-eval.ts.
 */
import type { NodeKind } from './backend.ts';
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from './limits.ts';
import { invalidArgument, type RpcError } from './status.ts';

export type ValueType = 'INT64' | 'DOUBLE' | 'STRING' | 'BOOL' | 'NULL';
export type PropertyField = 'int_value' | 'double_value' | 'string_value' | 'bool_value';

/** Neighbour relations; each `<relation>_<alias>` in a query is one INNER JOIN. */
export type Relation = 'contexts' | 'events' | 'parent_contexts' | 'child_contexts' | 'artifacts' | 'executions';

export type ColumnRef =
  | { ref: 'attribute'; field: string }
  | { ref: 'property'; custom: boolean; name: string; field: PropertyField }
  | { ref: 'neighbour'; relation: Relation; alias: string; field: string };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { op: 'literal'; type: ValueType; value: number | string | boolean | null }
  | { op: 'column'; type: ValueType; column: ColumnRef }
  | { op: 'compare'; type: 'BOOL'; cmp: CompareOp; left: Expr; right: Expr }
  | { op: 'in'; type: 'BOOL'; negated: boolean; operand: Expr; list: Expr[] }
  | { op: 'like'; type: 'BOOL'; negated: boolean; operand: Expr; pattern: Expr }
  | { op: 'between'; type: 'BOOL'; negated: boolean; operand: Expr; low: Expr; high: Expr }
  | { op: 'isNull'; type: 'BOOL'; negated: boolean; operand: Expr }
  | { op: 'and' | 'or'; type: 'BOOL'; args: Expr[] }
  | { op: 'not'; type: 'BOOL'; arg: Expr }
  | { op: 'arith'; type: ValueType; fn: '+' | '-' | '*' | '/'; left: Expr; right: Expr }
  | { op: 'negate'; type: ValueType; arg: Expr };

/** A neighbour join the query needs: one per distinct alias. */
export interface NeighbourJoin {
  relation: Relation;
  /** The full identifier, e.g. `contexts_a`. */
  alias: string;
}

export interface FilterQuery {
  readonly text: string;
  readonly kind: NodeKind;
  readonly expr: Expr;
  /** Properties the query reads; a node without one of them never matches (MLMD joins them). */
  readonly properties: readonly { custom: boolean; name: string }[];
  readonly joins: readonly NeighbourJoin[];
}

// ------------------------------------------------------------------ the names each node kind knows

type EnumName = 'artifact_state' | 'execution_state' | 'event_type';

interface FieldSpec {
  type: ValueType;
  /** Comparisons with `=`, `!=`, `IN`, `NOT IN` take enum names here, as MLMD's rewrite does. */
  enumName?: EnumName;
}

/**
 * The enum names MLMD's rewrite accepts; deliberately incomplete where MLMD's is (no ABANDONED or
 * REFERENCE for artifacts, no UNKNOWN or PENDING_OUTPUT for events).
 */
const ENUMS: Record<EnumName, Record<string, number>> = {
  artifact_state: { UNKNOWN: 0, PENDING: 1, LIVE: 2, MARKED_FOR_DELETION: 3, DELETED: 4 },
  execution_state: { UNKNOWN: 0, NEW: 1, RUNNING: 2, COMPLETE: 3, FAILED: 4, CACHED: 5, CANCELED: 6 },
  event_type: { INPUT: 3, OUTPUT: 4, DECLARED_INPUT: 2, DECLARED_OUTPUT: 1, INTERNAL_INPUT: 5, INTERNAL_OUTPUT: 6 },
};

const INT: FieldSpec = { type: 'INT64' };
const STR: FieldSpec = { type: 'STRING' };

const COMMON_ATTRIBUTES: Record<string, FieldSpec> = {
  id: INT,
  type_id: INT,
  type: STR,
  name: STR,
  external_id: STR,
  create_time_since_epoch: INT,
  last_update_time_since_epoch: INT,
};

const ATTRIBUTES: Record<NodeKind, Record<string, FieldSpec>> = {
  artifact: { ...COMMON_ATTRIBUTES, uri: STR, state: { type: 'INT64', enumName: 'artifact_state' } },
  execution: { ...COMMON_ATTRIBUTES, last_known_state: { type: 'INT64', enumName: 'execution_state' } },
  context: { ...COMMON_ATTRIBUTES },
};

const CONTEXT_FIELDS: Record<string, FieldSpec> = {
  id: INT,
  name: STR,
  type: STR,
  create_time_since_epoch: INT,
  last_update_time_since_epoch: INT,
};

const RELATION_FIELDS: Record<Relation, Record<string, FieldSpec>> = {
  contexts: CONTEXT_FIELDS,
  parent_contexts: CONTEXT_FIELDS,
  child_contexts: CONTEXT_FIELDS,
  // The neighbour id field is added per node kind below.
  events: { type: { type: 'INT64', enumName: 'event_type' }, milliseconds_since_epoch: INT },
  artifacts: {
    id: INT,
    name: STR,
    type: STR,
    state: { type: 'INT64', enumName: 'artifact_state' },
    uri: STR,
    external_id: STR,
    create_time_since_epoch: INT,
    last_update_time_since_epoch: INT,
  },
  executions: {
    id: INT,
    name: STR,
    type: STR,
    last_known_state: { type: 'INT64', enumName: 'execution_state' },
    external_id: STR,
    create_time_since_epoch: INT,
    last_update_time_since_epoch: INT,
  },
};

/** Which relations each node kind may join; longer prefixes first so `parent_contexts_` wins over `contexts_`. */
const RELATIONS: Record<NodeKind, Relation[]> = {
  artifact: ['contexts', 'events'],
  execution: ['contexts', 'events'],
  context: ['parent_contexts', 'child_contexts', 'artifacts', 'executions'],
};

const PROPERTY_FIELDS: Record<PropertyField, ValueType> = {
  int_value: 'INT64',
  double_value: 'DOUBLE',
  string_value: 'STRING',
  bool_value: 'BOOL',
};

function relationFields(kind: NodeKind, relation: Relation): Record<string, FieldSpec> {
  if (relation !== 'events') return RELATION_FIELDS[relation];
  // An artifact's events name their execution, an execution's events their artifact.
  return { ...RELATION_FIELDS.events, [kind === 'artifact' ? 'execution_id' : 'artifact_id']: INT };
}

// ------------------------------------------------------------------ tokens

type Token =
  | { t: 'ident'; v: string; quoted: boolean; pos: number }
  | { t: 'int'; v: number; pos: number }
  | { t: 'float'; v: number; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'punct'; v: string; pos: number }
  | { t: 'end'; pos: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'LIKE', 'IS', 'NULL', 'TRUE', 'FALSE', 'BETWEEN']);
const PUNCT = ['<=', '>=', '!=', '<>', '==', '=', '<', '>', '(', ')', ',', '.', '+', '-', '*', '/'];

const WHITESPACE = /\s/;
const WORD_START = /[A-Za-z_]/;
const WORD = /\w/;
const DIGIT = /[0-9]/;
// Sticky (`y`): matched at lastIndex without copying the rest of the text, so tokenizing stays linear.
const NUMBER = /(?:0[xX][0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)/y;

function tokenize(text: string, fail: (msg: string, pos?: number) => RpcError): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (WORD_START.test(c)) {
      while (i < text.length && WORD.test(text[i]!)) i++;
      out.push({ t: 'ident', v: text.slice(start, i), quoted: false, pos: start });
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw fail(`Syntax error: unclosed identifier quote at position ${start + 1}`, start);
      const v = text.slice(i + 1, end);
      if (v === '') throw fail(`Syntax error: empty quoted identifier at position ${start + 1}`, start);
      out.push({ t: 'ident', v, quoted: true, pos: start });
      i = end + 1;
      continue;
    }
    if (DIGIT.test(c) || (c === '.' && DIGIT.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const lexeme = NUMBER.exec(text)![0];
      i += lexeme.length;
      if (i < text.length && WORD.test(text[i]!)) throw fail(`Syntax error: malformed number at position ${start + 1}`, start);
      const isFloat = /[.eE]/.test(lexeme) && !/^0[xX]/.test(lexeme);
      const v = isFloat ? Number.parseFloat(lexeme) : Number(lexeme);
      if (!isFloat && !Number.isSafeInteger(v)) throw fail(`Integer literal ${clip(lexeme)} is out of the supported range`, start);
      out.push(isFloat ? { t: 'float', v, pos: start } : { t: 'int', v, pos: start });
      continue;
    }
    if (c === "'" || c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw fail(`Syntax error: unclosed string literal at position ${start + 1}`, start);
        const d = text[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\') {
          const e = text[i + 1];
          if (e === undefined) throw fail(`Syntax error: unclosed string literal at position ${start + 1}`, start);
          v += ESCAPES[e] ?? e;
          i += 2;
          continue;
        }
        v += d;
        i++;
      }
      out.push({ t: 'string', v, pos: start });
      continue;
    }
    const p = PUNCT.find((s) => text.startsWith(s, i));
    if (!p) throw fail(`Syntax error: unexpected character "${c}" at position ${start + 1}`, start);
    if (p === '==') throw fail(`Syntax error: unexpected "==" at position ${start + 1} (use "=")`, start);
    out.push({ t: 'punct', v: p === '<>' ? '!=' : p, pos: start });
    i += p.length;
  }
  out.push({ t: 'end', pos: text.length });
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '`': '`' };

// ------------------------------------------------------------------ parser

/** How much of the query an error message quotes around the place it names. */
const EXCERPT_CHARS = 60;
/** How much of one name or literal an error message quotes. */
const CLIP_CHARS = 60;

/**
 * Parses and type-checks `text` for nodes of `kind`; throws INVALID_ARGUMENT on any problem. The
 * text is bounded in length and nesting (limits.ts) and an error quotes at most a short excerpt of
 * it: a message echoing a long filter overflowed clients' header limits.
 */
export function parseFilterQuery(text: string, kind: NodeKind): FilterQuery {
  if (text.length > MAX_FILTER_LENGTH) {
    throw invalidArgument(`Invalid filter_query: it is ${text.length} characters long; the shim accepts at most ${MAX_FILTER_LENGTH}`);
  }
  const fail = (msg: string, pos?: number) => invalidArgument(`Invalid filter_query (${msg}): ${excerpt(text, pos)}`);
  const parser = new Parser(tokenize(text, fail), kind, fail);
  const expr = parser.parseExpression();
  parser.expectEnd();
  if (expr.type !== 'BOOL') {
    throw invalidArgument(`Given query string is not a valid boolean expression: ${excerpt(text)}`);
  }
  if (depthOf(expr) > MAX_FILTER_DEPTH) throw fail(`it nests deeper than ${MAX_FILTER_DEPTH} levels`);
  return { text, kind, expr, properties: parser.properties(), joins: parser.joins() };
}

/** The query, or the part of it around `pos` when it is long. */
function excerpt(text: string, pos?: number): string {
  if (text.length <= EXCERPT_CHARS) return text;
  const at = Math.max(0, Math.min((pos ?? 0) - EXCERPT_CHARS / 3, text.length - EXCERPT_CHARS));
  const start = Math.floor(at);
  return `${start > 0 ? '…' : ''}${text.slice(start, start + EXCERPT_CHARS)}${start + EXCERPT_CHARS < text.length ? '…' : ''} (${text.length} characters)`;
}

function clip(s: string): string {
  return s.length <= CLIP_CHARS ? s : `${s.slice(0, CLIP_CHARS)}…`;
}

/** The depth of a parsed tree, walked without recursion (a chain of 20,000 additions is 20,000 deep). */
function depthOf(root: Expr): number {
  let max = 0;
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [e, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > MAX_FILTER_DEPTH) return max;
    for (const child of childrenOf(e)) stack.push([child, d + 1]);
  }
  return max;
}

function childrenOf(e: Expr): Expr[] {
  switch (e.op) {
    case 'literal':
    case 'column':
      return [];
    case 'compare':
    case 'arith':
      return [e.left, e.right];
    case 'in':
      return [e.operand, ...e.list];
    case 'like':
      return [e.operand, e.pattern];
    case 'between':
      return [e.operand, e.low, e.high];
    case 'isNull':
      return [e.operand];
    case 'and':
    case 'or':
      return e.args;
    case 'not':
    case 'negate':
      return [e.arg];
  }
}

class Parser {
  private pos = 0;
  /** Recursion depth of the descent (parentheses, NOT, unary minus), bounded before the stack is. */
  private depth = 0;
  private readonly seenProperties = new Map<string, { custom: boolean; name: string }>();
  private readonly seenJoins = new Map<string, NeighbourJoin>();

  constructor(
    private readonly tokens: Token[],
    private readonly kind: NodeKind,
    private readonly fail: (msg: string, pos?: number) => RpcError,
  ) {}

  /** Enters one level of nesting at token `t`; refused past the limit. */
  private nest(t: Token): void {
    if (++this.depth > MAX_FILTER_DEPTH) throw this.fail(`it nests deeper than ${MAX_FILTER_DEPTH} levels at position ${t.pos + 1}`, t.pos);
  }

  properties(): { custom: boolean; name: string }[] {
    return [...this.seenProperties.values()];
  }

  joins(): NeighbourJoin[] {
    return [...this.seenJoins.values()];
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.t !== 'end') this.pos++;
    return t;
  }

  private isKeyword(word: string, t: Token = this.peek()): boolean {
    return t.t === 'ident' && !t.quoted && t.v.toUpperCase() === word;
  }

  private isPunct(p: string, t: Token = this.peek()): boolean {
    return t.t === 'punct' && t.v === p;
  }

  private expectPunct(p: string): void {
    const t = this.next();
    if (!this.isPunct(p, t)) throw this.unexpected(t, `expected "${p}"`);
  }

  private unexpected(t: Token, expectation?: string): RpcError {
    const what = t.t === 'end' ? 'end of input' : `"${clip(describe(t))}"`;
    return this.fail(`Syntax error: unexpected ${what} at position ${t.pos + 1}${expectation ? `, ${expectation}` : ''}`, t.pos);
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.t !== 'end') throw this.unexpected(t);
  }

  parseExpression(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    const args = [this.parseAnd()];
    while (this.isKeyword('OR')) {
      this.next();
      args.push(this.parseAnd());
    }
    return args.length === 1 ? args[0]! : this.logical('or', args);
  }

  private parseAnd(): Expr {
    const args = [this.parseNot()];
    while (this.isKeyword('AND')) {
      this.next();
      args.push(this.parseNot());
    }
    return args.length === 1 ? args[0]! : this.logical('and', args);
  }

  private logical(op: 'and' | 'or', args: Expr[]): Expr {
    for (const a of args) this.requireBool(a, op.toUpperCase());
    return { op, type: 'BOOL', args };
  }

  private requireBool(e: Expr, context: string): void {
    if (e.type !== 'BOOL' && e.type !== 'NULL') {
      throw this.fail(`${context} needs BOOL operands, got ${e.type}`);
    }
  }

  private parseNot(): Expr {
    if (this.isKeyword('NOT')) {
      this.nest(this.next());
      const arg = this.parseNot();
      this.depth--;
      this.requireBool(arg, 'NOT');
      return { op: 'not', type: 'BOOL', arg };
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const left = this.parseAdditive();
    const t = this.peek();
    if (t.t === 'punct' && ['=', '!=', '<', '<=', '>', '>='].includes(t.v)) {
      this.next();
      const cmp = t.v as CompareOp;
      const enumName = enumOf(left);
      if (enumName && (cmp === '=' || cmp === '!=')) {
        const value = this.enumValue(enumName);
        const compare: Expr = { op: 'compare', type: 'BOOL', cmp, left, right: value };
        // MLMD rewrites `state != X` to include rows whose state is NULL.
        return cmp === '!=' ? orIsNull(compare, left) : compare;
      }
      const right = this.parseAdditive();
      this.requireComparable(left, right, cmp);
      return { op: 'compare', type: 'BOOL', cmp, left, right };
    }
    let negated = false;
    if (this.isKeyword('NOT') && ['IN', 'LIKE', 'BETWEEN'].some((k) => this.isKeyword(k, this.tokens[this.pos + 1]))) {
      this.next();
      negated = true;
    }
    if (this.isKeyword('IN')) {
      this.next();
      return this.parseIn(left, negated);
    }
    if (this.isKeyword('LIKE')) {
      this.next();
      const pattern = this.parseAdditive();
      if (!isStringish(left) || !isStringish(pattern)) {
        throw this.fail(`No matching signature for operator LIKE for argument types: ${left.type}, ${pattern.type}`);
      }
      return { op: 'like', type: 'BOOL', negated, operand: left, pattern };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const low = this.parseAdditive();
      if (!this.isKeyword('AND')) throw this.unexpected(this.peek(), 'expected AND in BETWEEN');
      this.next();
      const high = this.parseAdditive();
      this.requireComparable(left, low, 'BETWEEN');
      this.requireComparable(left, high, 'BETWEEN');
      return { op: 'between', type: 'BOOL', negated, operand: left, low, high };
    }
    if (negated) throw this.unexpected(this.peek());
    if (this.isKeyword('IS')) {
      this.next();
      let not = false;
      if (this.isKeyword('NOT')) {
        this.next();
        not = true;
      }
      if (!this.isKeyword('NULL')) throw this.unexpected(this.peek(), 'expected NULL after IS');
      this.next();
      return { op: 'isNull', type: 'BOOL', negated: not, operand: left };
    }
    return left;
  }

  private parseIn(operand: Expr, negated: boolean): Expr {
    if (!this.isPunct('(')) throw this.unexpected(this.peek(), 'IN needs a parenthesised list');
    this.next();
    const enumName = enumOf(operand);
    const list: Expr[] = [];
    for (;;) {
      if (enumName) list.push(this.enumValue(enumName));
      else {
        const item = this.parseAdditive();
        this.requireComparable(operand, item, 'IN');
        list.push(item);
      }
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      this.expectPunct(')');
      break;
    }
    const expr: Expr = { op: 'in', type: 'BOOL', negated, operand, list };
    return negated && enumName ? orIsNull(expr, operand) : expr;
  }

  /** An enum name where MLMD's rewrite expects one; numbers and unknown names are refused as MLMD does. */
  private enumValue(enumName: EnumName): Expr {
    const t = this.next();
    const word = t.t === 'ident' && !t.quoted ? t.v : t.t === 'int' || t.t === 'float' ? String(t.v) : null;
    if (word === null) throw this.unexpected(t, 'expected an enum value name');
    const names = ENUMS[enumName];
    const value = Object.hasOwn(names, word) ? names[word] : undefined;
    if (value === undefined) throw invalidArgument(`Unsupported enum value specified in the query: ${clip(word)}`);
    return { op: 'literal', type: 'INT64', value };
  }

  private requireComparable(a: Expr, b: Expr, op: string): void {
    if (comparable(a.type, b.type)) return;
    throw this.fail(`No matching signature for operator ${op} for argument types: ${a.type}, ${b.type}`);
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isPunct('+') || this.isPunct('-')) {
      const fn = (this.next() as { v: '+' | '-' }).v;
      const right = this.parseMultiplicative();
      left = this.arith(fn, left, right);
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    while (this.isPunct('*') || this.isPunct('/')) {
      const fn = (this.next() as { v: '*' | '/' }).v;
      const right = this.parseUnary();
      left = this.arith(fn, left, right);
    }
    return left;
  }

  private arith(fn: '+' | '-' | '*' | '/', left: Expr, right: Expr): Expr {
    if (!isNumeric(left.type) || !isNumeric(right.type)) {
      throw this.fail(`No matching signature for operator ${fn} for argument types: ${left.type}, ${right.type}`);
    }
    const type: ValueType = fn === '/' || left.type === 'DOUBLE' || right.type === 'DOUBLE' ? 'DOUBLE' : left.type === 'NULL' ? right.type : left.type;
    return { op: 'arith', type, fn, left, right };
  }

  private parseUnary(): Expr {
    if (this.isPunct('-')) {
      this.nest(this.next());
      const arg = this.parseUnary();
      this.depth--;
      if (!isNumeric(arg.type)) throw this.fail(`No matching signature for operator - for argument type: ${arg.type}`);
      return { op: 'negate', type: arg.type, arg };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.t) {
      case 'int':
        return { op: 'literal', type: 'INT64', value: t.v };
      case 'float':
        return { op: 'literal', type: 'DOUBLE', value: t.v };
      case 'string':
        return { op: 'literal', type: 'STRING', value: t.v };
      case 'punct':
        if (t.v === '(') {
          this.nest(t);
          const inner = this.parseExpression();
          this.expectPunct(')');
          this.depth--;
          return inner;
        }
        throw this.unexpected(t);
      case 'ident':
        if (!t.quoted) {
          const upper = t.v.toUpperCase();
          if (upper === 'TRUE' || upper === 'FALSE') return { op: 'literal', type: 'BOOL', value: upper === 'TRUE' };
          if (upper === 'NULL') return { op: 'literal', type: 'NULL', value: null };
          if (KEYWORDS.has(upper)) throw this.unexpected(t);
          if (this.isPunct('(')) throw this.fail(`Function calls are not supported: ${clip(t.v)}`, t.pos);
        }
        return this.parseColumn(t);
      default:
        throw this.unexpected(t);
    }
  }

  private parseColumn(first: Extract<Token, { t: 'ident' }>): Expr {
    const path = [first.v];
    const quoted = [first.quoted];
    while (this.isPunct('.')) {
      this.next();
      const t = this.next();
      if (t.t !== 'ident') throw this.unexpected(t, 'expected a field name after "."');
      path.push(t.v);
      quoted.push(t.quoted);
    }
    const head = path[0]!;
    if (!quoted[0] && (head === 'properties' || head === 'custom_properties') && path.length > 1) {
      if (path.length !== 3) throw this.fail(`Expected ${head}.<name>.<int_value|double_value|string_value|bool_value>`, first.pos);
      const field = path[2]! as PropertyField;
      const type = Object.hasOwn(PROPERTY_FIELDS, field) ? PROPERTY_FIELDS[field] : undefined;
      if (!type || quoted[2]) throw this.fail(`Field name ${clip(path[2]!)} does not exist in ${head}.${clip(path[1]!)}`, first.pos);
      const custom = head === 'custom_properties';
      const name = path[1]!;
      this.seenProperties.set(`${custom ? 'c' : 'p'}:${name}`, { custom, name });
      return { op: 'column', type, column: { ref: 'property', custom, name, field } };
    }
    const relation = quoted[0] ? undefined : RELATIONS[this.kind].find((r) => head.startsWith(`${r}_`) && head.length > r.length + 1);
    if (relation) {
      if (path.length !== 2) throw this.fail(`Expected ${clip(head)}.<field>`, first.pos);
      const fields = relationFields(this.kind, relation);
      const spec = Object.hasOwn(fields, path[1]!) ? fields[path[1]!] : undefined;
      if (!spec || quoted[1]) throw this.fail(`Field name ${clip(path[1]!)} does not exist in ${clip(head)}`, first.pos);
      this.seenJoins.set(head, { relation, alias: head });
      return withEnum({ op: 'column', type: spec.type, column: { ref: 'neighbour', relation, alias: head, field: path[1]! } }, spec);
    }
    const attributes = ATTRIBUTES[this.kind];
    const spec = Object.hasOwn(attributes, head) ? attributes[head] : undefined;
    if (!spec) throw this.fail(`Unrecognized name: ${clip(head)}`, first.pos);
    if (path.length !== 1) throw this.fail(`Cannot access field ${clip(path[1]!)} on a value with type ${spec.type}`, first.pos);
    return withEnum({ op: 'column', type: spec.type, column: { ref: 'attribute', field: head } }, spec);
  }
}

// The enum tag rides on column expressions only; it never reaches evaluation.
const ENUM_TAG = new WeakMap<Expr, EnumName>();

function withEnum(e: Expr, spec: FieldSpec): Expr {
  if (spec.enumName) ENUM_TAG.set(e, spec.enumName);
  return e;
}

function enumOf(e: Expr): EnumName | undefined {
  return ENUM_TAG.get(e);
}

function orIsNull(e: Expr, column: Expr): Expr {
  return { op: 'or', type: 'BOOL', args: [e, { op: 'isNull', type: 'BOOL', negated: false, operand: column }] };
}

function isNumeric(t: ValueType): boolean {
  return t === 'INT64' || t === 'DOUBLE' || t === 'NULL';
}

function isStringish(e: Expr): boolean {
  return e.type === 'STRING' || e.type === 'NULL';
}

function comparable(a: ValueType, b: ValueType): boolean {
  if (a === 'NULL' || b === 'NULL') return true;
  if (isNumeric(a) && isNumeric(b)) return true;
  return a === b;
}

function describe(t: Token): string {
  switch (t.t) {
    case 'ident':
      return t.quoted ? `\`${t.v}\`` : t.v;
    case 'string':
      return `'${t.v}'`;
    case 'end':
      return '';
    default:
      return String(t.v);
  }
}
