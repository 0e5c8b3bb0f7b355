/**
 * The twelve write RPCs. The shim serves history read-only, so each answers UNIMPLEMENTED with
 * a message that tells the caller where writes go now.
 */
import type { RpcHandlers } from './rpc.ts';
import { unimplemented } from './status.ts';

export const WRITE_RPCS = [
  'PutArtifactType',
  'PutExecutionType',
  'PutContextType',
  'PutTypes',
  'PutArtifacts',
  'PutExecutions',
  'PutEvents',
  'PutExecution',
  'PutLineageSubgraph',
  'PutContexts',
  'PutAttributionsAndAssociations',
  'PutParentContexts',
] as const;

const ALTERNATIVE =
  'mlmd-bridge serves ML Metadata read-only. KFP 3 records tasks and artifacts through its API server ' +
  '(kubeflow.pipelines.backend.api.v2beta1 RunService and ArtifactService); KFP 2.x drivers and launchers ' +
  'must finish or be drained before the cut-over, and other writers (TFX, KFP v1) need a real MLMD server.';

export function writeHandlers(): RpcHandlers {
  const handlers: RpcHandlers = {};
  for (const rpc of WRITE_RPCS) {
    handlers[rpc] = async () => {
      throw unimplemented(`${rpc} is not supported: ${ALTERNATIVE}`);
    };
  }
  return handlers;
}
