/**
 * One whole run fetched two ways: as the KFP UI does it through the MLMD API (kfp-facts.md §E.1),
 * and as a hand-written reader of the KFP 3 tables would. Both return what they saw, so the
 * benchmark can check that they looked at the same run and not at an empty answer.
 */
import * as grpc from '@grpc/grpc-js';
import type { Connection } from 'mysql2/promise';
import { mlmdPackageDefinition } from '../src/shim/proto.ts';
import type { LatencyRecorder } from './load.ts';

type Msg = Record<string, any>;

export const WHOLE_RUN = 'whole run';
export const LINEAGE = 'lineage view';
/** Names of the lineage view's calls, apart from the run page's (the same RPCs). */
export const lineageStep = (rpc: string) => `lineage: ${rpc}`;

export interface RunSeen {
  executions: number;
  artifacts: number;
  links: number;
}

/** A unary MLMD client on its own connection (grpc-js would otherwise share one channel between clients). */
export class MlmdClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    const pkg = grpc.loadPackageDefinition(mlmdPackageDefinition()) as unknown as { ml_metadata: { MetadataStoreService: grpc.ServiceClientConstructor } };
    this.client = new pkg.ml_metadata.MetadataStoreService(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  call(rpc: string, request: Msg): Promise<Msg> {
    const method = (this.client as unknown as Record<string, Function>)[rpc]!;
    return new Promise((resolve, reject) => {
      method.call(this.client, request, (err: grpc.ServiceError | null, response: Msg) => (err ? reject(err) : resolve(response)));
    });
  }

  close(): void {
    this.client.close();
  }
}

/**
 * The run page's calls, one after another: the run context by name, its executions and artifacts,
 * the events of all its executions, then the artifacts those events name. Each call is timed under
 * its RPC name, the whole sequence under WHOLE_RUN.
 */
export async function wholeRunViaShim(client: MlmdClient, runUuid: string, rec: LatencyRecorder): Promise<RunSeen> {
  return rec.time(WHOLE_RUN, async () => {
    const ctx = await rec.time('GetContextByTypeAndName', () => client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: runUuid }));
    const contextId = ctx.context?.id;
    if (contextId === undefined) throw new Error(`the shim has no system.PipelineRun context named ${runUuid}`);
    const executions = ((await rec.time('GetExecutionsByContext', () => client.call('GetExecutionsByContext', { context_id: contextId }))).executions ?? []) as Msg[];
    const artifacts = ((await rec.time('GetArtifactsByContext', () => client.call('GetArtifactsByContext', { context_id: contextId }))).artifacts ?? []) as Msg[];
    const executionIds = executions.map((e) => e.id);
    const events = ((await rec.time('GetEventsByExecutionIDs', () => client.call('GetEventsByExecutionIDs', { execution_ids: executionIds }))).events ?? []) as Msg[];
    const linked = [...new Set(events.map((e) => String(e.artifact_id)))];
    const fetched = ((await rec.time('GetArtifactsByID', () => client.call('GetArtifactsByID', { artifact_ids: linked }))).artifacts ?? []) as Msg[];
    if (fetched.length !== linked.length) throw new Error(`GetArtifactsByID returned ${fetched.length} of ${linked.length} linked artifacts of run ${runUuid}`);
    return { executions: executions.length, artifacts: Math.max(artifacts.length, fetched.length), links: events.length };
  });
}

/**
 * The lineage view of one artifact, as the KFP UI's LineageView builds it: the artifact, the
 * executions its events name (its producer and its consumers), their events, and the artifacts
 * those name. An artifact shared by many runs (an imported dataset) makes the second call read
 * every run that links it.
 */
export async function lineageViaShim(client: MlmdClient, artifactId: string, rec: LatencyRecorder): Promise<number> {
  return rec.time(LINEAGE, async () => {
    const step = (rpc: string, request: Msg) => rec.time(lineageStep(rpc), () => client.call(rpc, request));
    const target = ((await step('GetArtifactsByID', { artifact_ids: [artifactId] })).artifacts ?? []) as Msg[];
    if (target.length !== 1) throw new Error(`the shim has no artifact ${artifactId}`);
    const events = ((await step('GetEventsByArtifactIDs', { artifact_ids: [artifactId] })).events ?? []) as Msg[];
    const executionIds = [...new Set(events.map((e) => String(e.execution_id)))];
    await step('GetExecutionsByID', { execution_ids: executionIds });
    const around = ((await step('GetEventsByExecutionIDs', { execution_ids: executionIds })).events ?? []) as Msg[];
    const artifactIds = [...new Set(around.map((e) => String(e.artifact_id)))];
    await step('GetArtifactsByID', { artifact_ids: artifactIds });
    return events.length;
  });
}

/** The same run read straight from the KFP 3 tables: its tasks, its artifact links, the artifacts they name. */
export async function wholeRunViaSql(c: Connection, runUuid: string, rec: LatencyRecorder): Promise<RunSeen> {
  return rec.time(WHOLE_RUN, async () => {
    const [tasks] = (await rec.time('tasks', () => c.execute('SELECT * FROM tasks WHERE RunUUID = ?', [runUuid]))) as unknown as [Msg[]];
    const [links] = (await rec.time('artifact_tasks', () => c.execute('SELECT * FROM artifact_tasks WHERE RunUUID = ?', [runUuid]))) as unknown as [Msg[]];
    const ids = [...new Set(links.map((l) => String(l.ArtifactID)))];
    let artifacts: Msg[] = [];
    if (ids.length > 0) {
      // query, not execute: a prepared statement per distinct IN-list length would fill the server's statement cache.
      [artifacts] = (await rec.time('artifacts', () => c.query(`SELECT * FROM artifacts WHERE UUID IN (${ids.map(() => '?').join(', ')})`, ids))) as unknown as [Msg[]];
    }
    if (artifacts.length !== ids.length) throw new Error(`run ${runUuid}: ${ids.length} linked artifacts, ${artifacts.length} found`);
    return { executions: tasks.length, artifacts: artifacts.length, links: links.length };
  });
}
