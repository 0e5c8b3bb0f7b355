/** `status`: what the KFP database says about migrations done into it. */
import { count, getTableName } from 'drizzle-orm';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { openKfpDatabase } from '../load/kfp-database.ts';
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
}

export async function status(kfpUrl: string): Promise<Status> {
  const kfp = await openKfpDatabase(kfpUrl, { readOnly: true });
  try {
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
    };
  } finally {
    await kfp.close();
  }
}
