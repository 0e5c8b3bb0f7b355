/** `status`: what the KFP database says about migrations done into it. */
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
    const runs = await kfp.all<{ n: number; t: number | null; a: number | null; l: number | null }>(
      'SELECT COUNT(*) AS n, SUM(tasks) AS t, SUM(artifacts) AS a, SUM(links) AS l FROM mlmd_bridge_runs',
    );
    const versions = await kfp.all<{ tool_version: string }>('SELECT DISTINCT tool_version FROM mlmd_bridge_runs ORDER BY tool_version');
    const count = async (t: string) => ((await tableExists(kfp, t)) ? Number((await kfp.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))[0]?.n ?? 0) : 0);
    return {
      ...base,
      migrated: finishedAt !== null,
      state: locked ? 'in-progress' : finishedAt ? 'complete' : startedAt ? 'interrupted' : 'never-migrated',
      startedAt,
      finishedAt,
      source: (await getState(kfp, STATE_KEYS.sourceUrl)) ?? null,
      sourceSchemaVersion: (await getState(kfp, 'source_schema_version')) ?? null,
      toolVersions: versions.map((v) => v.tool_version),
      runs: Number(runs[0]?.n ?? 0),
      rows: { tasks: await count('tasks'), artifacts: await count('artifacts'), artifact_tasks: await count('artifact_tasks') },
      rejects: await rejectCounts(kfp),
      createdTables: (await getJsonState(kfp, STATE_KEYS.createdTargetTables, isStringArray, 'a JSON array of table names')) ?? [],
      fingerprints: await recordedMappingOptions(kfp),
    };
  } finally {
    await kfp.close();
  }
}
