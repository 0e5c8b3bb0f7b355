/**
 * Property: for random KFP-2.x-shaped MLMD runs, reverse(forward(run)) equals the run up to the
 * documented lossy transformations (src/transform/lossy-codes.ts). Any DRIFT is a bug in one of
 * the two mappings (or a loss nobody documented).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/seed/prng.ts';
import { compareRun, type Difference } from '../src/transform/compare.ts';
import { mapRun, outlineRun } from '../src/transform/forward.ts';
import type { LossyCode } from '../src/transform/lossy-codes.ts';
import type { JsonObject, JsonValue, MlmdValue, Props, RunBundle } from '../src/transform/model.ts';
import { type MlmdView, reverseRun } from '../src/transform/reverse.ts';
import { RunBuilder, dbl, int, str, struct } from './helpers/bundle.ts';
import { typeRows, withTypeIds } from './helpers/type-ids.ts';

const C = 'system.ContainerExecution';
const D = 'system.DAGExecution';
const ARTIFACT_TYPES = [
  'system.Artifact',
  'system.Dataset',
  'system.Model',
  'system.Metrics',
  'system.ClassificationMetrics',
  'system.SlicedClassificationMetrics',
  'system.HTML',
  'system.Markdown',
  'google.VertexModel',
  'acme.CustomThing',
];
const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELED', 'SKIPPED'];

interface Options {
  /** Also produce shapes KFP never writes but a database may hold: odd value kinds, dangling parents, coerced events, … */
  odd: boolean;
}

// ------------------------------------------------------------------ the generator

class RunGenerator {
  private readonly b: RunBuilder;
  private keyNo = 0;
  /** Executions that can take part in events, with their kind. */
  readonly nodes: { id: number; kind: 'container' | 'importer' | 'dag' | 'loop' | 'iteration' }[] = [];
  private readonly t0: number;

  constructor(private readonly r: Prng, private readonly opts: Options) {
    const state = r.pick([...FINISHED, 'RUNNING', 'PENDING', 'CANCELING']);
    const created = r.int(1_600_000_000, 1_800_000_000);
    this.t0 = created * 1000;
    this.b = new RunBuilder(`run-${r.int(1, 1e9).toString(16)}`, {
      state,
      createdAtInSec: created,
      finishedAtInSec: FINISHED.includes(state) ? created + r.int(1, 5000) : 0,
      namespace: r.pick(['team-a', 'kubeflow-user', '']),
      experimentNamespace: null,
      pipelineName: r.pick(['p', 'my-pipeline', 'train-and-eval']),
      pipelineRoot: r.pick(['minio://mlpipeline/v2/artifacts', 'gs://bucket/root/', 's3://b/r?region=eu-west-1']),
      firstId: r.int(1, 500),
    });
  }

  private key(prefix: string): string {
    return `${prefix}${++this.keyNo}`;
  }

  private times(): { createMs: number; updateMs: number } {
    const createMs = this.t0 + this.r.int(0, 3_600_000);
    return { createMs, updateMs: createMs + this.r.int(0, 600_000) };
  }

  private state(container: boolean): number | null {
    const states = container ? [2, 3, 3, 3, 4, 5, 6] : [2, 3, 3, 4, 6];
    if (this.opts.odd && this.r.chance(0.05)) return this.r.pick([null, 0, 1]);
    return this.r.pick(states);
  }

  private jsonLeaf(): JsonValue {
    return this.r.pick<() => JsonValue>([() => this.r.decimal(-100, 100, 3), () => `s${this.r.int(0, 99)}`, () => this.r.chance(0.5), () => this.r.int(0, 9)])();
  }

  private jsonObject(depth = 0): JsonObject {
    const o: JsonObject = {};
    for (let i = this.r.int(0, 3); i > 0; i--) {
      o[`k${this.r.int(0, 20)}`] = depth < 2 && this.r.chance(0.25) ? (this.r.chance(0.5) ? this.jsonObject(depth + 1) : [this.jsonLeaf(), this.jsonLeaf()]) : this.jsonLeaf();
    }
    return o;
  }

  private parentRef(parent: number): Props {
    if (this.opts.odd && this.r.chance(0.04)) return this.r.pick<Props>([{}, { parent_dag_id: int(999_999) }, { parent_dag_id: str(String(parent)) }]);
    return { parent_dag_id: int(parent) };
  }

  private maybeInputs(): Props {
    return this.r.chance(0.7) ? { inputs: struct(this.jsonObject()) } : {};
  }

  build(): RunBundle {
    const root = this.b.exec(D, { task_name: str(''), display_name: str(''), inputs: struct(this.jsonObject()) }, { name: `run/${this.b.runUuid}`, state: 2, ...this.times() });
    this.children(root, 0);
    this.artifactsAndEvents();
    return this.b.build();
  }

  private children(parent: number, depth: number): void {
    const n = depth === 0 ? this.r.int(1, 5) : this.r.int(0, 3);
    for (let i = 0; i < n; i++) {
      const kind = depth >= 3 ? 'container' : this.r.pick(['container', 'container', 'container', 'importer', 'dag', 'condition', 'branches', 'exit', 'loop']);
      if (kind === 'container') this.container(parent);
      else if (kind === 'importer') this.importer(parent);
      else if (kind === 'loop') this.loop(parent, depth);
      else this.dag(parent, depth, { dag: 'sub-pipeline-', condition: 'condition-', branches: 'condition-branches-', exit: 'exit-handler-' }[kind]!);
    }
  }

  private container(parent: number): void {
    const key = this.key('task-');
    const state = this.state(true);
    const ran = state !== 5 && state !== 6 && this.r.chance(0.8);
    const props: Props = {
      ...this.parentRef(parent),
      task_name: str(key),
      display_name: str(this.r.chance(0.5) ? key : `Nice ${key}`),
      pod_name: str(ran ? `pod-${this.r.int(1, 1e6)}` : ''),
      pod_uid: str(ran ? `uid-${this.r.int(1, 1e6)}` : ''),
      namespace: str(ran ? this.b.run.namespace : ''),
      image: str(''),
      ...this.maybeInputs(),
    };
    if (state === 3 || state === 5 || this.r.chance(0.3)) props.outputs = struct(this.jsonObject());
    if (this.r.chance(0.6)) props.cache_fingerprint = str(this.r.int(0, 1e9).toString(16).padStart(64, '0'));
    if (state === 5) props.cached_execution_id = str(String(this.r.int(1, 1000)));
    if (this.r.chance(0.1)) props['plugins.mlflow.run_id'] = str(`mlf-${this.r.int(1, 99)}`);
    this.nodes.push({ id: this.b.exec(C, props, { state, ...this.times() }), kind: 'container' });
  }

  private importer(parent: number): void {
    const type = this.r.chance(0.3) ? 'system.ImporterWorkspaceExecution' : 'system.ImporterExecution';
    const id = this.b.exec(type, { ...this.parentRef(parent), task_name: str(this.key('importer-')), display_name: str('') }, { state: this.r.pick([2, 3, 3, 4]), ...this.times() });
    this.nodes.push({ id, kind: 'importer' });
  }

  private dag(parent: number, depth: number, prefix: string): void {
    const key = this.key(prefix);
    const id = this.b.exec(D, { ...this.parentRef(parent), task_name: str(key), display_name: str(key), total_dag_tasks: int(this.r.int(0, 4)), ...this.maybeInputs() }, { state: this.state(false), ...this.times() });
    this.nodes.push({ id, kind: 'dag' });
    this.children(id, depth + 1);
  }

  private loop(parent: number, depth: number): void {
    const key = this.key('for-loop-');
    const count = this.r.int(0, 3);
    const fannedOut = count > 0 || this.r.chance(0.5);
    const props: Props = { ...this.parentRef(parent), task_name: str(key), display_name: str(key), total_dag_tasks: int(1), ...this.maybeInputs() };
    if (fannedOut) props.iteration_count = int(count);
    const loop = this.b.exec(D, props, { state: this.state(false), ...this.times() });
    this.nodes.push({ id: loop, kind: 'loop' });
    for (let i = 0; i < count; i++) {
      const iteration = this.b.exec(
        D,
        { parent_dag_id: int(loop), task_name: str(key), display_name: str(key), iteration_index: int(i), inputs: struct({ [`${key}-item`]: this.jsonLeaf() }) },
        { state: this.state(false), ...this.times() },
      );
      this.nodes.push({ id: iteration, kind: 'iteration' });
      this.children(iteration, depth + 1);
    }
  }

  private artifactProps(type: string, fromImporter: boolean, key: string): Props {
    const p: Props = {};
    if (!fromImporter && this.r.chance(0.9)) p.display_name = str(this.r.chance(0.8) ? key : `named-${this.r.int(1, 99)}`);
    if (this.r.chance(0.6)) p.store_session_info = str('{"Provider":"minio","Params":{"fromEnv":"false"}}');
    if (type === 'system.Metrics') {
      for (let i = this.r.int(0, 3); i > 0; i--) p[`m${this.r.int(0, 9)}`] = dbl(this.r.decimal(0, 1, 6));
      if (this.r.chance(0.2)) p.note = str('not a number');
      // PostgreSQL and SQLite hold NaN and the infinities in double_value (reject NON_FINITE_NUMBER).
      if (this.opts.odd && this.r.chance(0.2)) p.mNonFinite = dbl(this.r.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]));
      return p;
    }
    for (let i = this.r.int(0, 4); i > 0; i--) {
      const v = this.r.pick<() => MlmdValue>([
        () => str(`v${this.r.int(0, 99)}`),
        () => dbl(this.r.decimal(-1000, 1000, 6)),
        () => int(this.r.int(0, 1)),
        () => int(this.r.int(2, 500)),
        () => struct({ list: [this.jsonLeaf(), this.jsonObject()] }),
        () => struct({ struct: this.jsonObject() }),
      ])();
      p[`meta${this.r.int(0, 20)}`] = v;
    }
    if (this.opts.odd && this.r.chance(0.3)) {
      p.oddBool = { kind: 'bool', value: this.r.chance(0.5) };
      p.oddStruct = struct(this.jsonObject());
      p.oddProto = { kind: 'proto', typeUrl: 'type.googleapis.com/x.Y', base64: 'AAE=' };
      p.oddNonFinite = dbl(this.r.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]));
      p.oddStructNonFinite = struct({ struct: { x: this.r.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) } });
    }
    return p;
  }

  private artifactsAndEvents(): void {
    const producers = this.nodes.filter((n) => n.kind === 'container' || n.kind === 'importer');
    if (producers.length === 0) return;
    const seen = new Set<string>();
    const event = (artifact: number, exec: number, type: number, key: string) => {
      const dir = type === 3 || type === 2 || type === 5 ? 'in' : 'out';
      if (seen.has(`${artifact}|${exec}|${type}`) || seen.has(`${artifact}|${exec}|${dir}`)) return;
      seen.add(`${artifact}|${exec}|${type}`);
      seen.add(`${artifact}|${exec}|${dir}`);
      this.b.event(artifact, exec, type, key);
      const ev = this.b.events[this.b.events.length - 1]!;
      ev.ms = this.t0 + this.r.int(0, 4_000_000);
      if (this.opts.odd && this.r.chance(0.1)) ev.path = [{ key }, { index: 0 }];
    };
    for (let a = this.r.int(0, 6); a > 0; a--) {
      const producer = this.r.pick(producers);
      const type = producer.kind === 'importer' ? this.r.pick(['system.Model', 'system.Dataset', 'google.VertexModel']) : this.r.pick(ARTIFACT_TYPES);
      const key = `out-${this.r.int(0, 5)}`;
      const id = this.b.artifact(type, `minio://b/${this.b.runUuid}/${this.r.int(0, 1e6)}/${key}`, this.artifactProps(type, producer.kind === 'importer', key));
      const art = this.b.artifacts[this.b.artifacts.length - 1]!;
      art.createMs = this.t0 + this.r.int(0, 4_000_000);
      art.updateMs = art.createMs + this.r.int(0, 10_000);
      event(id, producer.id, 4, key);
      if (this.r.chance(0.2)) event(id, this.r.pick(producers).id, 4, key); // a cache hit re-outputs it
      for (let c = this.r.int(0, 3); c > 0; c--) {
        const consumer = this.r.pick(this.nodes);
        const type = this.opts.odd && this.r.chance(0.1) ? this.r.pick([2, 5]) : 3;
        event(id, consumer.id, type, `in-${this.r.int(0, 5)}`);
      }
    }
  }
}

// ------------------------------------------------------------------ scaffolding (type ids: test/helpers/type-ids.ts)

/** A KFP 2.x run context, as the root driver writes it. */
function withRunContextProps(b: RunBundle): RunBundle {
  const run = b.runDetails!;
  const [root, query] = (run.pipelineRoot ?? '').split('?');
  return {
    ...b,
    runContext: {
      ...b.runContext,
      customProperties: {
        namespace: str(run.namespace),
        resource_name: str('run-resource'),
        pipeline_root: str(`${root!.replace(/\/+$/, '')}/${run.pipelineName}/${run.uuid}${query ? `?${query}` : ''}`),
      },
    },
  };
}

function roundTrip(seed: number, opts: Options): { source: RunBundle; view: MlmdView; diffs: Difference[] } {
  const source = withRunContextProps(withTypeIds(new RunGenerator(new Prng(seed), opts).build(), () => 0));
  const migration = mapRun(source);
  let next = 1_000_000;
  const view = reverseRun(
    { run: source.runDetails!, tasks: migration.tasks, links: migration.links, artifacts: migration.artifacts, idMap: [...migration.idMap, ...typeRows(source)] },
    () => next++,
  );
  return { source, view, diffs: compareRun(source, view, { rejects: migration.rejects }) };
}

const drift = (diffs: Difference[]) => diffs.filter((d) => d.code === 'DRIFT');

/** The losses KFP-faithful data can show; anything else would mean a rule fires where it should not. */
const FAITHFUL_LOSSES: ReadonlySet<LossyCode> = new Set<LossyCode>([
  'ROOT_STATE_FROM_RUN',
  'RUNNING_IN_FINISHED_RUN',
  'UPDATE_TIME_NOT_KEPT',
  'TIMESTAMP_SECONDS',
  'METRICS_URI_DROPPED',
  'STORE_SESSION_INFO_DROPPED',
  'ARTIFACT_DISPLAY_NAME_FROM_NAME',
  'INT_AS_DOUBLE',
  'EMPTY_PARAMETERS_DROPPED',
  'EVENT_TIME_APPROXIMATED',
  'CONTEXT_TIMES_APPROXIMATED',
]);

// ------------------------------------------------------------------ the properties

describe('reverse(forward(run)) == run, modulo documented losses', () => {
  it('KFP-shaped runs: no drift, and only the losses KFP data can show', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { source, view, diffs } = roundTrip(seed, { odd: false });
        expect(drift(diffs)).toEqual([]);
        expect(diffs.filter((d) => !FAITHFUL_LOSSES.has(d.code as LossyCode))).toEqual([]);
        // Nothing is lost or invented: the same executions (iterations included), artifacts and contexts.
        expect(view.executions.map((e) => e.id)).toEqual(source.executions.map((e) => e.id));
        expect(view.artifacts.map((a) => a.id)).toEqual(source.artifacts.map((a) => a.id));
        expect(view.events).toHaveLength(source.events.length);
      }),
      { numRuns: 100 },
    );
  });

  it('runs with shapes KFP never writes: still no drift (every loss is classified)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        expect(drift(roundTrip(seed, { odd: true }).diffs)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('the reversed view is well-formed: unique ids, events and parents point at records of the view', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, odd) => {
        const { view } = roundTrip(seed, { odd });
        const execIds = new Set(view.executions.map((e) => e.id));
        const artIds = new Set(view.artifacts.map((a) => a.id));
        expect(execIds.size).toBe(view.executions.length);
        expect(artIds.size).toBe(view.artifacts.length);
        for (const e of view.events) expect(execIds.has(e.executionId) && artIds.has(e.artifactId)).toBe(true);
        for (const e of view.executions) {
          const p = e.customProperties.parent_dag_id;
          if (p) expect(p.kind === 'int' && execIds.has(p.value)).toBe(true);
        }
        expect(view.executions.filter((e) => e.name !== null)).toHaveLength(1);
      }),
      { numRuns: 50 },
    );
  });

  it('outlineRun counts exactly what mapRun writes, with the same rejects', () => {
    const codes = new Set<string>();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, odd) => {
        const source = withRunContextProps(withTypeIds(new RunGenerator(new Prng(seed), { odd }).build(), () => 0));
        const full = mapRun(source);
        const outline = outlineRun(source);
        expect(outline.tasks).toBe(full.tasks.length);
        expect(outline.links).toBe(full.links.length);
        expect(outline.artifactUuids).toEqual(full.artifacts.map((a) => a.UUID));
        expect(outline.namespace).toBe(full.namespace);
        expect(outline.artifactRows.reduce((n, a) => n + a.rows, 0)).toBe(full.artifacts.length);
        expect(outline.rejects).toEqual(full.rejects);
        for (const r of full.rejects) codes.add(r.code);
      }),
      { numRuns: 200 },
    );
    // The runs above must have exercised rejects, or the equality says little.
    expect(codes.size).toBeGreaterThanOrEqual(3);
  });

  it('the differ is not blind: a perturbed view always shows drift', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { source, view } = roundTrip(seed, { odd: false });
        const victim = view.executions[seed % view.executions.length]!;
        const perturbed: MlmdView = {
          ...view,
          executions: view.executions.map((e) => (e === victim ? { ...e, customProperties: { ...e.customProperties, task_name: str('tampered') } } : e)),
        };
        const found = drift(compareRun(source, perturbed));
        expect(found.some((d) => d.mlmdId === victim.id && d.field === 'customProperties.task_name')).toBe(true);
      }),
      { numRuns: 30 },
    );
  });
});
