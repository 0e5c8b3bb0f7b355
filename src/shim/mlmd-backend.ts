/**
 * The archive backend: answers the shim's questions straight from an MLMD database (schema 8, 9
 * or 10; SQLite or MySQL/MariaDB), opened read-only. Every method is a fixed number of statements
 * per chunk of 1,000 ids; columns a schema version lacks read as NULL.
 */
import type { OpenOptions, Param } from '../db/connection.ts';
import { type MlmdSource, openMlmdSource } from '../extract/mlmd-reader.ts';
import { chunked, groupBy, num, numOrNull, placeholders, textOrNull } from '../db/sql.ts';
import { readEvents, readProperties } from '../extract/run-bundles.ts';
import type { JsonObject, MlmdEvent, Props } from '../transform/model.ts';
import { readJsonObject } from '../transform/reverse/values.ts';
import { type ProblemReporter, UNREPORTED } from './data-problems.ts';
import {
  type ContextLink,
  type EdgeSide,
  type NodeByKind,
  type NodeKey,
  type NodeKind,
  type NodeScope,
  type ParentLink,
  type ShimBackend,
  TYPE_KIND_NUMBER,
  type TypeRecord,
} from './backend.ts';
import type { Expr, FilterQuery } from './filter-query.ts';

type Row = Record<string, unknown>;

const NODE_TABLE: Record<NodeKind, 'Artifact' | 'Execution' | 'Context'> = {
  artifact: 'Artifact',
  execution: 'Execution',
  context: 'Context',
};
const PROPERTY_TABLE: Record<NodeKind, { table: 'ArtifactProperty' | 'ExecutionProperty' | 'ContextProperty'; owner: string }> = {
  artifact: { table: 'ArtifactProperty', owner: 'artifact_id' },
  execution: { table: 'ExecutionProperty', owner: 'execution_id' },
  context: { table: 'ContextProperty', owner: 'context_id' },
};
const LINK_TABLE: Record<EdgeSide, { table: string; node: string }> = {
  artifact: { table: 'Attribution', node: 'artifact_id' },
  execution: { table: 'Association', node: 'execution_id' },
};

export interface MlmdBackendOptions {
  onAvailability?: OpenOptions['onAvailability'];
  /** Where rows the backend cannot read are reported (once per row). */
  problems?: ProblemReporter;
}

export async function openMlmdBackend(url: string, opts: MlmdBackendOptions = {}): Promise<MlmdBackend> {
  return new MlmdBackend(await openMlmdSource(url, { onAvailability: opts.onAvailability }), opts.problems);
}

export class MlmdBackend implements ShimBackend {
  readonly name = 'mlmd';

  constructor(
    private readonly source: MlmdSource,
    private readonly problems: ProblemReporter = UNREPORTED,
  ) {}

  /**
   * An execution type's input_type / output_type. MLMD writes proto JSON; text that is not a JSON
   * object is left out of the answer (MLMD would fail the read) and reported once per type.
   */
  private structType(typeId: number, column: 'input_type' | 'output_type', value: unknown): JsonObject | null {
    const read = readJsonObject(textOrNull(value));
    if ('object' in read) return read.object;
    this.problems.report(
      `Type:${typeId}:${column}`,
      { database: 'MLMD', table: 'Type', id: typeId, column, problem: read.problem },
      'an execution type\'s struct type is not JSON; the type is answered without it',
    );
    return null;
  }

  private get db() {
    return this.source.db;
  }

  private col(alias: string, table: string, column: string): string {
    return this.source.catalog.select(alias, table, column);
  }

  close(): Promise<void> {
    return this.source.close();
  }

  /** The highest id of each table: ids another backend hands out must stay above them. */
  maxIds(): Promise<Record<NodeKind | 'type', number>> {
    return this.source.maxIds();
  }

  async types(kind: NodeKind): Promise<TypeRecord[]> {
    const k = TYPE_KIND_NUMBER[kind];
    const rows = await this.db.all<Row>(
      'SELECT t.`id`, t.`name`, t.`version`, t.`description`, t.`input_type`, t.`output_type`, ' +
        `${this.col('t', 'Type', 'external_id')} FROM \`Type\` t WHERE t.\`type_kind\` = ? ORDER BY t.\`id\``,
      [k],
    );
    const props = await this.db.all<Row>(
      'SELECT tp.`type_id`, tp.`name`, tp.`data_type` FROM `TypeProperty` tp JOIN `Type` t ON t.`id` = tp.`type_id` ' +
        'WHERE t.`type_kind` = ? ORDER BY tp.`type_id`, tp.`name`',
      [k],
    );
    const parents = await this.db.all<Row>(
      'SELECT pt.`type_id`, p.`name` FROM `ParentType` pt JOIN `Type` t ON t.`id` = pt.`type_id` ' +
        'JOIN `Type` p ON p.`id` = pt.`parent_type_id` WHERE t.`type_kind` = ? ORDER BY pt.`type_id`, p.`id`',
      [k],
    );
    const propsByType = groupBy(props, (r) => num(r.type_id));
    const parentByType = new Map<number, string>();
    for (const p of parents) if (!parentByType.has(num(p.type_id))) parentByType.set(num(p.type_id), String(p.name));
    return rows.map((r) => {
      const id = num(r.id);
      const properties: Record<string, number> = {};
      for (const p of propsByType.get(id) ?? []) {
        Object.defineProperty(properties, String(p.name), { value: num(p.data_type ?? 0), enumerable: true });
      }
      return {
        id,
        kind,
        name: String(r.name),
        version: textOrNull(r.version),
        description: textOrNull(r.description),
        externalId: textOrNull(r.external_id),
        properties,
        baseTypeName: parentByType.get(id) ?? null,
        inputType: this.structType(id, 'input_type', r.input_type),
        outputType: this.structType(id, 'output_type', r.output_type),
      };
    });
  }

  async nodeKeys(kind: NodeKind, scope: NodeScope): Promise<NodeKey[]> {
    const table = NODE_TABLE[kind];
    const select = 'SELECT n.`id`, n.`create_time_since_epoch` AS c, n.`last_update_time_since_epoch` AS u ' + `FROM \`${table}\` n`;
    const toKeys = (rows: Row[]) => rows.map((r) => ({ id: num(r.id), createMs: num(r.c), updateMs: num(r.u) }));
    switch (scope.by) {
      case 'all':
        return toKeys(await this.db.all<Row>(select));
      case 'type': {
        if (scope.name === undefined) return toKeys(await this.db.all<Row>(`${select} WHERE n.\`type_id\` = ?`, [scope.typeId]));
        const names = this.source.spellings(scope.name);
        if (names.length === 0) return [];
        return toKeys(await this.db.all<Row>(`${select} WHERE n.\`type_id\` = ? AND n.\`name\` IN (${placeholders(names.length)})`, [scope.typeId, ...names]));
      }
      case 'context': {
        if (kind === 'context') return [];
        const link = LINK_TABLE[kind];
        return toKeys(
          await this.db.all<Row>(
            `${select} JOIN \`${link.table}\` l ON l.\`${link.node}\` = n.\`id\` WHERE l.\`context_id\` = ?`,
            [scope.contextId],
          ),
        );
      }
      case 'uri':
        if (kind !== 'artifact') return [];
        return toKeys(await this.inChunks(this.spelled(scope.uris), (p) => `${select} WHERE n.\`uri\` IN (${p})`));
      case 'externalId':
        if (!this.source.catalog.has(table, 'external_id')) return [];
        return toKeys(await this.inChunks(this.spelled(scope.externalIds), (p) => `${select} WHERE n.\`external_id\` IN (${p})`));
    }
  }

  async nodes<K extends NodeKind>(kind: K, ids: readonly number[]): Promise<NodeByKind[K][]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const table = NODE_TABLE[kind];
    const specific =
      kind === 'artifact' ? 'n.`uri`, n.`state`, n.`name`, ' : kind === 'execution' ? 'n.`last_known_state`, n.`name`, ' : 'n.`name`, ';
    const rows = await this.inChunks(
      unique,
      (p) =>
        `SELECT n.\`id\`, n.\`type_id\`, ${specific}n.\`create_time_since_epoch\`, n.\`last_update_time_since_epoch\`, ` +
        `${this.col('n', table, 'external_id')}, t.\`name\` AS type_name FROM \`${table}\` n ` +
        `LEFT JOIN \`Type\` t ON t.\`id\` = n.\`type_id\` WHERE n.\`id\` IN (${p})`,
    );
    const props = await this.properties(kind, unique);
    rows.sort((a, b) => num(a.id) - num(b.id));
    return rows.map((r) => {
      const id = num(r.id);
      const common = {
        id,
        typeId: num(r.type_id),
        type: textOrNull(r.type_name),
        createMs: num(r.create_time_since_epoch),
        updateMs: num(r.last_update_time_since_epoch),
        externalId: textOrNull(r.external_id),
        ...(props.get(id) ?? { properties: {}, customProperties: {} }),
      };
      if (kind === 'artifact') return { ...common, name: textOrNull(r.name), uri: textOrNull(r.uri), state: numOrNull(r.state) };
      if (kind === 'execution') return { ...common, name: textOrNull(r.name), lastKnownState: numOrNull(r.last_known_state) };
      return { ...common, name: String(r.name) };
    }) as NodeByKind[K][];
  }

  /** Each wanted text value in every spelling the database may hold it in. */
  private spelled(values: readonly string[]): string[] {
    return [...new Set(values.flatMap((v) => this.source.spellings(v)))];
  }

  private properties(kind: NodeKind, ids: number[]): Promise<Map<number, { properties: Props; customProperties: Props }>> {
    const { table, owner } = PROPERTY_TABLE[kind];
    return readProperties(this.db, this.source.catalog, table, owner, ids);
  }

  async events(side: EdgeSide, ids: readonly number[]): Promise<MlmdEvent[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    return readEvents(this.db, side === 'artifact' ? 'artifact_id' : 'execution_id', unique);
  }

  async contextLinks(side: EdgeSide, by: 'node' | 'context', ids: readonly number[]): Promise<ContextLink[]> {
    const { table, node } = LINK_TABLE[side];
    const column = by === 'node' ? node : 'context_id';
    const rows = await this.inChunks(
      [...new Set(ids)],
      (p) => `SELECT l.\`id\`, l.\`context_id\`, l.\`${node}\` AS node_id FROM \`${table}\` l WHERE l.\`${column}\` IN (${p})`,
    );
    return rows.sort((a, b) => num(a.id) - num(b.id)).map((r) => ({ contextId: num(r.context_id), nodeId: num(r.node_id) }));
  }

  async parentLinks(by: 'child' | 'parent', ids: readonly number[]): Promise<ParentLink[]> {
    const column = by === 'child' ? 'context_id' : 'parent_context_id';
    const rows = await this.inChunks(
      [...new Set(ids)],
      (p) => `SELECT pc.\`context_id\`, pc.\`parent_context_id\` FROM \`ParentContext\` pc WHERE pc.\`${column}\` IN (${p})`,
    );
    return rows
      .map((r) => ({ childId: num(r.context_id), parentId: num(r.parent_context_id) }))
      .sort((a, b) => a.childId - b.childId || a.parentId - b.parentId);
  }

  /**
   * Narrows a filtered listing in SQL using the query's top-level AND terms that compare a
   * property or a plain attribute with literals. Only forms whose SQL answer is a superset of the
   * exact answer are used (string equality may be case-insensitive on MySQL; string ordering is
   * collation-dependent, so it is left to the evaluator).
   */
  async filterCandidates(kind: NodeKind, _scope: NodeScope, query: FilterQuery): Promise<number[] | null> {
    const table = NODE_TABLE[kind];
    const { table: propTable, owner } = PROPERTY_TABLE[kind];
    const where: string[] = [];
    const params: Param[] = [];
    for (const p of query.properties) {
      // Every referenced property is an inner join: nodes without it can never match.
      const names = this.source.spellings(p.name);
      if (names.length === 0) return [];
      where.push(`n.\`id\` IN (SELECT \`${owner}\` FROM \`${propTable}\` WHERE \`name\` IN (${placeholders(names.length)}) AND \`is_custom_property\` = ?)`);
      params.push(...names, p.custom ? 1 : 0);
    }
    for (const term of query.expr.op === 'and' ? query.expr.args : [query.expr]) {
      const sql = this.termSql(table, propTable, owner, term);
      if (sql) {
        where.push(sql.text);
        params.push(...sql.params);
      }
    }
    if (where.length === 0) return null;
    const rows = await this.db.all<Row>(`SELECT n.\`id\` FROM \`${table}\` n WHERE ${where.join(' AND ')}`, params);
    return rows.map((r) => num(r.id));
  }

  private termSql(table: string, propTable: string, owner: string, term: Expr): { text: string; params: Param[] } | null {
    let column: Expr;
    let cmp: string;
    let values: Expr[];
    if (term.op === 'compare') {
      [column, cmp, values] = [term.left, term.cmp, [term.right]];
    } else if (term.op === 'in' && !term.negated) {
      [column, cmp, values] = [term.operand, 'IN', term.list];
    } else {
      return null;
    }
    if (column.op !== 'column' || !values.every((v) => v.op === 'literal' && v.value !== null)) return null;
    const literals = values.map((v) => (v as { value: string | number | boolean }).value);
    const isString = column.type === 'STRING';
    if (isString && cmp !== '=' && cmp !== 'IN') return null;
    if (column.type === 'BOOL' || cmp === '!=') return null;
    const c = column.column;
    // PostgreSQL types a parameter as the column it is compared with: a fraction, or a number beyond
    // int64, against an integer column is an SQL error there (MySQL and SQLite convert). The evaluator decides those.
    const integerColumn = c.ref === 'attribute' || (c.ref === 'property' && c.field === 'int_value');
    if (integerColumn && literals.some((l) => typeof l === 'number' && !Number.isSafeInteger(l))) return null;
    // A string is looked for in every spelling it may be stored in, so `=` becomes IN as well.
    const params = literals.flatMap((l): Param[] => (typeof l === 'boolean' ? [l ? 1 : 0] : typeof l === 'string' ? this.source.spellings(l) : [l]));
    // No stored value reads as any of the strings looked for (see spellings): the term holds of no node.
    if (params.length === 0) return { text: '1 = 0', params: [] };
    const rhs = cmp === 'IN' || isString ? `IN (${placeholders(params.length)})` : `${cmp} ?`;
    if (c.ref === 'property') {
      const names = this.source.spellings(c.name);
      if (names.length === 0) return { text: '1 = 0', params: [] };
      return {
        text:
          `n.\`id\` IN (SELECT \`${owner}\` FROM \`${propTable}\` WHERE \`name\` IN (${placeholders(names.length)}) AND \`is_custom_property\` = ? ` +
          `AND \`${c.field}\` ${rhs})`,
        params: [...names, c.custom ? 1 : 0, ...params],
      };
    }
    if (c.ref === 'attribute') {
      const physical: Record<string, string> = {
        id: 'id',
        type_id: 'type_id',
        name: 'name',
        uri: 'uri',
        external_id: 'external_id',
        create_time_since_epoch: 'create_time_since_epoch',
        last_update_time_since_epoch: 'last_update_time_since_epoch',
      };
      const name = physical[c.field];
      if (!name || !this.source.catalog.has(table, name)) return null;
      return { text: `n.\`${name}\` ${rhs}`, params };
    }
    return null;
  }

  /** Runs `sql(placeholders)` once per chunk of `values` and concatenates the rows. */
  private async inChunks(values: readonly (number | string)[], sql: (p: string) => string): Promise<Row[]> {
    const out: Row[] = [];
    for (const chunk of chunked(values)) {
      if (chunk.length === 0) continue;
      out.push(...(await this.db.all<Row>(sql(placeholders(chunk.length)), chunk)));
    }
    return out;
  }
}
