/**
 * What one call may ask of the shim. Every limit has a flag (`mlmd-bridge shim --help`) and is
 * documented in docs/shim.md with what a client gets over it. MLMD's own server has few limits
 * (it hands everything to its database); the shim evaluates filters and reverses runs in its own
 * process, so one call must not be able to take its memory or its time from everyone else.
 */

export interface ShimLimits {
  /** Largest request message accepted, in bytes (gRPC: RESOURCE_EXHAUSTED from the transport, as MLMD's server). */
  maxRequestBytes: number;
  /** Most ids (or URIs, external ids, type ids) one request may name; more → RESOURCE_EXHAUSTED. */
  maxIdsPerRequest: number;
  /** Largest page a listing answers; `max_result_size` above it is capped (MLMD caps at 100 the same way). */
  maxPageSize: number;
  /** Work one call may do evaluating filter_query and walking lineage, in steps; more → RESOURCE_EXHAUSTED. */
  maxWorkSteps: number;
}

/** gRPC's default receive limit, which MLMD's server keeps unless started with other channel arguments. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Far above a run page (a run's executions, or the artifacts their events name) and far below what 4 MiB could carry (~800,000). */
export const DEFAULT_MAX_IDS_PER_REQUEST = 20_000;
/** MLMD's cap. */
export const DEFAULT_MAX_PAGE_SIZE = 100;
/** About a second of one core: a filter of 20 terms over a million candidates, or the lineage of thousands of nodes. */
export const DEFAULT_MAX_WORK_STEPS = 20_000_000;

export const DEFAULT_LIMITS: ShimLimits = {
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxIdsPerRequest: DEFAULT_MAX_IDS_PER_REQUEST,
  maxPageSize: DEFAULT_MAX_PAGE_SIZE,
  maxWorkSteps: DEFAULT_MAX_WORK_STEPS,
};

/** Longest filter_query accepted (characters); longer → INVALID_ARGUMENT. */
export const MAX_FILTER_LENGTH = 65_536;
/** Deepest nesting of a filter_query (parentheses, NOT, unary minus, chained arithmetic); deeper → INVALID_ARGUMENT. */
export const MAX_FILTER_DEPTH = 64;

export function resolveLimits(partial: Partial<ShimLimits> = {}): ShimLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial) as [keyof ShimLimits, number | undefined][]) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`shim limit ${k} must be a whole number ≥ 1 (got ${v})`);
    out[k] = v;
  }
  return out;
}
