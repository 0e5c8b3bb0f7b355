/**
 * Builds in-memory RunBundles, the input of the pure forward mapping, so that each mapping rule can
 * be unit-tested without a database.
 */
import { stringify } from 'yaml';
import type { ArtifactOrigin, JsonObject, KfpRunDetails, MlmdArtifact, MlmdEvent, MlmdExecution, MlmdValue, Props, RunBundle } from '../../src/transform/model.ts';

export const int = (value: number): MlmdValue => ({ kind: 'int', value });
export const dbl = (value: number): MlmdValue => ({ kind: 'double', value });
export const str = (value: string): MlmdValue => ({ kind: 'string', value });
export const struct = (value: JsonObject): MlmdValue => ({ kind: 'struct', value });

const TYPE_IDS: Record<string, number> = {
  'system.DAGExecution': 10,
  'system.ContainerExecution': 11,
  'system.ImporterExecution': 12,
  'system.ImporterWorkspaceExecution': 13,
};

export class RunBuilder {
  private nextId: number;
  readonly executions: MlmdExecution[] = [];
  readonly artifacts: MlmdArtifact[] = [];
  readonly events: MlmdEvent[] = [];
  run: KfpRunDetails;

  constructor(readonly runUuid = 'run-1', opts: Partial<KfpRunDetails> & { firstId?: number } = {}) {
    this.nextId = opts.firstId ?? 100;
    this.run = {
      uuid: runUuid,
      displayName: 'My run',
      name: 'my-run-abcde',
      namespace: 'team-a',
      experimentUuid: 'exp-1',
      experimentNamespace: 'team-a',
      state: 'SUCCEEDED',
      createdAtInSec: 1_700_000_000,
      finishedAtInSec: 1_700_000_900,
      pipelineName: 'my-pipeline',
      pipelineSpecManifest: null,
      pipelineRoot: 'minio://mlpipeline/v2/artifacts',
      ...opts,
    };
  }

  withSpec(spec: unknown): this {
    this.run.pipelineSpecManifest = stringify(spec);
    return this;
  }

  exec(type: string, custom: Props, opts: { state?: number | null; name?: string; id?: number; createMs?: number; updateMs?: number } = {}): number {
    const id = opts.id ?? this.nextId++;
    this.executions.push({
      id,
      typeId: TYPE_IDS[type] ?? 99,
      type,
      name: opts.name ?? null,
      lastKnownState: opts.state === undefined ? 3 : opts.state,
      createMs: opts.createMs ?? 1_700_000_010_500,
      updateMs: opts.updateMs ?? 1_700_000_050_250,
      externalId: null,
      properties: {},
      customProperties: custom,
    });
    return id;
  }

  root(inputs: JsonObject = {}): number {
    return this.exec('system.DAGExecution', { display_name: str(''), task_name: str(''), inputs: struct(inputs) }, { name: `run/${this.runUuid}`, state: 2 });
  }

  artifact(type: string, uri: string | null, custom: Props = {}, id?: number): number {
    const aid = id ?? this.nextId++;
    this.artifacts.push({
      id: aid,
      typeId: 50,
      type,
      uri,
      state: 2,
      name: null,
      createMs: 1_700_000_020_000,
      updateMs: 1_700_000_030_000,
      externalId: null,
      properties: {},
      customProperties: custom,
    });
    return aid;
  }

  event(artifactId: number, executionId: number, type: 'INPUT' | 'OUTPUT' | number, key: string): number {
    const id = this.events.length + 1;
    this.events.push({ id, artifactId, executionId, type: type === 'INPUT' ? 3 : type === 'OUTPUT' ? 4 : type, ms: 1_700_000_040_000, path: [{ key }] });
    return id;
  }

  build(): RunBundle {
    const origins: Record<number, ArtifactOrigin> = {};
    for (const ev of [...this.events].sort((a, b) => a.id - b.id)) {
      if (ev.type !== 4 || origins[ev.artifactId]) continue;
      const e = this.executions.find((x) => x.id === ev.executionId);
      origins[ev.artifactId] = { executionId: ev.executionId, executionType: e?.type ?? null, key: 'key' in (ev.path[0] ?? {}) ? (ev.path[0] as { key: string }).key : null };
    }
    const referenced = new Set(this.events.map((e) => e.artifactId));
    return {
      runContext: { id: 7, typeId: 20, type: 'system.PipelineRun', name: this.runUuid, createMs: 0, updateMs: 0, externalId: null, properties: {}, customProperties: { namespace: str(this.run.namespace) } },
      pipelineContext: { id: 6, typeId: 21, type: 'system.Pipeline', name: this.run.pipelineName ?? 'p', createMs: 0, updateMs: 0, externalId: null, properties: {}, customProperties: {} },
      runDetails: this.run,
      executions: [...this.executions].sort((a, b) => a.id - b.id),
      events: [...this.events].sort((a, b) => a.id - b.id),
      artifacts: this.artifacts.filter((a) => referenced.has(a.id)).sort((a, b) => a.id - b.id),
      artifactOrigins: origins,
    };
  }
}
