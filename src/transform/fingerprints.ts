import { compareUtf8, KfpJsonError } from '../proto/kfp-json.ts';
import { type CacheKey, type CacheKeyOutputArtifact, cacheKeyFingerprint, customCacheKeyFingerprint } from './cache-key.ts';
import { type CacheKeyMaterial, CacheRunIndex, cacheKeyMaterial, storedFingerprint } from './cache-material.ts';
import { EVENT_TYPE, EXECUTION_STATE, type JsonObject, type RunBundle } from './model.ts';
import type { RejectLog } from './rejects.ts';
import {
  ARTIFACT_TYPE,
  type CacheKeyRules,
  EXECUTOR_LOGS_OUTPUT,
  type FingerprintMissReason,
  KFP2_CACHE_KEY_RULES,
  KFP3_CACHE_KEY_RULES,
  TASK_TYPE,
} from './rules.ts';
import type { PipelineSpecIndex } from './spec.ts';
import type { TaskNode, TaskTree } from './tasks.ts';

/**
 * Cache continuity (kfp-facts.md §B.4): for each container execution with a stored
 * `cache_fingerprint`, recompute the KFP 2.x key from the run's records (the self-check), and
 * where it reproduces, compute the key KFP 3's driver will compute for the same task in a new run
 * — the one `tasks.Fingerprint` must hold for a migrated task to serve a cache hit.
 */

/** How the forward mapping fills `tasks.Fingerprint` (`migrate --fingerprints`, `--publish-logs`). */
export interface MappingOptions {
  /** `kfp3`: the KFP 3 key of every reproduced fingerprint; `mlmd`: the MLMD value, copied. */
  fingerprints: 'kfp3' | 'mlmd';
  /** The target deployment's PUBLISH_LOGS: KFP 3 keys a task with its executor-logs output when true. */
  publishLogs: boolean;
}

export const DEFAULT_MAPPING_OPTIONS: Readonly<MappingOptions> = { fingerprints: 'kfp3', publishLogs: true };

/** The fingerprint figures of some runs, as plan, migrate and verify report them. */
export interface FingerprintTally {
  /** Container executions with a stored cache_fingerprint. */
  stored: number;
  /** Of those, the ones whose KFP 2.x key was recomputed exactly. */
  reproduced: number;
  /** The others, by FINGERPRINT_MISS_REASONS code. */
  notReproduced: Record<string, number>;
  /** The reproduced ones by the rule that gave them (custom, kfp-2.0, kfp-2.15). */
  byRule: Record<string, number>;
  /** SUCCEEDED containers given a fingerprint: the tasks a KFP 3 cache lookup can find. */
  serving: number;
  /** Of those, the ones missing a declared output parameter or artifact: a hit on them would lack it. */
  servingWithoutOutputs: number;
  /** tasks.Fingerprint values that are KFP 3 keys. */
  kfp3Keys: number;
}

export function emptyTally(): FingerprintTally {
  return { stored: 0, reproduced: 0, notReproduced: {}, byRule: {}, serving: 0, servingWithoutOutputs: 0, kfp3Keys: 0 };
}

export function addTally(into: FingerprintTally, from: FingerprintTally): void {
  into.stored += from.stored;
  into.reproduced += from.reproduced;
  into.serving += from.serving;
  into.servingWithoutOutputs += from.servingWithoutOutputs;
  into.kfp3Keys += from.kfp3Keys;
  for (const [k, n] of Object.entries(from.notReproduced)) into.notReproduced[k] = (into.notReproduced[k] ?? 0) + n;
  for (const [k, n] of Object.entries(from.byRule)) into.byRule[k] = (into.byRule[k] ?? 0) + n;
}

/** An artifact's `artifacts` rows in the run's namespace, `null` when it has none (missing or rejected). */
export type ArtifactRowsOf = (mlmdArtifactId: number) => { UUID: string; Type: number | null }[] | null;

export type SelfCheck =
  | { reproduced: true; rule: string; material: CacheKeyMaterial }
  | { reproduced: false; reason: FingerprintMissReason; detail: string; material: CacheKeyMaterial | null };

/**
 * The key one release builds from the material: `inputNames` says what identifies a key's
 * artifacts under `kfp-uuid` rules (null when one has no identity).
 */
export function cacheKeyFor(
  m: CacheKeyMaterial,
  rules: CacheKeyRules,
  o: { executorLogs: boolean; inputNames?: (ids: number[]) => string[] | null },
): CacheKey | null {
  const inputArtifactNames: Record<string, string[]> = {};
  for (const [key, ids] of Object.entries(m.inputArtifacts)) {
    const names = rules.inputArtifacts === 'mlmd-id' ? ids.map(String) : (o.inputNames?.(ids) ?? null);
    if (names === null) return null;
    inputArtifactNames[key] = names;
  }
  const outputArtifactsSpec: Record<string, CacheKeyOutputArtifact> = {};
  let outputParametersSpec: Record<string, string> = {};
  if (!m.k8sOp || rules.k8sOpOutputs) {
    for (const [key, def] of Object.entries(m.outputArtifacts)) {
      const spec: CacheKeyOutputArtifact = {};
      if (rules.outputArtifactNames) spec.name = key;
      if (def.type) spec.type = artifactTypeSchema(def.type);
      if (def.metadata) spec.metadata = def.metadata as JsonObject;
      outputArtifactsSpec[key] = spec;
    }
    // Kubernetes platform ops have no launcher and never log.
    if (o.executorLogs && !m.k8sOp) {
      outputArtifactsSpec[EXECUTOR_LOGS_OUTPUT.key] = { ...(rules.outputArtifactNames ? { name: EXECUTOR_LOGS_OUTPUT.key } : {}), type: { ...EXECUTOR_LOGS_OUTPUT.type } };
    }
    outputParametersSpec = m.outputParameters;
  }
  const pvcNames = rules.pvcNames && !m.k8sOp ? [...new Set([...m.pvcNames, ...(m.workspacePvc ? [m.workspacePvc] : [])])].sort(compareUtf8) : [];
  const cmdArgs = [...m.command, ...m.args];
  if (rules.pipelineNameArg) cmdArgs.push(`__kfp_pipeline_name=${m.pipelineName}`);
  return {
    inputArtifactNames,
    inputParameterValues: m.parameterValues,
    outputArtifactsSpec,
    outputParametersSpec,
    containerSpec: { image: m.image, cmdArgs, pvcNames },
  };
}

/** The spec's `artifactType` as the ArtifactTypeSchema message holds it (proto or JSON field names alike). */
function artifactTypeSchema(raw: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [json, proto] of [
    ['schemaTitle', 'schema_title'],
    ['schemaUri', 'schema_uri'],
    ['instanceSchema', 'instance_schema'],
    ['schemaVersion', 'schema_version'],
  ] as const) {
    const v = raw[json] ?? raw[proto];
    if (typeof v === 'string') out[json] = v;
  }
  return out;
}

/**
 * Every KFP 2.x key the material can give, until one equals the stored fingerprint: the rule that
 * reproduced the run's previous task first (one release wrote the whole run), then the others.
 */
export function selfCheck(t: TaskNode, stored: string, run: CacheRunIndex, preferred: string | null = null): SelfCheck {
  const built = cacheKeyMaterial(t, run);
  if (!built.ok) return { reproduced: false, reason: built.reason, detail: built.detail, material: null };
  const m = built.material;
  if (m.custom && customCacheKeyFingerprint(m.custom.componentRef, m.custom.cacheKey) === stored) return { reproduced: true, rule: 'custom', material: m };
  // Log publishing is a deployment setting MLMD does not record: an executor-logs output says it was on.
  const logged = run.eventsOf(t.exec!.id).some((ev) => ev.type === EVENT_TYPE.OUTPUT && ev.path[0] && 'key' in ev.path[0] && ev.path[0].key === EXECUTOR_LOGS_OUTPUT.key);
  const logOrders = m.k8sOp ? [false] : [logged, !logged];
  const rulesInOrder = [...KFP2_CACHE_KEY_RULES].sort((a, b) => Number(b.name === preferred) - Number(a.name === preferred));
  let encodable = false;
  let refused = '';
  for (const rules of rulesInOrder) {
    for (const executorLogs of logOrders) {
      try {
        if (cacheKeyFingerprint(cacheKeyFor(m, rules, { executorLogs })!) === stored) return { reproduced: true, rule: rules.name, material: m };
        encodable = true;
      } catch (e) {
        if (!(e instanceof KfpJsonError)) throw e;
        refused = e.message;
      }
    }
  }
  if (!encodable) return { reproduced: false, reason: 'NOT_ENCODABLE', detail: `protojson refuses ${refused}`, material: m };
  return {
    reproduced: false,
    reason: 'KEY_DIFFERS',
    detail: `no KFP 2.x rule (${KFP2_CACHE_KEY_RULES.map((r) => r.name).join(', ')}, executor logs on or off${m.custom ? ', custom key' : ''}) gives the stored fingerprint`,
    material: m,
  };
}

/**
 * The fingerprints of one run's tasks. `column` is asked for each task once its tree is complete,
 * and decides what `tasks.Fingerprint` holds, counting and reporting as it goes.
 */
export class RunFingerprints {
  readonly tally = emptyTally();
  /** Task UUID → the non-empty Fingerprint column it was given: what verify compares the stored rows with. */
  readonly columns: Record<string, string> = {};
  private index: CacheRunIndex | null = null;
  /** The KFP 2.x rule that reproduced the run's last task. */
  private lastRule: string | null = null;

  constructor(
    private readonly bundle: RunBundle,
    private readonly spec: PipelineSpecIndex | null,
    private readonly namespace: string,
    private readonly options: MappingOptions,
    /** false: copy the MLMD values and compute nothing (migrate --fingerprints mlmd). */
    private readonly recompute: boolean,
    private readonly rejects: RejectLog,
    private readonly artifactRowsOf: ArtifactRowsOf,
  ) {}

  column(t: TaskNode, tree: TaskTree): string {
    const e = t.exec;
    if (t.type !== TASK_TYPE.RUNTIME || !e) return '';
    const stored = storedFingerprint(e);
    if (stored === null) return '';
    // A lookup finds only SUCCEEDED tasks: the column is filled for containers that completed.
    const serving = e.lastKnownState === EXECUTION_STATE.COMPLETE;
    const value = this.recompute ? this.decide(t, tree, stored, serving) : stored;
    if (serving) this.columns[t.uuid] = value;
    return serving ? value : '';
  }

  private decide(t: TaskNode, tree: TaskTree, stored: string, serving: boolean): string {
    this.index ??= new CacheRunIndex(this.bundle, this.spec, tree);
    const check = selfCheck(t, stored, this.index, this.lastRule);
    this.tally.stored++;
    if (check.reproduced) {
      if (check.rule !== 'custom') this.lastRule = check.rule;
      this.tally.reproduced++;
      this.tally.byRule[check.rule] = (this.tally.byRule[check.rule] ?? 0) + 1;
    } else {
      this.tally.notReproduced[check.reason] = (this.tally.notReproduced[check.reason] ?? 0) + 1;
    }
    if (!serving) return stored;
    this.tally.serving++;
    if (check.material && lacksOutputs(t, check.material, this.index)) this.tally.servingWithoutOutputs++;
    if (this.options.fingerprints === 'mlmd') return stored;
    const e = t.exec!;
    if (!check.reproduced) {
      this.rejects.add('FINGERPRINT_NOT_REPRODUCED', 'execution', e.id, `${check.reason}: ${check.detail}; the MLMD fingerprint is kept, so this task serves no KFP 3 cache hit`);
      return stored;
    }
    const key = this.kfp3Key(check.material);
    if (typeof key !== 'string') {
      this.rejects.add('FINGERPRINT_NO_KFP3_KEY', 'execution', e.id, `INPUT_ARTIFACT_NOT_MIGRATED: ${key.detail}; the MLMD fingerprint is kept, so this task serves no KFP 3 cache hit`);
      return stored;
    }
    this.tally.kfp3Keys++;
    return key;
  }

  /** The key KFP 3's driver computes for this task in a new run of the same pipeline, or why there is none. */
  private kfp3Key(m: CacheKeyMaterial): string | { detail: string } {
    if (m.custom) return customCacheKeyFingerprint(m.custom.componentRef, m.custom.cacheKey);
    let missing: number | null = null;
    const inputNames = (ids: number[]) => {
      const names = this.kfp3InputNames(ids);
      if (typeof names === 'number') {
        missing = names;
        return null;
      }
      return names;
    };
    const key = cacheKeyFor(m, KFP3_CACHE_KEY_RULES, { executorLogs: this.options.publishLogs, inputNames });
    if (!key) return { detail: `input artifact ${missing} has no artifacts row in namespace "${this.namespace}" (it was skipped), so it has no KFP artifact UUID` };
    return cacheKeyFingerprint(key);
  }

  /**
   * What KFP 3 resolves an input key to: the artifacts rows its upstream outputs link, each
   * artifact's rows by ascending UUID (as the server hydrates links), a collected list in the
   * order of the iterations that produced it; rows that are all split metrics count as one, with
   * the first row's UUID. A number is the MLMD id of an artifact without rows.
   */
  private kfp3InputNames(ids: number[]): string[] | number {
    let ordered = ids;
    if (ids.length > 1) {
      const iterations = ids.map((id) => this.index!.producersOf(id)[0]?.iterationIndex ?? null);
      if (iterations.every((i) => i !== null)) {
        ordered = ids.map((id, i) => ({ id, it: iterations[i]!, i })).sort((a, b) => a.it - b.it || a.i - b.i).map((x) => x.id);
      }
    }
    const rows: { UUID: string; Type: number | null }[] = [];
    for (const id of ordered) {
      const own = this.artifactRowsOf(id);
      if (!own || own.length === 0) return id;
      rows.push(...[...own].sort((a, b) => (a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0)));
    }
    if (rows.length > 1 && rows.every((r) => r.Type === ARTIFACT_TYPE.Metric)) return [rows[0]!.UUID];
    return rows.map((r) => r.UUID);
  }
}

/** A declared output parameter missing from `outputs`, or a declared output artifact without an OUTPUT event. */
function lacksOutputs(t: TaskNode, m: CacheKeyMaterial, run: CacheRunIndex): boolean {
  const e = t.exec!;
  const outputs = e.customProperties.outputs;
  const values = outputs && outputs.kind === 'struct' ? outputs.value : {};
  if (Object.keys(m.outputParameters).some((k) => !(k in values))) return true;
  const linked = new Set<string>();
  for (const ev of run.eventsOf(e.id)) {
    const step = ev.path[0];
    if (ev.type === EVENT_TYPE.OUTPUT && step && 'key' in step) linked.add(step.key);
  }
  return Object.keys(m.outputArtifacts).some((k) => !linked.has(k));
}
