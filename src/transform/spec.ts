import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { LruMap } from '../util/lru-map.ts';

/**
 * The parts of a compiled KFP v2 PipelineSpec the mapping needs: task keys per DAG, how each input
 * is wired, conditions, iterators and executor images. Parsed once per run from
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
}

export interface SpecComponent {
  name: string;
  /** `dag.tasks` keyed by task key; empty for container/importer components. */
  tasks: Map<string, SpecTask>;
  /** Parameter names that have a default in `inputDefinitions`. */
  defaultedInputs: Set<string>;
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
  const found = findSpec(fast.documents) ?? findSpec(tolerantDocuments(manifest));
  if (found) return { spec: buildIndex(found), problem: null };
  return { spec: null, problem: fast.error === null ? 'holds no PipelineSpec (no document has a root component)' : `is not readable as YAML or JSON (${fast.error})` };
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

function buildIndex(spec: Obj): PipelineSpecIndex {
  const components = new Map<string, SpecComponent>();
  const rawComponents = isObj(spec.components) ? spec.components : {};
  for (const [name, raw] of Object.entries(rawComponents)) {
    if (isObj(raw)) components.set(name, readComponent(name, raw));
  }
  const root = readComponent('root', spec.root as Obj);
  const executors = isObj(spec.deploymentSpec) && isObj(spec.deploymentSpec.executors) ? spec.deploymentSpec.executors : {};
  const pipelineInfo = isObj(spec.pipelineInfo) ? spec.pipelineInfo : {};
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
  };
}

function readComponent(name: string, raw: Obj): SpecComponent {
  const tasks = new Map<string, SpecTask>();
  const dagTasks = isObj(raw.dag) && isObj(raw.dag.tasks) ? raw.dag.tasks : {};
  for (const [key, t] of Object.entries(dagTasks)) {
    if (isObj(t)) tasks.set(key, readTask(key, t));
  }
  const defaulted = new Set<string>();
  const params = isObj(raw.inputDefinitions) && isObj(raw.inputDefinitions.parameters) ? raw.inputDefinitions.parameters : {};
  for (const [p, def] of Object.entries(params)) {
    if (isObj(def) && def.defaultValue !== undefined) defaulted.add(p);
  }
  return { name, tasks, defaultedInputs: defaulted, executorLabel: str(raw.executorLabel) };
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
