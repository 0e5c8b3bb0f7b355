/**
 * Field-by-field comparison of a run's source MLMD records with the reversed view of its KFP rows
 * (design.md §1). Every difference is named by the lossy-code rule it matches, or is `DRIFT`.
 * `verify` reports these; the round-trip tests assert that no drift appears.
 */
import { classifyDifference, type DifferenceContext, type DifferenceEntity, type LossyCode } from './lossy-codes.ts';
import { canonicalEqual } from './values.ts';
import type { MlmdArtifact, MlmdContext, MlmdEvent, MlmdExecution, Props, Reject, RunBundle } from './model.ts';
import type { MlmdView } from './reverse.ts';

export interface Difference {
  entity: DifferenceEntity;
  /** The record's MLMD id (for events: the execution id; for associations and attributions: the execution / artifact id). */
  mlmdId: number;
  /** `present`, a record field (`lastKnownState`, `uri`, …), `customProperties.<key>`, `properties.<key>`, or `context:<id>`. */
  field: string;
  expected: unknown;
  found: unknown;
  code: LossyCode | 'DRIFT';
}

export interface CompareOptions {
  /** The forward mapping's rejects for this run: records it skipped are expected to be missing. */
  rejects?: Reject[];
}

type Base = Omit<DifferenceContext, 'entity' | 'source' | 'reversed'>;

const byId = <T extends { id: number }>(xs: T[]) => new Map(xs.map((x) => [x.id, x]));
const EXECUTION_FIELDS = ['type', 'typeId', 'name', 'lastKnownState', 'createMs', 'updateMs', 'externalId'] as const;
const ARTIFACT_FIELDS = ['type', 'typeId', 'uri', 'state', 'name', 'createMs', 'updateMs', 'externalId'] as const;
const CONTEXT_FIELDS = ['type', 'typeId', 'name', 'createMs', 'updateMs', 'externalId'] as const;

export function compareRun(source: RunBundle, reversed: MlmdView, options: CompareOptions = {}): Difference[] {
  const runUuid = source.runContext.name;
  const root = reversed.executions.find((e) => e.name === `run/${runUuid}`) ?? null;
  const base: Base = {
    run: source.runDetails,
    rootExecutionId: root?.id ?? null,
    runExecutionIds: new Set(source.executions.map((e) => e.id)),
    rejected: new Set((options.rejects ?? []).filter((r) => r.disposition === 'skipped').map((r) => `${r.entity}:${r.mlmdId}`)),
  };
  const out: Difference[] = [];
  const diff = (entity: DifferenceEntity, mlmdId: number, field: string, expected: unknown, found: unknown, ctx: Partial<DifferenceContext> = {}) => {
    if (canonicalEqual(expected, found)) return;
    // Spelled out: spreading contexts of four shapes took a slow generic copy per difference (a
    // fifth of verify's comparing time), and every run has lossy differences.
    const full: DifferenceContext = { run: base.run, rootExecutionId: base.rootExecutionId, runExecutionIds: base.runExecutionIds, rejected: base.rejected, entity, source: ctx.source, reversed: ctx.reversed };
    out.push({ entity, mlmdId, field, expected, found, code: classifyDifference(field, expected, found, full) ?? 'DRIFT' });
  };

  compareRecords('execution', source.executions, reversed.executions, EXECUTION_FIELDS, diff);
  compareRecords('artifact', source.artifacts, reversed.artifacts, ARTIFACT_FIELDS, diff);
  const sourceContexts = [source.runContext, ...(source.pipelineContext ? [source.pipelineContext] : [])];
  compareRecords('context', sourceContexts, reversed.contexts, CONTEXT_FIELDS, diff);
  compareEvents(source.events, reversed.events, diff);

  const contextIds = sourceContexts.map((c) => c.id);
  comparePairs(
    'association',
    source.executions.flatMap((e) => contextIds.map((c) => [e.id, c] as const)),
    reversed.associations.map((a) => [a.executionId, a.contextId] as const),
    byId(source.executions),
    diff,
  );
  comparePairs(
    'attribution',
    source.artifacts.flatMap((a) => contextIds.map((c) => [a.id, c] as const)),
    reversed.attributions.map((a) => [a.artifactId, a.contextId] as const),
    byId(source.artifacts),
    diff,
  );
  const expectedParents = source.pipelineContext ? [[source.runContext.id, source.pipelineContext.id] as const] : [];
  comparePairs('parent_context', expectedParents, reversed.parentContexts.map((p) => [p.childId, p.parentId] as const), new Map(), diff);
  compareTypes(reversed, diff);
  return out;
}

type Diff = (entity: DifferenceEntity, mlmdId: number, field: string, expected: unknown, found: unknown, ctx?: Partial<DifferenceContext>) => void;
type AnyRecord = MlmdExecution | MlmdArtifact | MlmdContext;

function compareRecords<T extends AnyRecord>(entity: DifferenceEntity, source: T[], reversed: T[], fields: readonly string[], diff: Diff): void {
  const found = byId(reversed);
  for (const s of source) {
    const r = found.get(s.id);
    if (!r) {
      diff(entity, s.id, 'present', true, false, { source: s });
      continue;
    }
    const ctx = { source: s, reversed: r };
    for (const f of fields) diff(entity, s.id, f, (s as unknown as Record<string, unknown>)[f], (r as unknown as Record<string, unknown>)[f], ctx);
    compareProps(entity, s.id, 'properties', s.properties, r.properties, ctx, diff);
    compareProps(entity, s.id, 'customProperties', s.customProperties, r.customProperties, ctx, diff);
  }
  const sourceIds = new Set(source.map((s) => s.id));
  for (const r of reversed) if (!sourceIds.has(r.id)) diff(entity, r.id, 'present', false, true, { reversed: r });
}

function compareProps(entity: DifferenceEntity, id: number, prefix: string, s: Props, r: Props, ctx: Partial<DifferenceContext>, diff: Diff): void {
  // An undecodable value is its raw text; the reason it could not be read is not data.
  const norm = (v: Props[string] | undefined) => (v?.kind === 'corrupt' ? { kind: 'corrupt', raw: v.raw } : v);
  // Almost every property matches: only the ones that differ are named, sorted and reported.
  const differing: string[] = [];
  for (const k of Object.keys(s)) if (!canonicalEqual(norm(s[k]), norm(Object.hasOwn(r, k) ? r[k] : undefined))) differing.push(k);
  for (const k of Object.keys(r)) if (!Object.hasOwn(s, k) && !canonicalEqual(undefined, norm(r[k]))) differing.push(k);
  for (const k of differing.sort()) diff(entity, id, `${prefix}.${k}`, norm(Object.hasOwn(s, k) ? s[k] : undefined), norm(Object.hasOwn(r, k) ? r[k] : undefined), ctx);
}

/** MLMD knows an event by (artifact, execution, type); a coerced type is matched by its direction instead. */
function compareEvents(source: MlmdEvent[], reversed: MlmdEvent[], diff: Diff): void {
  const dir = (t: number) => ([1, 4, 6, 7].includes(t) ? 'out' : 'in');
  const left = new Set(reversed);
  // Candidates by (artifact, execution), in reversed order: a run has thousands of events, each pair a few.
  const byPair = new Map<string, MlmdEvent[]>();
  for (const r of reversed) {
    const k = `${r.artifactId}|${r.executionId}`;
    const list = byPair.get(k);
    if (list) list.push(r);
    else byPair.set(k, [r]);
  }
  const matched: [MlmdEvent, MlmdEvent | undefined][] = [];
  const take = (s: MlmdEvent, pred: (r: MlmdEvent) => boolean) => {
    const r = byPair.get(`${s.artifactId}|${s.executionId}`)?.find((x) => left.has(x) && pred(x));
    if (r) left.delete(r);
    return r;
  };
  for (const s of source) matched.push([s, take(s, (r) => r.type === s.type)]);
  for (const m of matched) {
    const s = m[0];
    if (!m[1]) m[1] = take(s, (r) => dir(r.type) === dir(s.type));
  }
  for (const [s, r] of matched) {
    if (!r) {
      diff('event', s.executionId, 'present', true, false, { source: s });
      continue;
    }
    const ctx = { source: s, reversed: r };
    diff('event', s.executionId, 'type', s.type, r.type, ctx);
    diff('event', s.executionId, 'path', s.path, r.path, ctx);
    diff('event', s.executionId, 'ms', s.ms, r.ms, ctx);
  }
  for (const r of left) diff('event', r.executionId, 'present', false, true, { reversed: r });
}

function comparePairs(
  entity: DifferenceEntity,
  expected: (readonly [number, number])[],
  found: (readonly [number, number])[],
  subjects: Map<number, MlmdExecution | MlmdArtifact>,
  diff: Diff,
): void {
  const key = ([a, b]: readonly [number, number]) => `${a}|${b}`;
  const f = new Set(found.map(key));
  const e = new Set(expected.map(key));
  for (const p of expected) if (!f.has(key(p))) diff(entity, p[0], `context:${p[1]}`, true, false, { source: subjects.get(p[0]) });
  for (const p of found) if (!e.has(key(p))) diff(entity, p[0], `context:${p[1]}`, false, true);
}

/** Every type a reversed record names must be in the view's type list, with the same name. */
function compareTypes(view: MlmdView, diff: Diff): void {
  const types = byId(view.types);
  for (const r of [...view.executions, ...view.artifacts, ...view.contexts]) {
    const t = types.get(r.typeId);
    if (t?.name !== r.type) diff('type', r.typeId, 'name', r.type, t?.name ?? null);
  }
}
