/**
 * A compiled KFP v2 PipelineSpec, built up alongside the executions so the manifest in
 * `run_details.PipelineSpecManifest` always describes exactly the tasks the MLMD rows claim.
 * Field names follow `pipeline_spec.proto` as the SDK compiler renders it to YAML (lowerCamelCase).
 */
import { stringify } from 'yaml';
import type { JsonObject, JsonValue } from '../transform/model.ts';

export type ParameterType = 'STRING' | 'NUMBER_INTEGER' | 'NUMBER_DOUBLE' | 'BOOLEAN' | 'LIST' | 'STRUCT' | 'TASK_FINAL_STATUS';

export interface ArtifactTypeSpec {
  schemaTitle: string;
  schemaVersion: string;
}

export interface InputDefinitions {
  parameters?: Record<string, { parameterType: ParameterType; defaultValue?: JsonValue; isOptional?: boolean }>;
  artifacts?: Record<string, { artifactType: ArtifactTypeSpec; isArtifactList?: boolean }>;
}

export interface OutputDefinitions {
  parameters?: Record<string, { parameterType: ParameterType }>;
  artifacts?: Record<string, { artifactType: ArtifactTypeSpec }>;
}

export type ParameterBindingSpec =
  | { componentInputParameter: string }
  | { taskOutputParameter: { producerTask: string; outputParameterKey: string } }
  | { runtimeValue: { constant: JsonValue } }
  | { taskFinalStatus: { producerTask: string } };

export type ArtifactBindingSpec =
  | { componentInputArtifact: string }
  | { taskOutputArtifact: { producerTask: string; outputArtifactKey: string } };

export interface TaskSpec {
  taskInfo: { name: string };
  componentRef: { name: string };
  inputs?: { parameters?: Record<string, ParameterBindingSpec>; artifacts?: Record<string, ArtifactBindingSpec> };
  dependentTasks?: string[];
  triggerPolicy?: { condition?: string; strategy?: string };
  parameterIterator?: { itemInput: string; items: { raw: string } | { inputParameter: string } };
  cachingOptions?: { enableCache: boolean; cacheKey?: string };
  retryPolicy?: { maxRetryCount: number };
}

export interface DagOutputs {
  parameters?: Record<string, { valueFromParameter: { producerSubtask: string; outputParameterKey: string } }>;
  artifacts?: Record<string, { artifactSelectors: { producerSubtask: string; outputArtifactKey: string }[] }>;
}

export interface ComponentSpec {
  inputDefinitions?: InputDefinitions;
  outputDefinitions?: OutputDefinitions;
  dag?: { tasks: Record<string, TaskSpec>; outputs?: DagOutputs };
  executorLabel?: string;
}

export type ExecutorSpec =
  | { container: { image: string; command?: string[]; args?: string[] } }
  | {
      importer: {
        artifactUri: { runtimeParameter: string };
        typeSchema: ArtifactTypeSpec;
        reimport?: boolean;
        metadata?: JsonObject;
        downloadToWorkspace?: boolean;
      };
    };

export function parameterTypeOf(v: JsonValue): ParameterType {
  if (typeof v === 'string') return 'STRING';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (typeof v === 'number') return Number.isInteger(v) ? 'NUMBER_INTEGER' : 'NUMBER_DOUBLE';
  if (Array.isArray(v)) return 'LIST';
  if (v === null) return 'STRING';
  return 'STRUCT';
}

export function artifactType(schemaTitle: string): ArtifactTypeSpec {
  return { schemaTitle, schemaVersion: '0.0.1' };
}

export class PipelineSpecBuilder {
  readonly root: ComponentSpec = { dag: { tasks: {} } };
  readonly components: Record<string, ComponentSpec> = {};
  readonly executors: Record<string, ExecutorSpec> = {};
  /** Second YAML document (kubernetes platform spec), when a task mounts a PVC. */
  readonly platformExecutors: Record<string, JsonObject> = {};

  constructor(
    readonly pipelineName: string,
    readonly defaultPipelineRoot: string,
    readonly sdkVersion: string,
  ) {}

  /** The component a task refers to; created on first use (loop bodies are visited once per iteration). */
  component(name: string): ComponentSpec {
    let c = this.components[name];
    if (!c) {
      c = {};
      this.components[name] = c;
    }
    return c;
  }

  executor(label: string, spec: ExecutorSpec): void {
    this.executors[label] ??= spec;
  }

  /** Text written as the run's manifest instead of the rendered spec: the hostile seed's unreadable one. */
  manifestOverride: string | null = null;

  toYaml(): string {
    if (this.manifestOverride !== null) return this.manifestOverride;
    const doc = {
      components: sortKeys(this.components),
      defaultPipelineRoot: this.defaultPipelineRoot,
      deploymentSpec: { executors: sortKeys(this.executors) },
      pipelineInfo: { name: this.pipelineName },
      root: this.root,
      schemaVersion: '2.1.0',
      sdkVersion: this.sdkVersion,
    };
    const main = stringify(doc, { lineWidth: 0 });
    if (Object.keys(this.platformExecutors).length === 0) return main;
    const platform = { platforms: { kubernetes: { deploymentSpec: { executors: sortKeys(this.platformExecutors) } } } };
    return `${main}---\n${stringify(platform, { lineWidth: 0 })}`;
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
