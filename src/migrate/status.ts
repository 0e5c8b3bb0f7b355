/** `status`: what the KFP database says about migrations done into it. */
import type { Db } from '../db/connection.ts';
import { openMlmdSource, type MlmdSource } from '../extract/index.ts';
import { count, getTableName } from 'drizzle-orm';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { openKfpDatabase } from '../load/kfp-database.ts';
import { upgradePhase, type UpgradePhase } from '../load/staged-tables.ts';
import { countMlmdRunsChangedSince, countPendingRuns, recordedWatermark } from './change-finder.ts';
import type { SourceWatermark } from '../extract/changed-runs.ts';
import { getJsonState, getState, isStringArray, STATE_KEYS } from '../load/bridge-tables.ts';
import { isMigrationLocked } from '../load/lock.ts';
import { tableExists } from '../load/schema.ts';
import { TOOL_VERSION } from '../version.ts';
import { rejectCounts, type MigrateSummary } from './migrator.ts';
import { recordedMappingOptions } from './mapping-options.ts';
import type { MappingOptions } from '../transform/fingerprints.ts';

export interface Status {
  target: string;
  migrated: boolean;
  state: 'never-migrated' | 'in-progress' | 'interrupted' | 'complete';
  startedAt: string | null;
  finishedAt: string | null;
  source: string | null;
  sourceSchemaVersion: string | null;
  toolVersions: string[];
  runs: number;
  rows: { tasks: number; artifacts: number; artifact_tasks: number };
  rejects: MigrateSummary['rejects'];
  createdTables: string[];
  v1TasksBackup: boolean;
  currentToolVersion: string;
  /** What tasks.Fingerprint holds (`--fingerprints`, `--publish-logs` as recorded); null before any migration. */
  fingerprints: MappingOptions | null;
  upgrade: UpgradeStatus;
}

/** The staged upgrade (design.md §5b) as the KFP database records it. */
export interface UpgradeStatus {
  /** kfp2: KFP 2.x's tasks table in place, nothing staged; staged: KFP 3's tables staged beside it; kfp3: `tasks` is KFP 3's table. */
  phase: UpgradePhase;
  /** Runs in the staged tables (checkpoints), while staged. */
  stagedRuns: number;
  lastTrueUp: { at: string; seconds: number; runs: number; kind: string } | null;
  cutoverAt: string | null;
  /** Runs a true-up would write now; null unless status was given --mlmd. */
  pending: { runs: number; deleted: number } | null;
  /** The last true-up's time per run written, times the pending runs, plus the swap (null without --mlmd or a true-up). */
  expectedOutageSeconds: number | null;
  /** What --require cutover finds missing; null when cut over with nothing pending. */
  missing: string | null;
}

export async function status(kfpUrl: string, mlmdUrl?: string): Promise<Status> {
  const kfp = await openKfpDatabase(kfpUrl, { readOnly: true });
  try {
    const phase = await upgradePhase(kfp);
    const base: Status = {
      target: kfp.target.display,
      migrated: false,
      state: 'never-migrated',
      startedAt: null,
      finishedAt: null,
      source: null,
      sourceSchemaVersion: null,
      toolVersions: [],
      runs: 0,
      rows: { tasks: 0, artifacts: 0, artifact_tasks: 0 },
      rejects: { total: 0, byCode: {}, byDisposition: {} },
      createdTables: [],
      v1TasksBackup: await tableExists(kfp, 'tasks_v1_backup'),
      currentToolVersion: TOOL_VERSION,
      fingerprints: null,
      upgrade: { phase, stagedRuns: 0, lastTrueUp: null, cutoverAt: null, pending: null, expectedOutageSeconds: null, missing: missingFor(phase, null, null, null) },
    };
    if (!(await tableExists(kfp, 'mlmd_bridge_state'))) return base;
    const startedAt = (await getState(kfp, STATE_KEYS.startedAt)) ?? null;
    const finishedAt = (await getState(kfp, STATE_KEYS.finishedAt)) ?? null;
    const locked = await isMigrationLocked(kfp);
    const t = kfpTables(kfp);
    const db = orm(kfp);
    const [runs] = await db.select({ n: count() }).from(t.bridgeRuns);
    const versions = await db.selectDistinct({ tool_version: t.bridgeRuns.tool_version }).from(t.bridgeRuns).orderBy(t.bridgeRuns.tool_version);
    const rowsIn = async (table: typeof t.tasks | typeof t.artifacts | typeof t.artifactTasks) =>
      (await tableExists(kfp, getTableName(table))) ? ((await db.select({ n: count() }).from(table))[0]?.n ?? 0) : 0;
    return {
      ...base,
      migrated: finishedAt !== null,
      state: locked ? 'in-progress' : finishedAt ? 'complete' : startedAt ? 'interrupted' : 'never-migrated',
      startedAt,
      finishedAt,
      source: (await getState(kfp, STATE_KEYS.sourceUrl)) ?? null,
      sourceSchemaVersion: (await getState(kfp, 'source_schema_version')) ?? null,
      toolVersions: versions.map((v) => v.tool_version),
      runs: runs?.n ?? 0,
      rows: { tasks: await rowsIn(t.tasks), artifacts: await rowsIn(t.artifacts), artifact_tasks: await rowsIn(t.artifactTasks) },
      rejects: await rejectCounts(kfp),
      createdTables: (await getJsonState(kfp, STATE_KEYS.createdTargetTables, isStringArray, 'a JSON array of table names')) ?? [],
      fingerprints: await recordedMappingOptions(kfp),
      upgrade: await upgradeStatus(kfp, phase, finishedAt, mlmdUrl),
    };
  } finally {
    await kfp.close();
  }
}

const isTrueUp = (v: unknown): v is { seconds: number; runs: number; kind: string } =>
  typeof v === 'object' && v !== null && typeof (v as { seconds?: unknown }).seconds === 'number' && typeof (v as { runs?: unknown }).runs === 'number';

/** An estimate: the swap itself takes well under a second (npm run bench measures it). */
const SWAP_SECONDS = 1;

/** The staged upgrade as recorded in `kfp`; pending changes are counted when `source` (or `mlmdUrl`) names the MLMD database. */
export async function upgradeStatus(kfp: Db, phase: UpgradePhase, finishedAt: string | null, mlmd: string | MlmdSource | undefined): Promise<UpgradeStatus> {
  const stageFinished = (await getState(kfp, STATE_KEYS.stageFinishedAt)) ?? null;
  const last = await getJsonState(kfp, STATE_KEYS.stageLastTrueUp, isTrueUp, 'a JSON object {seconds, runs, kind}');
  const cutoverAt = (await getState(kfp, STATE_KEYS.cutoverAt)) ?? null;
  let pending: UpgradeStatus['pending'] = null;
  const since = await recordedWatermark(kfp);
  // Once cut over, KFP 3 owns run_details (its own runs, its deletions): only MLMD, which KFP 3 never
  // writes, can show that KFP 2.x ran after the last true-up.
  const countPending = (source: MlmdSource, watermark: SourceWatermark) =>
    phase === 'kfp3' ? countMlmdRunsChangedSince(source, watermark).then((runs) => ({ runs, deleted: 0 })) : countPendingRuns(source, kfp, watermark);
  if (typeof mlmd === 'string' && since) {
    const source = await openMlmdSource(mlmd);
    try {
      pending = await countPending(source, since);
    } finally {
      await source.close();
    }
  } else if (mlmd !== undefined && typeof mlmd !== 'string' && since) pending = await countPending(mlmd, since);
  const [n] = await orm(kfp).select({ n: count() }).from(kfpTables(kfp).bridgeRuns);
  const perRun = last && last.runs > 0 ? last.seconds / last.runs : null;
  return {
    phase,
    stagedRuns: phase === 'staged' ? Number(n?.n ?? 0) : 0,
    lastTrueUp: last && stageFinished ? { at: stageFinished, ...last } : null,
    cutoverAt,
    pending,
    expectedOutageSeconds: pending && last ? Math.round(((perRun ?? 0) * pending.runs + (last.runs === 0 ? last.seconds : 0) + SWAP_SECONDS) * 10) / 10 : null,
    missing: missingFor(phase, finishedAt, pending, since ? 'staged' : null),
  };
}

/** Why `status --require cutover` fails, in one line; null when it passes. */
function missingFor(phase: UpgradePhase, finishedAt: string | null, pending: UpgradeStatus['pending'], staged: 'staged' | null): string | null {
  if (phase === 'kfp3') {
    if (finishedAt === null) return 'the KFP 3 tables are in place but no migration into them finished: run mlmd-bridge cutover (or migrate) again';
    if (pending && pending.runs > 0) return `${pending.runs} run(s) changed in MLMD since the last true-up: was KFP 2.x started again? stop it and run mlmd-bridge migrate`;
    return null;
  }
  if (phase === 'staged') return staged ? 'staged but not cut over: stop KFP 2.x and run mlmd-bridge cutover' : 'a stage is under way or was interrupted: run mlmd-bridge stage, then cutover';
  if (phase === 'other') return 'no tasks table, neither KFP 2.x\'s nor KFP 3\'s: run mlmd-bridge migrate again if one stopped part-way, else mlmd-bridge stage, then cutover';
  return 'not migrated: the tasks table is still KFP 2.x\'s; run mlmd-bridge stage, then cutover';
}
