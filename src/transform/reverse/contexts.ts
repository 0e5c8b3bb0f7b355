import { ids } from '../identity.ts';
import type { JsonValue, KfpRunDetails, MlmdContext, Props } from '../model.ts';
import { PIPELINE_CONTEXT_TYPE, RUN_CONTEXT_TYPE } from '../rules.ts';
import { parsePipelineSpec } from '../spec.ts';
import type { IdResolver } from './ids.ts';
import { fromTypedValue, stringValue } from './values.ts';

/**
 * The two contexts of a KFP 2.x run (kfp-facts.md §A.1): `system.PipelineRun` named by the run UUID,
 * child of the `system.Pipeline` context named by the spec's `pipelineInfo.name`.
 */

/** The kfp_uuid the forward mapping records for a pipeline context, so native runs find the same id. */
export const pipelineContextUuid = ids.pipelineContext;

/** KFP's GenerateOutputURI(root, [pipelineName, runUuid], preserveQuery = true). */
export function runPipelineRoot(root: string, pipelineName: string, runUuid: string): string {
  const q = root.indexOf('?');
  const base = q >= 0 && root.indexOf('?', q + 1) < 0 ? root.slice(0, q) : root;
  const query = q >= 0 && root.indexOf('?', q + 1) < 0 ? root.slice(q) : '';
  const joined = [pipelineName, runUuid].join('/').split('/').filter((s) => s !== '' && s !== '.').join('/');
  return `${base.replace(/\/+$/, '')}/${joined}${query}`;
}

interface Ctx {
  ids: IdResolver;
  typeId: (name: string) => number;
  namespace: string;
  storeSessionInfo: string | null;
}

export function reverseContexts(run: KfpRunDetails, ctx: Ctx): { run: MlmdContext; pipeline: MlmdContext } {
  const pipelineName = ctx.ids.pipelineContextRow?.name ?? parsePipelineSpec(run.pipelineSpecManifest)?.pipelineName ?? run.pipelineName ?? '';
  const pipelineId = ctx.ids.pipelineContextRow?.mlmdId ?? ctx.ids.context(pipelineContextUuid(pipelineName));
  const runProps: Props = {
    namespace: stringValue(run.namespace || ctx.namespace),
    resource_name: stringValue('run-resource'),
  };
  if (run.pipelineRoot) runProps.pipeline_root = stringValue(runPipelineRoot(run.pipelineRoot, pipelineName, run.uuid));
  if (ctx.storeSessionInfo !== null) runProps.store_session_info = stringValue(ctx.storeSessionInfo);
  // A migrated run context kept its own properties (e.g. the pod namespace "kubeflow" of a single-user
  // deployment, whose runs have namespace ""): they replace the ones rebuilt from run_details.
  const kept = ctx.ids.runContextExtras.get(run.uuid)?.customProperties;
  if (kept && typeof kept === 'object' && !Array.isArray(kept)) {
    for (const k of Object.keys(runProps)) delete runProps[k];
    for (const [k, v] of Object.entries(kept as Record<string, JsonValue>)) {
      const value = fromTypedValue(v);
      if (value) runProps[k] = value;
    }
  }
  const createMs = run.createdAtInSec * 1000;
  return {
    run: {
      id: ctx.ids.context(run.uuid),
      typeId: ctx.typeId(RUN_CONTEXT_TYPE),
      type: RUN_CONTEXT_TYPE,
      name: run.uuid,
      createMs,
      updateMs: createMs,
      externalId: null,
      properties: {},
      customProperties: runProps,
    },
    pipeline: {
      id: pipelineId,
      typeId: ctx.typeId(PIPELINE_CONTEXT_TYPE),
      type: PIPELINE_CONTEXT_TYPE,
      name: pipelineName,
      // Shared by every run of the pipeline and not recorded: no per-run time would be stable.
      createMs: 0,
      updateMs: 0,
      externalId: null,
      properties: {},
      customProperties: {},
    },
  };
}
