/**
 * Whole-database invariants of the KFP 3 tables (kfp-facts.md §F.4): foreign keys, one ROOT per
 * run, parents inside the run, no type 0, unique LogicalKeys, fingerprints only on SUCCEEDED
 * containers, and every v1 cache row matched by a migrated task with its fingerprint. Each finding
 * names the run, the row and the field.
 */
import type { Db } from '../db/connection.ts';
import { tableExists } from '../load/schema.ts';

export interface Finding {
  check: string;
  runUuid: string | null;
  /** The KFP row (task, link or artifact UUID) or the MLMD id the finding is about. */
  id: string;
  field: string;
  expected: unknown;
  found: unknown;
}

interface Check {
  name: string;
  field: string;
  expected: unknown;
  sql: string;
}

const CHECKS: readonly Check[] = [
  {
    name: 'FK_LINK_ARTIFACT',
    field: 'artifact_tasks.ArtifactID',
    expected: 'an artifacts row',
    sql: 'SELECT l.RunUUID AS run, l.UUID AS id, l.ArtifactID AS found FROM artifact_tasks l LEFT JOIN artifacts a ON a.UUID = l.ArtifactID WHERE a.UUID IS NULL',
  },
  {
    name: 'FK_LINK_TASK',
    field: 'artifact_tasks.TaskID',
    expected: 'a task of the same run',
    sql: 'SELECT l.RunUUID AS run, l.UUID AS id, l.TaskID AS found FROM artifact_tasks l LEFT JOIN tasks t ON t.UUID = l.TaskID AND t.RunUUID = l.RunUUID WHERE t.UUID IS NULL',
  },
  {
    name: 'FK_TASK_RUN',
    field: 'tasks.RunUUID',
    expected: 'a run_details row',
    sql: 'SELECT t.RunUUID AS run, t.UUID AS id, t.RunUUID AS found FROM tasks t LEFT JOIN run_details r ON r.UUID = t.RunUUID WHERE r.UUID IS NULL',
  },
  {
    name: 'PARENT_IN_RUN',
    field: 'tasks.ParentTaskUUID',
    expected: 'a task of the same run',
    sql:
      'SELECT t.RunUUID AS run, t.UUID AS id, t.ParentTaskUUID AS found FROM tasks t LEFT JOIN tasks p ON p.UUID = t.ParentTaskUUID AND p.RunUUID = t.RunUUID ' +
      'WHERE t.Type <> 1 AND p.UUID IS NULL',
  },
  {
    name: 'ROOT_HAS_NO_PARENT',
    field: 'tasks.ParentTaskUUID',
    expected: null,
    sql: 'SELECT t.RunUUID AS run, t.UUID AS id, t.ParentTaskUUID AS found FROM tasks t WHERE t.Type = 1 AND t.ParentTaskUUID IS NOT NULL',
  },
  {
    name: 'ONE_ROOT_PER_RUN',
    field: 'tasks.Type',
    expected: 'exactly one ROOT task',
    sql:
      'SELECT r.run AS run, r.run AS id, r.roots AS found FROM (SELECT t.RunUUID AS run, SUM(CASE WHEN t.Type = 1 THEN 1 ELSE 0 END) AS roots ' +
      'FROM tasks t GROUP BY t.RunUUID) r WHERE r.roots <> 1',
  },
  { name: 'TASK_TYPE_SET', field: 'tasks.Type', expected: 'not 0', sql: 'SELECT t.RunUUID AS run, t.UUID AS id, t.Type AS found FROM tasks t WHERE t.Type = 0' },
  { name: 'LINK_TYPE_SET', field: 'artifact_tasks.Type', expected: 'not 0', sql: 'SELECT l.RunUUID AS run, l.UUID AS id, l.Type AS found FROM artifact_tasks l WHERE l.Type = 0' },
  {
    name: 'LOGICAL_KEY_UNIQUE',
    field: 'tasks.LogicalKey',
    expected: 'unique',
    sql:
      'SELECT t.RunUUID AS run, t.UUID AS id, t.LogicalKey AS found FROM tasks t WHERE t.LogicalKey IN ' +
      '(SELECT d.LogicalKey FROM (SELECT LogicalKey FROM tasks WHERE LogicalKey IS NOT NULL GROUP BY LogicalKey HAVING COUNT(*) > 1) d)',
  },
  {
    name: 'FINGERPRINT_ONLY_ON_SUCCEEDED_CONTAINERS',
    field: 'tasks.Fingerprint',
    expected: "'' (not a SUCCEEDED container)",
    sql: "SELECT t.RunUUID AS run, t.UUID AS id, t.Fingerprint AS found FROM tasks t WHERE t.Fingerprint <> '' AND NOT (t.Type = 2 AND t.State = 2)",
  },
];

const V1_CACHE_CHECK =
  "SELECT c.RunUUID AS run, c.MLMDExecutionID AS id, c.Fingerprint AS expected, t.Fingerprint AS found FROM tasks_v1_backup c " +
  "LEFT JOIN mlmd_id_map m ON m.kind = 'execution' AND m.mlmd_id = CAST(c.MLMDExecutionID AS SIGNED) " +
  'LEFT JOIN tasks t ON t.UUID = m.kfp_uuid ' +
  "WHERE c.MLMDExecutionID <> '' AND c.Fingerprint <> '' AND (t.UUID IS NULL OR (t.State = 2 AND t.Fingerprint <> c.Fingerprint))";

export async function structuralFindings(kfp: Db, runs: Set<string> | null): Promise<Finding[]> {
  const out: Finding[] = [];
  const keep = (run: unknown) => runs === null || runs.has(String(run));
  for (const c of CHECKS) {
    for (const r of await kfp.all<{ run: string; id: string; found: unknown }>(c.sql)) {
      if (keep(r.run)) out.push({ check: c.name, runUuid: String(r.run), id: String(r.id), field: c.field, expected: c.expected, found: r.found });
    }
  }
  if (await tableExists(kfp, 'tasks_v1_backup')) {
    const sql = kfp.dialect === 'sqlite' ? V1_CACHE_CHECK.replace('AS SIGNED', 'AS INTEGER') : V1_CACHE_CHECK;
    for (const r of await kfp.all<{ run: string; id: string; expected: string; found: string | null }>(sql)) {
      if (keep(r.run)) {
        out.push({ check: 'V1_CACHE_ROW_MATCHED', runUuid: String(r.run), id: `execution ${r.id}`, field: 'tasks.Fingerprint', expected: r.expected, found: r.found ?? 'no migrated task' });
      }
    }
  }
  return out;
}
