/**
 * Whole-database invariants of the KFP 3 tables (kfp-facts.md §F.4): foreign keys, one ROOT per
 * run, parents inside the run, no type 0, unique LogicalKeys, fingerprints only on SUCCEEDED
 * containers, and every v1 cache row matched by a migrated task with its fingerprint. Each finding
 * names the run, the row and the field.
 */
import type { Db } from '../db/connection.ts';
import { forceIndex } from '../db/dialect.ts';
import { and, eq, inArray, isNotNull, isNull, ne, not, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { kfpTables } from '../db/kfp-tables.ts';
import { orm } from '../db/orm.ts';
import { chunked } from '../db/sql.ts';
import { targetDialect } from '../load/kfp-database.ts';
import { tableExists } from '../load/schema.ts';
import { artifactIdentityKey } from '../transform/identity.ts';

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
  /** The rows that break the invariant: their run, their id and the value found. */
  rows(kfp: Db): Promise<Offender[]>;
}

interface Offender {
  run: string;
  id: string;
  found: unknown;
}

/** The offending rows among a few keys found first, a chunk of keys at a time. */
async function rowsAmong(keys: string[], read: (some: string[]) => Promise<Offender[]>): Promise<Offender[]> {
  const out: Offender[] = [];
  for (const some of chunked(keys)) out.push(...(await read(some)));
  return out;
}

/**
 * `tasks` rows carry large JSON columns and the table soon outgrows the buffer pool, so where it
 * pays a check reads ids from an index that holds them, or finds the few offending keys first and
 * then reads only their rows. Measured alone at 15,000 runs, these three went from 2.0 s of server
 * CPU to 0.4 s: FK_LINK_TASK (the task's (UUID, RunUUID) from idx_tasks_uuid_run instead of the
 * table), FK_TASK_RUN (each run looked up once, not once per task) and LOGICAL_KEY_UNIQUE (the
 * repeated keys from the LogicalKey index, where the IN (subquery) form scanned tasks).
 */
const CHECKS: readonly Check[] = [
  {
    name: 'FK_LINK_ARTIFACT',
    field: 'artifact_tasks.ArtifactID',
    expected: 'an artifacts row',
    rows: (kfp) => {
      const { artifactTasks: l, artifacts: a } = kfpTables(kfp);
      return orm(kfp).select({ run: l.RunUUID, id: l.UUID, found: l.ArtifactID }).from(l).leftJoin(a, eq(a.UUID, l.ArtifactID)).where(isNull(a.UUID));
    },
  },
  {
    name: 'FK_LINK_TASK',
    field: 'artifact_tasks.TaskID',
    expected: 'a task of the same run',
    // Raw SQL: the FORCE INDEX hint (MySQL) has no place in the builder the three dialects share.
    rows: async (kfp) =>
      kfp.all<Offender>(
        `SELECT l.\`RunUUID\` AS run, l.\`UUID\` AS id, l.\`TaskID\` AS found FROM artifact_tasks l LEFT JOIN tasks t${await indexHint(kfp, 'tasks', 'idx_tasks_uuid_run')} ` +
          'ON t.`UUID` = l.`TaskID` AND t.`RunUUID` = l.`RunUUID` WHERE t.`UUID` IS NULL',
      ),
  },
  {
    name: 'FK_TASK_RUN',
    field: 'tasks.RunUUID',
    expected: 'a run_details row',
    // The runs without a run_details row first (one lookup per run), then only their tasks.
    rows: async (kfp) => {
      const { tasks: t, runDetails: r } = kfpTables(kfp);
      const db = orm(kfp);
      const d = db.selectDistinct({ run: t.RunUUID }).from(t).as('d');
      const runs = await db.select({ run: d.run }).from(d).leftJoin(r, eq(r.UUID, d.run)).where(isNull(r.UUID));
      return rowsAmong(
        runs.map((x) => x.run),
        (some) => db.select({ run: t.RunUUID, id: t.UUID, found: t.RunUUID }).from(t).where(inArray(t.RunUUID, some)),
      );
    },
  },
  {
    name: 'PARENT_IN_RUN',
    field: 'tasks.ParentTaskUUID',
    expected: 'a task of the same run',
    rows: (kfp) => {
      const { tasks: t } = kfpTables(kfp);
      const p = alias(t, 'p');
      return orm(kfp)
        .select({ run: t.RunUUID, id: t.UUID, found: t.ParentTaskUUID })
        .from(t)
        .leftJoin(p, and(eq(p.UUID, t.ParentTaskUUID), eq(p.RunUUID, t.RunUUID)))
        .where(and(ne(t.Type, TASK_TYPE_ROOT), isNull(p.UUID)));
    },
  },
  {
    name: 'ROOT_HAS_NO_PARENT',
    field: 'tasks.ParentTaskUUID',
    expected: null,
    rows: (kfp) => {
      const { tasks: t } = kfpTables(kfp);
      return orm(kfp).select({ run: t.RunUUID, id: t.UUID, found: t.ParentTaskUUID }).from(t).where(and(eq(t.Type, TASK_TYPE_ROOT), isNotNull(t.ParentTaskUUID)));
    },
  },
  {
    name: 'ONE_ROOT_PER_RUN',
    field: 'tasks.Type',
    expected: 'exactly one ROOT task',
    rows: async (kfp) => {
      const { tasks: t } = kfpTables(kfp);
      // MySQL's SUM is a DECIMAL, which arrives as text.
      const roots = sql<number>`SUM(CASE WHEN ${t.Type} = ${TASK_TYPE_ROOT} THEN 1 ELSE 0 END)`.mapWith(Number);
      const rows = await orm(kfp).select({ run: t.RunUUID, roots }).from(t).groupBy(t.RunUUID).having(sql`${roots} <> 1`);
      return rows.map((r) => ({ run: r.run, id: r.run, found: r.roots }));
    },
  },
  {
    name: 'TASK_TYPE_SET',
    field: 'tasks.Type',
    expected: 'not 0',
    rows: (kfp) => {
      const { tasks: t } = kfpTables(kfp);
      return orm(kfp).select({ run: t.RunUUID, id: t.UUID, found: t.Type }).from(t).where(eq(t.Type, 0));
    },
  },
  {
    name: 'LINK_TYPE_SET',
    field: 'artifact_tasks.Type',
    expected: 'not 0',
    rows: (kfp) => {
      const { artifactTasks: l } = kfpTables(kfp);
      return orm(kfp).select({ run: l.RunUUID, id: l.UUID, found: l.Type }).from(l).where(eq(l.Type, 0));
    },
  },
  {
    name: 'LOGICAL_KEY_UNIQUE',
    field: 'tasks.LogicalKey',
    expected: 'unique',
    rows: async (kfp) => {
      const { tasks: t } = kfpTables(kfp);
      const db = orm(kfp);
      const keys = await db.select({ k: t.LogicalKey }).from(t).where(isNotNull(t.LogicalKey)).groupBy(t.LogicalKey).having(sql`COUNT(*) > 1`);
      return rowsAmong(
        keys.map((r) => r.k!),
        (some) => db.select({ run: t.RunUUID, id: t.UUID, found: t.LogicalKey }).from(t).where(inArray(t.LogicalKey, some)),
      );
    },
  },
  {
    name: 'IDENTITY_KEY_RECOMPUTED',
    field: 'artifacts.IdentityKey',
    expected: 'computeArtifactIdentityKey of the row',
    // Only imported artifacts hold one: few rows, read whole and recomputed here.
    rows: async (kfp) => {
      const { artifacts: a } = kfpTables(kfp);
      const rows = await orm(kfp)
        .select({ UUID: a.UUID, Type: a.Type, URI: a.URI, Name: a.Name, Description: a.Description, Metadata: a.Metadata, IdentityKey: a.IdentityKey })
        .from(a)
        .where(isNotNull(a.IdentityKey));
      return rows.filter((r) => artifactIdentityKey(r) !== r.IdentityKey).map((r) => ({ run: '', id: r.UUID, found: r.IdentityKey }));
    },
  },
  {
    name: 'FINGERPRINT_ONLY_ON_SUCCEEDED_CONTAINERS',
    field: 'tasks.Fingerprint',
    expected: "'' (not a SUCCEEDED container)",
    rows: (kfp) => {
      const { tasks: t } = kfpTables(kfp);
      return orm(kfp)
        .select({ run: t.RunUUID, id: t.UUID, found: t.Fingerprint })
        .from(t)
        .where(and(ne(t.Fingerprint, ''), not(and(eq(t.Type, TASK_TYPE_CONTAINER), eq(t.State, TASK_STATE_SUCCEEDED))!)));
    },
  },
];

/** PipelineTask.TaskType ROOT and RUNTIME (container), TaskState SUCCEEDED (kfp-facts.md §C.7). */
const TASK_TYPE_ROOT = 1;
const TASK_TYPE_CONTAINER = 2;
const TASK_STATE_SUCCEEDED = 2;

/**
 * Each v1 cache row names an execution and its MLMD fingerprint: the migrated task must hold it, in
 * its Fingerprint column (`--fingerprints mlmd`, or a fingerprint kept because it did not
 * reproduce) or in the provenance of StatusMetadata (beside a KFP 3 key in the column).
 * Raw SQL: tasks_v1_backup is KFP 2.x's table, not one mlmd-bridge declares; the casts differ by dialect.
 */
function v1CacheCheck(kfp: Db): string {
  const dialect = targetDialect(kfp);
  // PostgreSQL's CAST refuses text that is no number, where MySQL reads 0 and SQLite NULL.
  const executionId =
    dialect === 'postgres'
      ? "CASE WHEN c.`MLMDExecutionID` ~ '^[0-9]{1,18}$' THEN CAST(c.`MLMDExecutionID` AS BIGINT) END"
      : `CAST(c.\`MLMDExecutionID\` AS ${dialect === 'sqlite' ? 'INTEGER' : 'SIGNED'})`;
  // PostgreSQL's json has no LIKE; MySQL concatenates with CONCAT only.
  const statusText = dialect === 'postgres' ? 'CAST(t.`StatusMetadata` AS TEXT)' : 't.`StatusMetadata`';
  const pattern = dialect === 'mysql' ? "CONCAT('%', c.`Fingerprint`, '%')" : "'%' || c.`Fingerprint` || '%'";
  return (
    'SELECT c.`RunUUID` AS run, c.`MLMDExecutionID` AS id, c.`Fingerprint` AS expected, t.`Fingerprint` AS found FROM tasks_v1_backup c ' +
    `LEFT JOIN mlmd_id_map m ON m.kind = 'execution' AND m.mlmd_id = ${executionId} ` +
    'LEFT JOIN tasks t ON t.`UUID` = m.kfp_uuid ' +
    "WHERE c.`MLMDExecutionID` <> '' AND c.`Fingerprint` <> '' AND (t.`UUID` IS NULL OR (t.`State` = 2 AND t.`Fingerprint` <> c.`Fingerprint` " +
    `AND (t.\`StatusMetadata\` IS NULL OR ${statusText} NOT LIKE ${pattern})))`
  );
}

/**
 * A FORCE INDEX hint, where the table has the index: a KFP database whose tables were made otherwise may lack it.
 * Raw SQL: a MySQL catalog read (information_schema), which no drizzle table declares.
 */
async function indexHint(kfp: Db, table: string, index: string): Promise<string> {
  if (kfp.dialect !== 'mysql') return '';
  const present = await kfp.all(
    'SELECT 1 AS present FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1',
    [table, index],
  );
  return present.length > 0 ? forceIndex(kfp, index) : '';
}

export async function structuralFindings(kfp: Db, runs: Set<string> | null): Promise<Finding[]> {
  const out: Finding[] = [];
  const keep = (run: unknown) => runs === null || runs.has(String(run));
  for (const c of CHECKS) {
    for (const r of await c.rows(kfp)) {
      if (keep(r.run)) out.push({ check: c.name, runUuid: String(r.run), id: String(r.id), field: c.field, expected: c.expected, found: r.found });
    }
  }
  if (await tableExists(kfp, 'tasks_v1_backup')) {
    for (const r of await kfp.all<{ run: string; id: string; expected: string; found: string | null }>(v1CacheCheck(kfp))) {
      if (keep(r.run)) {
        out.push({ check: 'V1_CACHE_ROW_MATCHED', runUuid: String(r.run), id: `execution ${r.id}`, field: 'tasks.Fingerprint', expected: r.expected, found: r.found ?? 'no migrated task' });
      }
    }
  }
  return out;
}
