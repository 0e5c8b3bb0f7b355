// The filter_query parser and evaluator on their own: accepted forms, rejected forms with their
// INVALID_ARGUMENT messages, and evaluation semantics (NULLs, inner joins, enum rewrites).
import { describe, expect, it } from 'vitest';
import type { NodeKind } from '../src/shim/backend.ts';
import { matchesFilter, type NeighbourRow } from '../src/shim/filter-eval.ts';
import { parseFilterQuery } from '../src/shim/filter-query.ts';
import { RpcError } from '../src/shim/status.ts';
import type { MlmdArtifact, MlmdExecution } from '../src/transform/model.ts';
import { artifact, execution } from './helpers/filter-nodes.ts';

function rejects(text: string, kind: NodeKind, message: RegExp | string): void {
  let error: unknown;
  try {
    parseFilterQuery(text, kind);
  } catch (e) {
    error = e;
  }
  expect(error, `expected "${text}" to be rejected`).toBeInstanceOf(RpcError);
  expect((error as RpcError).status).toBe('INVALID_ARGUMENT');
  if (typeof message === 'string') expect((error as RpcError).message).toContain(message);
  else expect((error as RpcError).message).toMatch(message);
}

function matches(text: string, node: MlmdArtifact | MlmdExecution, neighbours: Record<string, NeighbourRow[]> = {}): boolean {
  const kind: NodeKind = 'uri' in node ? 'artifact' : 'execution';
  return matchesFilter(parseFilterQuery(text, kind), { node, neighbours: new Map(Object.entries(neighbours)) });
}

describe('parseFilterQuery: accepted forms', () => {
  it.each([
    ['custom_properties.parent_dag_id.int_value = 5', 'execution'],
    ["custom_properties.task_name.string_value = 'x'", 'execution'],
    ['custom_properties.accuracy.double_value > 0.5', 'execution'],
    ['custom_properties.cached.bool_value = false', 'execution'],
    ['properties.`my:prop`.int_value > 0', 'artifact'],
    ["uri = 's3://x' AND name = \"n\"", 'artifact'],
    ["type = 'system.Dataset' OR type_id IN (1, 2, 3)", 'artifact'],
    ['id >= 10 AND NOT (id = 12)', 'context'],
    ['create_time_since_epoch > 1000 AND last_update_time_since_epoch <= 2000', 'execution'],
    ["contexts_a.name = 'run' AND contexts_b.type = 'system.PipelineRun'", 'execution'],
    ['state = LIVE OR state IN (PENDING, DELETED)', 'artifact'],
    ['last_known_state != COMPLETE', 'execution'],
    ['events_0.type = OUTPUT AND events_0.execution_id = 4', 'artifact'],
    ["parent_contexts_p.name = 'pipe' AND child_contexts_c.id > 0", 'context'],
    ["artifacts_x.uri LIKE 's3://%' AND executions_y.last_known_state = FAILED", 'context'],
    ['type_id + 1 > 1 AND name IS NOT NULL AND external_id IS NULL', 'artifact'],
    ['id BETWEEN 1 AND 5 and name not like "%tmp%"', 'execution'],
    ['state > 1', 'artifact'],
  ] as const)('%s (%s)', (text, kind) => {
    const q = parseFilterQuery(text, kind);
    expect(q.expr.type).toBe('BOOL');
    expect(q.text).toBe(text);
  });

  it('records the joins and properties a query needs', () => {
    const q = parseFilterQuery(
      "contexts_a.name = 'r' AND contexts_a.type = 't' AND events_b.type = INPUT AND custom_properties.k.int_value = 1",
      'execution',
    );
    expect(q.joins).toEqual([
      { relation: 'contexts', alias: 'contexts_a' },
      { relation: 'events', alias: 'events_b' },
    ]);
    expect(q.properties).toEqual([{ custom: true, name: 'k' }]);
  });
});

describe('parseFilterQuery: rejected forms', () => {
  it.each([
    ['id == 1', 'execution', '"=="'],
    ["id = 'a'", 'execution', 'No matching signature for operator = for argument types: INT64, STRING'],
    ['name = 1', 'artifact', 'INT64'],
    ['uri = "x"', 'execution', 'Unrecognized name: uri'],
    ['state = LIVE', 'execution', 'Unrecognized name: state'],
    ['last_known_state = LIVE', 'execution', 'Unsupported enum value specified in the query: LIVE'],
    ['state = ABANDONED', 'artifact', 'Unsupported enum value specified in the query: ABANDONED'],
    ['state = 2', 'artifact', 'Unsupported enum value specified in the query: 2'],
    ['events_a.type = PENDING_OUTPUT', 'artifact', 'Unsupported enum value'],
    ["contexts_a.name = 'x'", 'context', 'Unrecognized name: contexts_a'],
    ["artifacts_a.uri = 'x'", 'execution', 'Unrecognized name: artifacts_a'],
    ['contexts_a.uri = 1', 'artifact', 'Field name uri does not exist in contexts_a'],
    ['custom_properties.k.blob_value = 1', 'artifact', 'Field name blob_value does not exist'],
    ['custom_properties.k = 1', 'artifact', 'Expected custom_properties.<name>'],
    ['id', 'artifact', 'Given query string is not a valid boolean expression'],
    ['id = 1 AND', 'artifact', 'Syntax error: unexpected end of input'],
    ["name = 'unterminated", 'artifact', 'unclosed string literal'],
    ['id IN 1', 'artifact', 'IN needs a parenthesised list'],
    ['LOWER(name) = "a"', 'artifact', 'Function calls are not supported'],
    ['id = 1 id = 2', 'artifact', 'Syntax error'],
    ["name + 1 = 2", 'artifact', 'No matching signature for operator +'],
    ["id = 1 OR 'x'", 'artifact', 'OR needs BOOL operands'],
    ['', 'artifact', 'Syntax error'],
  ] as const)('%s (%s)', (text, kind, message) => {
    rejects(text, kind, message);
  });
});

describe('filter evaluation', () => {
  it('compares properties, attributes and arithmetic', () => {
    expect(matches('custom_properties.parent_dag_id.int_value = 5', execution())).toBe(true);
    expect(matches('custom_properties.parent_dag_id.int_value = 6', execution())).toBe(false);
    expect(matches('custom_properties.accuracy.double_value BETWEEN 0.7 AND 0.8', execution())).toBe(true);
    expect(matches('custom_properties.cached.bool_value = false', execution())).toBe(true);
    expect(matches('id * 2 = 14 AND -id < 0', execution())).toBe(true);
    expect(matches("name = 'run/7' AND type = 'system.ContainerExecution'", execution())).toBe(true);
    expect(matches('create_time_since_epoch < 1000', execution())).toBe(false);
  });

  it('treats a property of another value kind as NULL', () => {
    expect(matches('custom_properties.task_name.int_value = 0', execution())).toBe(false);
    expect(matches('NOT (custom_properties.task_name.int_value = 0)', execution())).toBe(false);
    expect(matches('custom_properties.task_name.int_value IS NULL', execution())).toBe(true);
  });

  it('excludes nodes lacking a referenced property even under OR (inner join)', () => {
    expect(matches('id = 7 OR custom_properties.missing.int_value = 1', execution())).toBe(false);
    expect(matches('id = 7 OR custom_properties.task_name.string_value = "x"', execution())).toBe(true);
  });

  it('LIKE is case-insensitive with % and _ wildcards', () => {
    expect(matches("custom_properties.task_name.string_value LIKE 'train-%'", execution())).toBe(true);
    expect(matches("custom_properties.task_name.string_value LIKE 'Train_Model'", execution())).toBe(true);
    expect(matches("custom_properties.task_name.string_value NOT LIKE '%model'", execution())).toBe(false);
  });

  it('enum != and NOT IN include unset values, as MLMD rewrites them', () => {
    expect(matches('state != LIVE', artifact({ state: null }))).toBe(true);
    expect(matches('state != LIVE', artifact())).toBe(false);
    expect(matches('state NOT IN (DELETED)', artifact({ state: null }))).toBe(true);
    expect(matches('state = LIVE', artifact({ state: null }))).toBe(false);
    expect(matches('state IN (PENDING, LIVE)', artifact())).toBe(true);
  });

  it('matches when some neighbour row satisfies the expression, and never without neighbours', () => {
    const contexts = [
      { id: 1, name: 'pipe', type: 'system.Pipeline' },
      { id: 2, name: 'run-a', type: 'system.PipelineRun' },
    ];
    const q = "contexts_a.name = 'run-a' AND contexts_a.type = 'system.PipelineRun'";
    expect(matches(q, execution(), { contexts_a: contexts })).toBe(true);
    expect(matches("contexts_a.name = 'pipe' AND contexts_a.type = 'system.PipelineRun'", execution(), { contexts_a: contexts })).toBe(false);
    // Two aliases are two joins: the node must be in both contexts.
    expect(matches("contexts_a.name = 'pipe' AND contexts_b.name = 'run-a'", execution(), { contexts_a: contexts, contexts_b: contexts })).toBe(true);
    expect(matches('id = 7 OR contexts_a.id = 99', execution(), { contexts_a: [] })).toBe(false);
  });

  it('evaluates event joins with enum names', () => {
    const events = [{ type: 3, milliseconds_since_epoch: 5, execution_id: 4 }];
    expect(matches('events_e.type = INPUT AND events_e.execution_id = 4', artifact(), { events_e: events })).toBe(true);
    expect(matches('events_e.type = OUTPUT', artifact(), { events_e: events })).toBe(false);
  });
});
