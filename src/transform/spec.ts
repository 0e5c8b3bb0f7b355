import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { LruMap } from '../util/lru-map.ts';

/**
 * The parts of a compiled KFP v2 PipelineSpec the mapping needs: task keys per DAG, how each input
 * is wired, conditions, iterators, executors, output definitions and caching options, and the PVC
 * mounts of the Kubernetes platform spec beside it. Parsed once per run from
 * `run_details.PipelineSpecManifest`; every lookup tolerates a missing or partial spec.
 */

export type ParamSource =
  | { kind: 'componentInput'; name: string }
  | { kind: 'taskOutput'; producerTask: string; key: string }
  /** `constant` is the value the spec fixes, `undefined` when it gives none the mapping can read. */
  | { kind: 'runtimeValue'; constant: unknown }
  | { kind: 'taskFinalStatus'; producerTask: string }
  | { kind: 'other' };

export type ArtifactSource =
  | { kind: 'componentInput'; name: string }
  | { kind: 'taskOutput'; producerTask: string; key: string }
  | { kind: 'other' };

export interface SpecTask {
  key: string;
  /** `taskInfo.name`, the display name. */
  displayName: string | null;
  componentRef: string | null;
  parameters: Record<string, ParamSource>;
  artifacts: Record<string, ArtifactSource>;
  hasCondition: boolean;
  /** The loop item input name (`parameterIterator.itemInput` / `artifactIterator.itemInput`) of a ParallelFor task. */
  iteratorItem: string | null;
  /** `cachingOptions.cacheKey`, `''` when unset: a custom cache key replaces the computed one. */
  cacheKey: string;
}

/** An output artifact definition, as the driver hands it to provisionOutputs. */
export interface SpecOutputArtifact {
  /** `artifactType`, an ArtifactTypeSchema (`schemaTitle` / `instanceSchema` / `schemaUri`, `schemaVersion`); null when absent or not an object. */
  type: Record<string, unknown> | null;
  /** `metadata` (a Struct), null when absent. */
  metadata: Record<string, unknown> | null;
}

/** What names a PVC to mount (kubernetes platform spec `pvcMount`): a constant, or a parameter resolved like a task input. */
export type PvcNameSource =
  | { kind: 'constant'; value: string }
  | { kind: 'componentInput'; name: string }
  | { kind: 'taskOutput'; producerTask: string; key: string }
  | { kind: 'other' };

export interface SpecExecutor {
  /** `container` of a container executor; null for importers and anything else. */
  container: { image: string; command: string[]; args: string[] } | null;
  /** Each `pvcMount` of the executor's kubernetes platform config, in order. */
  pvcMounts: PvcNameSource[];
}

export interface SpecComponent {
  name: string;
  /** `dag.tasks` keyed by task key; empty for container/importer components. */
  tasks: Map<string, SpecTask>;
  /** Parameter names that have a default in `inputDefinitions`. */
  defaultedInputs: Set<string>;
  /** Input artifact names declared `isArtifactList` (e.g. dsl.Collected): they may resolve to no artifact. */
  artifactListInputs: Set<string>;
  /** `outputDefinitions.artifacts` by output key. */
  outputArtifacts: Record<string, SpecOutputArtifact>;
  /** `outputDefinitions.parameters`: output key → `parameterType` value name (`PARAMETER_TYPE_ENUM_UNSPECIFIED` when none is given). */
  outputParameters: Record<string, string>;
  executorLabel: string | null;
}

export interface PipelineSpecIndex {
  pipelineName: string | null;
  root: SpecComponent;
  component(name: string | null): SpecComponent | undefined;
  /** The component a task runs (the DAG its children live in, for DAG tasks). */
  componentOf(task: SpecTask): SpecComponent | undefined;
  /** The container image of the executor a task runs, if it is a container. */
  imageOf(task: SpecTask): string | null;
  /** The executor a task runs (its component's `executorLabel`), with its platform config; undefined when the spec has none. */
  executorOf(task: SpecTask): SpecExecutor | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * What reading a run's manifest gave: the spec's index, or why there is none. `problem` is null when
 * there is no manifest at all (nothing to read), and says what was wrong when there was one.
 */
export type SpecReading = { spec: PipelineSpecIndex; problem: null } | { spec: null; problem: string | null };

/**
 * Runs of one pipeline version share one manifest text, and parsing YAML dominates mapping a run; the
 * index is read-only, so parsed specs are remembered, most recently used first, up to this many.
 */
const SPEC_CACHE_LIMIT = 256;
const specCache = new LruMap<string, SpecReading>(SPEC_CACHE_LIMIT);

/** The manifest's PipelineSpec, or why it has none; never throws. */
export function readPipelineSpec(manifest: string | null | undefined): SpecReading {
  if (!manifest || manifest.trim() === '') return { spec: null, problem: null };
  const hit = specCache.get(manifest);
  if (hit !== undefined) return hit;
  const reading = readUncached(manifest);
  specCache.set(manifest, reading);
  return reading;
}

/** Returns `null` (never throws) when the manifest is absent or holds no PipelineSpec; `readPipelineSpec` says why. */
export function parsePipelineSpec(manifest: string | null | undefined): PipelineSpecIndex | null {
  return readPipelineSpec(manifest).spec;
}

function readUncached(manifest: string): SpecReading {
  const fast = fastDocuments(manifest);
  let documents = fast.documents;
  let found = findSpec(documents);
  if (!found) {
    documents = tolerantDocuments(manifest);
    found = findSpec(documents);
  }
  if (found) return { spec: buildIndex(found, findKubernetesExecutors(documents)), problem: null };
  return { spec: null, problem: fast.error === null ? 'holds no PipelineSpec (no document has a root component)' : `is not readable as YAML or JSON (${fast.error})` };
}

/**
 * `platforms.kubernetes.deploymentSpec.executors` of the platform spec: a document of its own
 * after the pipeline spec, or `platformSpec` beside `pipelineSpec` in one.
 */
function findKubernetesExecutors(documents: unknown[]): Obj {
  for (const value of documents) {
    const holder = isObj(value) && isObj(value.platformSpec) ? value.platformSpec : value;
    const k8s = isObj(holder) && isObj(holder.platforms) ? holder.platforms.kubernetes : undefined;
    if (isObj(k8s) && isObj(k8s.deploymentSpec) && isObj(k8s.deploymentSpec.executors)) return k8s.deploymentSpec.executors;
  }
  return {};
}

/** The PipelineSpec among a manifest's documents: alone, or beside the platform spec under `pipelineSpec`. */
function findSpec(documents: unknown[]): Obj | undefined {
  for (const value of documents) {
    const candidate = isObj(value) && isObj(value.pipelineSpec) ? value.pipelineSpec : value;
    if (isObj(candidate) && isObj(candidate.root)) return candidate;
  }
  return undefined;
}

/**
 * JSON, or YAML read by js-yaml with the YAML 1.2 core schema (no timestamps or merge keys): ten
 * times faster than the tolerant reader. No documents, and the first line of the error, when any
 * document has an error.
 */
function fastDocuments(manifest: string): { documents: unknown[]; error: string | null } {
  try {
    if (manifest.trimStart().startsWith('{')) return { documents: [JSON.parse(manifest)], error: null };
  } catch {
    // Not JSON after all (YAML flow style): read it as YAML, whose error is the one reported.
  }
  try {
    return { documents: loadAll(manifest, undefined, { schema: CORE_SCHEMA }), error: null };
  } catch (e) {
    return { documents: [], error: firstLine((e as Error).message) };
  }
}

const firstLine = (message: string) => {
  const line = message.split('\n', 1)[0]!.trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
};

/** Every document without errors, so that a broken platform spec does not hide a sound pipeline spec. */
function tolerantDocuments(manifest: string): unknown[] {
  const out: unknown[] = [];
  try {
    for (const doc of parseAllDocuments(manifest)) {
      if ('errors' in doc && doc.errors.length > 0) continue;
      out.push(doc.toJS({ maxAliasCount: 1000 }) as unknown);
    }
  } catch {
    // Unreadable as YAML: no spec.
  }
  return out;
}

function buildIndex(spec: Obj, platformExecutors: Obj): PipelineSpecIndex {
  const components = new Map<string, SpecComponent>();
  const rawComponents = isObj(spec.components) ? spec.components : {};
  for (const [name, raw] of Object.entries(rawComponents)) {
    if (isObj(raw)) components.set(name, readComponent(name, raw));
  }
  const root = readComponent('root', spec.root as Obj);
  const executors = isObj(spec.deploymentSpec) && isObj(spec.deploymentSpec.executors) ? spec.deploymentSpec.executors : {};
  const pipelineInfo = isObj(spec.pipelineInfo) ? spec.pipelineInfo : {};
  const executorCache = new Map<string, SpecExecutor | undefined>();
  return {
    pipelineName: str(pipelineInfo.name),
    root,
    component: (name) => (name === null ? undefined : components.get(name)),
    componentOf: (task) => (task.componentRef === null ? undefined : components.get(task.componentRef)),
    imageOf(task) {
      const comp = task.componentRef ? components.get(task.componentRef) : undefined;
      const exec = comp?.executorLabel ? executors[comp.executorLabel] : undefined;
      return isObj(exec) && isObj(exec.container) ? str(exec.container.image) : null;
    },
    executorOf(task) {
      const label = (task.componentRef ? components.get(task.componentRef) : undefined)?.executorLabel;
      if (!label) return undefined;
      if (!executorCache.has(label)) executorCache.set(label, readExecutor(executors[label], platformExecutors[label]));
      return executorCache.get(label);
    },
  };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))) : []);

function readExecutor(raw: unknown, platform: unknown): SpecExecutor | undefined {
  if (!isObj(raw)) return undefined;
  const c = isObj(raw.container) ? raw.container : null;
  const mounts = isObj(platform) && Array.isArray(platform.pvcMount) ? platform.pvcMount : [];
  return {
    container: c ? { image: str(c.image) ?? '', command: strings(c.command), args: strings(c.args) } : null,
    pvcMounts: mounts.map(readPvcNameSource),
  };
}

/** `pvcNameParameter` (a task input parameter spec) wins; the deprecated `constant` / `componentInputParameter` / `taskOutputParameter` otherwise. */
function readPvcNameSource(m: unknown): PvcNameSource {
  if (!isObj(m)) return { kind: 'other' };
  if (isObj(m.pvcNameParameter)) {
    const src = readParamSource(m.pvcNameParameter);
    if (src.kind === 'componentInput') return src;
    if (src.kind === 'taskOutput') return src;
    if (src.kind === 'runtimeValue' && typeof src.constant === 'string') return { kind: 'constant', value: src.constant };
    return { kind: 'other' };
  }
  if (typeof m.constant === 'string' && m.constant !== '') return { kind: 'constant', value: m.constant };
  if (isObj(m.taskOutputParameter)) {
    return { kind: 'taskOutput', producerTask: str(m.taskOutputParameter.producerTask) ?? '', key: str(m.taskOutputParameter.outputParameterKey) ?? '' };
  }
  if (typeof m.componentInputParameter === 'string' && m.componentInputParameter !== '') return { kind: 'componentInput', name: m.componentInputParameter };
  return { kind: 'other' };
}

function readComponent(name: string, raw: Obj): SpecComponent {
  const tasks = new Map<string, SpecTask>();
  const dagTasks = isObj(raw.dag) && isObj(raw.dag.tasks) ? raw.dag.tasks : {};
  for (const [key, t] of Object.entries(dagTasks)) {
    if (isObj(t)) tasks.set(key, readTask(key, t));
  }
  const defaulted = new Set<string>();
  const inputs = isObj(raw.inputDefinitions) ? raw.inputDefinitions : {};
  for (const [p, def] of Object.entries(isObj(inputs.parameters) ? inputs.parameters : {})) {
    if (isObj(def) && def.defaultValue !== undefined) defaulted.add(p);
  }
  const artifactListInputs = new Set<string>();
  for (const [a, def] of Object.entries(isObj(inputs.artifacts) ? inputs.artifacts : {})) {
    if (isObj(def) && def.isArtifactList === true) artifactListInputs.add(a);
  }
  const outputs = isObj(raw.outputDefinitions) ? raw.outputDefinitions : {};
  const outputArtifacts: Record<string, SpecOutputArtifact> = {};
  for (const [a, def] of Object.entries(isObj(outputs.artifacts) ? outputs.artifacts : {})) {
    outputArtifacts[a] = { type: isObj(def) && isObj(def.artifactType) ? def.artifactType : null, metadata: isObj(def) && isObj(def.metadata) ? def.metadata : null };
  }
  const outputParameters: Record<string, string> = {};
  for (const [p, def] of Object.entries(isObj(outputs.parameters) ? outputs.parameters : {})) {
    outputParameters[p] = (isObj(def) ? str(def.parameterType) : null) ?? 'PARAMETER_TYPE_ENUM_UNSPECIFIED';
  }
  return { name, tasks, defaultedInputs: defaulted, artifactListInputs, outputArtifacts, outputParameters, executorLabel: str(raw.executorLabel) };
}

function readTask(key: string, t: Obj): SpecTask {
  const inputs = isObj(t.inputs) ? t.inputs : {};
  const parameters: Record<string, ParamSource> = {};
  for (const [p, src] of Object.entries(isObj(inputs.parameters) ? inputs.parameters : {})) {
    parameters[p] = readParamSource(src);
  }
  const artifacts: Record<string, ArtifactSource> = {};
  for (const [a, src] of Object.entries(isObj(inputs.artifacts) ? inputs.artifacts : {})) {
    artifacts[a] = readArtifactSource(src);
  }
  const iterator = isObj(t.parameterIterator) ? t.parameterIterator : isObj(t.artifactIterator) ? t.artifactIterator : null;
  return {
    key,
    displayName: isObj(t.taskInfo) ? str(t.taskInfo.name) : null,
    componentRef: isObj(t.componentRef) ? str(t.componentRef.name) : null,
    parameters,
    artifacts,
    hasCondition: isObj(t.triggerPolicy) && typeof t.triggerPolicy.condition === 'string' && t.triggerPolicy.condition !== '',
    iteratorItem: iterator ? (str(iterator.itemInput) ?? '') : null,
    cacheKey: (isObj(t.cachingOptions) ? str(t.cachingOptions.cacheKey) : null) ?? '',
  };
}

function readParamSource(src: unknown): ParamSource {
  if (!isObj(src)) return { kind: 'other' };
  if (typeof src.componentInputParameter === 'string') return { kind: 'componentInput', name: src.componentInputParameter };
  if (isObj(src.taskOutputParameter)) {
    return {
      kind: 'taskOutput',
      producerTask: str(src.taskOutputParameter.producerTask) ?? '',
      key: str(src.taskOutputParameter.outputParameterKey) ?? '',
    };
  }
  if (src.runtimeValue !== undefined) return { kind: 'runtimeValue', constant: isObj(src.runtimeValue) ? constantOf(src.runtimeValue) : undefined };
  if (isObj(src.taskFinalStatus)) return { kind: 'taskFinalStatus', producerTask: str(src.taskFinalStatus.producerTask) ?? '' };
  return { kind: 'other' };
}

/**
 * The value of a `runtimeValue`: `constant` (a protobuf Value, as SDKs since 2.0 compile it) or the
 * older typed `constantValue` (`stringValue` / `intValue` / `doubleValue`).
 */
function constantOf(runtimeValue: Obj): unknown {
  if (runtimeValue.constant !== undefined) return runtimeValue.constant;
  const typed = runtimeValue.constantValue;
  if (!isObj(typed)) return undefined;
  if (typeof typed.stringValue === 'string') return typed.stringValue;
  const n = typed.intValue ?? typed.doubleValue;
  return typeof n === 'number' || (typeof n === 'string' && n.trim() !== '' && Number.isFinite(Number(n))) ? Number(n) : undefined;
}

function readArtifactSource(src: unknown): ArtifactSource {
  if (!isObj(src)) return { kind: 'other' };
  if (typeof src.componentInputArtifact === 'string') return { kind: 'componentInput', name: src.componentInputArtifact };
  if (isObj(src.taskOutputArtifact)) {
    return {
      kind: 'taskOutput',
      producerTask: str(src.taskOutputArtifact.producerTask) ?? '',
      key: str(src.taskOutputArtifact.outputArtifactKey) ?? '',
    };
  }
  return { kind: 'other' };
}
