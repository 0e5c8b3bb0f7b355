import { goJsonStringify } from '../proto/kfp-json.ts';
import { artifactIdMapRows, type MappedArtifact, toArtifactRows } from './artifacts.ts';
import { toLinkRows } from './links.ts';
import type { IdMapRow, MlmdExecution, Props, Reject, RunBundle, RunMigration } from './model.ts';
import { RejectLog } from './rejects.ts';
import { KFP_EXECUTION_TYPES } from './rules.ts';
import { readPipelineSpec } from './spec.ts';
import { buildTaskTree, type TaskTree } from './tasks.ts';
import { nonFiniteReason, propString, typedValue } from './values.ts';
import { ids } from './identity.ts';
import { type ArtifactRowsOf, DEFAULT_MAPPING_OPTIONS, type FingerprintTally, type MappingOptions, RunFingerprints } from './fingerprints.ts';
import type { MlmdArtifact } from './model.ts';

/**
 * The forward mapping: the MLMD records of one KFP run → its KFP 3 rows, id-map entries and rejects.
 * Pure: the same bundle always gives the same rows, byte for byte.
 */
export function mapRun(bundle: RunBundle, options: MappingOptions = DEFAULT_MAPPING_OPTIONS): RunMigration {
  return forward(bundle, false, options).migration;
}

/** What the forward mapping would write for a run, counted, and its rejects: what `verify` and `plan` check against. */
export interface RunOutline {
  runUuid: string;
  tasks: number;
  links: number;
  /** The `artifacts` rows (a run's artifact may share its row with other runs). */
  artifactUuids: string[];
  /**
   * The same rows by MLMD artifact: an artifact's rows depend only on the artifact and the run's
   * namespace, so (namespace, artifact id) tells rows shared between runs apart without their UUIDs.
   */
  namespace: string;
  artifactRows: { mlmdId: number; rows: number }[];
  rejects: Reject[];
  /** The self-check of the stored fingerprints, and what the Fingerprint column of each task would hold. */
  fingerprints: FingerprintTally;
  /** Task UUID → its non-empty tasks.Fingerprint. */
  fingerprintColumns: Record<string, string>;
}

/**
 * `mapRun` without rendering what it would write: the same tree, ids and rejects, but no JSON
 * columns, hashes or id map, so counting a run costs a fraction of mapping it.
 */
export function outlineRun(bundle: RunBundle, options: MappingOptions = DEFAULT_MAPPING_OPTIONS): RunOutline {
  const { migration: m, mapped, fingerprints } = forward(bundle, true, options);
  return {
    runUuid: m.runUuid,
    tasks: m.tasks.length,
    links: m.links.length,
    artifactUuids: m.artifacts.map((a) => a.UUID),
    namespace: m.namespace,
    artifactRows: [...mapped.values()].map((a) => ({ mlmdId: a.artifact.id, rows: a.rows.length })),
    rejects: m.rejects,
    fingerprints: fingerprints.tally,
    fingerprintColumns: fingerprints.columns,
  };
}

/** NON_FINITE_NUMBER for each property of an execution or run context holding NaN or an infinity (values.ts says how it is written). */
function reportNonFinite(entity: 'execution' | 'context', id: number, node: { properties?: Props; customProperties: Props }, rejects: RejectLog): void {
  for (const [prefix, props] of [['', node.customProperties], ['properties.', node.properties ?? {}]] as const) {
    for (const [k, v] of Object.entries(props)) {
      const reason = nonFiniteReason(prefix + k, v);
      if (reason !== null) rejects.add('NON_FINITE_NUMBER', entity, id, reason);
    }
  }
}

/**
 * The forward mapping, with the mapped artifacts by MLMD id and the fingerprints beside it
 * (outlineRun counts them). Fingerprints are recomputed for `kfp3` and whenever the run is only
 * outlined (plan and verify report the self-check); `mlmd` copies them as they are.
 */
function forward(
  bundle: RunBundle,
  outline: boolean,
  options: MappingOptions,
): { migration: RunMigration; mapped: Map<number, MappedArtifact>; fingerprints: RunFingerprints } {
  const ctxId = bundle.runContext.id;
  const runUuid = bundle.runContext.name;
  const rejects = new RejectLog(runUuid);
  const run = bundle.runDetails;
  if (!run) {
    rejects.add(
      'ORPHAN_RUN',
      'context',
      ctxId,
      `run context "${runUuid}" has no run_details row (deleted run); its ${bundle.executions.length} executions and ${bundle.events.length} events are not migrated`,
    );
    const none = new RunFingerprints(bundle, null, '', options, false, rejects, () => null);
    return { migration: { runUuid, contextId: ctxId, namespace: '', tasks: [], artifacts: [], links: [], idMap: [], rejects: rejects.items }, mapped: new Map(), fingerprints: none };
  }

  const namespace = run.experimentNamespace ?? (run.namespace || propString(bundle.runContext.customProperties, 'namespace') || '');
  const { spec, problem: specProblem } = readPipelineSpec(run.pipelineSpecManifest);
  if (specProblem !== null) {
    rejects.add('SPEC_UNREADABLE', 'context', ctxId, `the pipeline spec of run "${runUuid}" ${specProblem}; the run is mapped without a spec`);
  }

  // Only the run context's custom properties are written (to its id-map entry).
  reportNonFinite('context', ctxId, { customProperties: bundle.runContext.customProperties }, rejects);
  for (const id of bundle.danglingExecutionIds ?? []) {
    rejects.add('MISSING_EXECUTION', 'execution', id, `run context ${ctxId} is associated with execution ${id}, which does not exist`);
  }
  const executions: MlmdExecution[] = [];
  for (const e of bundle.executions) {
    if (e.type !== null && KFP_EXECUTION_TYPES.has(e.type)) {
      executions.push(e);
      for (const [k, v] of Object.entries(e.customProperties)) {
        if (v.kind === 'corrupt') rejects.add('CORRUPT_PROPERTY', 'execution', e.id, `property "${k}": ${v.reason}; kept as its raw text in StatusMetadata`);
      }
      reportNonFinite('execution', e.id, e, rejects);
    } else {
      const events = bundle.events.filter((ev) => ev.executionId === e.id).length;
      rejects.add('UNKNOWN_EXECUTION_TYPE', 'execution', e.id, `type "${e.type ?? `#${e.typeId} (missing)`}" is not a KFP v2 execution type; it and its ${events} events are not migrated`);
    }
  }

  const fingerprints = new RunFingerprints(bundle, spec, namespace, options, outline || options.fingerprints === 'kfp3', rejects, artifactRowsIn(bundle, namespace));
  const tree = buildTaskTree(executions, { runUuid, namespace, run, spec, rejects, outline, fingerprint: (t, tr) => fingerprints.column(t, tr) });

  const artifacts = new Map<number, MappedArtifact>();
  for (const a of bundle.artifacts) {
    const mapped = toArtifactRows(a, bundle.artifactOrigins[a.id], namespace, rejects, outline);
    if (mapped) artifacts.set(a.id, mapped);
  }
  const known = new Set(bundle.artifacts.map((a) => a.id));
  const links = toLinkRows(bundle.events, tree, artifacts, known, runUuid, rejects, outline);

  const idMap = outline ? [] : idMapOf(bundle, tree, artifacts);

  return {
    migration: {
      runUuid,
      contextId: ctxId,
      namespace,
      tasks: tree.tasks.map((t) => t.row),
      artifacts: [...artifacts.values()].flatMap((m) => m.rows),
      links,
      idMap,
      rejects: rejects.items,
      fingerprints: fingerprints.tally,
    },
    mapped: artifacts,
    fingerprints,
  };
}

/**
 * The rows an artifact of the bundle gets in the run's namespace, worked out as the artifact
 * mapping does (outlined, its rejects discarded: the mapping proper reports them).
 */
function artifactRowsIn(bundle: RunBundle, namespace: string): ArtifactRowsOf {
  let byId: Map<number, MlmdArtifact> | null = null;
  const memo = new Map<number, ReturnType<ArtifactRowsOf>>();
  return (id) => {
    if (memo.has(id)) return memo.get(id)!;
    byId ??= new Map(bundle.artifacts.map((a) => [a.id, a]));
    const a = byId.get(id);
    const mapped = a ? toArtifactRows(a, bundle.artifactOrigins[a.id], namespace, new RejectLog(null), true) : null;
    const rows = mapped ? mapped.rows.map((r) => ({ UUID: r.UUID, Type: r.Type })) : null;
    memo.set(id, rows);
    return rows;
  };
}

/** Which KFP row stands for which MLMD record, and what the rows cannot hold (iteration DAGs, context properties). */
function idMapOf(bundle: RunBundle, tree: TaskTree, artifacts: Map<number, MappedArtifact>): IdMapRow[] {
  const ctxId = bundle.runContext.id;
  const runUuid = bundle.runContext.name;
  // The run context names its pipeline context, which is shared by many runs and so has no run of its own.
  const runCtxProps: Record<string, ReturnType<typeof typedValue>> = {};
  for (const [k, v] of Object.entries(bundle.runContext.customProperties)) runCtxProps[k] = typedValue(v);
  const runExtra = goJsonStringify({ ...(bundle.pipelineContext ? { pipelineContextId: bundle.pipelineContext.id } : {}), customProperties: runCtxProps });
  const idMap: IdMapRow[] = [{ kind: 'run_context', mlmdId: ctxId, kfpUuid: runUuid, runUuid, extra: runExtra }];
  if (bundle.pipelineContext) {
    idMap.push({
      kind: 'pipeline_context',
      mlmdId: bundle.pipelineContext.id,
      kfpUuid: ids.pipelineContext(bundle.pipelineContext.name),
      runUuid: null,
      extra: goJsonStringify({ name: bundle.pipelineContext.name }),
    });
  }
  for (const t of tree.tasks) {
    if (t.exec) idMap.push({ kind: 'execution', mlmdId: t.exec.id, kfpUuid: t.uuid, runUuid, extra: null });
    // A ROOT made up for a run without a root execution has no MLMD id; it is keyed by the run context.
    else idMap.push({ kind: 'synthetic_root', mlmdId: ctxId, kfpUuid: t.uuid, runUuid, extra: null });
  }
  for (const it of tree.iterations.values()) {
    const leftovers: Record<string, ReturnType<typeof typedValue>> = {};
    for (const [k, v] of Object.entries(it.exec.customProperties)) {
      if (k !== 'inputs' && k !== 'parent_dag_id' && k !== 'iteration_index') leftovers[k] = typedValue(v);
    }
    for (const [k, v] of Object.entries(it.exec.properties)) leftovers[`properties.${k}`] = typedValue(v);
    idMap.push({
      kind: 'iteration',
      mlmdId: it.exec.id,
      kfpUuid: it.loop.uuid,
      runUuid,
      // The iteration DAG has no row of its own; what the reverse mapping needs to show it again lives here.
      extra: goJsonStringify({
        iterationIndex: it.index,
        state: it.exec.lastKnownState,
        createMs: it.exec.createMs,
        updateMs: it.exec.updateMs,
        customProperties: leftovers,
      }),
    });
  }
  for (const m of artifacts.values()) idMap.push(...artifactIdMapRows(m));
  return idMap;
}
