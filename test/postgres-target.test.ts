/**
 * The KFP 3 tables on a PostgreSQL KFP database, read back from PostgreSQL's own catalog and
 * compared with literal vectors written from the mlmd-removal GORM models as the pgx dialect
 * renders them (kfp-facts.md §B.4: quoted mixed-case names, json, integer/bigint, NumberValue as
 * decimal, which PostgreSQL stores as numeric) — not derived from the table description the DDL
 * comes from. Also: the KFP 2.x tasks table's primary key index moves with it, and drizzle's typed
 * statements through the project's connections on all three dialects.
 */
import { asc, eq, inArray } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import { kfpTables } from '../src/db/kfp-tables.ts';
import { insertOrIgnore, orm, proposed, upsert } from '../src/db/orm.ts';
import { isLockConflict, retryOnLockConflict } from '../src/db/retry.ts';
import { ensureBridgeTables } from '../src/load/bridge-tables.ts';
import { describeTable, ensureTargetTables } from '../src/load/schema.ts';
import { createV1TasksTable, moveV1TasksAside, restoreV1Tasks } from '../src/load/v1-tasks.ts';
import { ensureStagedTables, STAGED_TASKS } from '../src/load/staged-tables.ts';
import { MLMD_DIALECTS, type TempDatabase, tempSqlite, watchReads } from './helpers/databases.ts';
import { refuseWithoutWritePrivileges } from '../src/load/kfp-privileges.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { pgColumns, pgForeignKeys, pgIndexes } from './helpers/pg-catalog.ts';

const runDetails = (db: Db) => db.run('CREATE TABLE run_details (`UUID` varchar(191) NOT NULL PRIMARY KEY)');

const pgTemp = MLMD_DIALECTS.find((d) => d.dialect === 'postgres')!.temp;

describe('KFP 3 tables on PostgreSQL, as the catalog reads them', () => {
  let temp: TempDatabase;
  let db: Db;
  beforeEach(async () => {
    temp = await pgTemp('pgtarget');
    db = await openDb(temp.url);
    await runDetails(db);
  });
  afterEach(async () => {
    await db.close();
    await temp.drop();
  });

  it('creates artifacts, tasks and artifact_tasks column for column, index for index, FK for FK as GORM pgx does', async () => {
    expect((await ensureTargetTables(db)).created).toEqual(['artifacts', 'tasks', 'artifact_tasks']);
    expect(await pgColumns(db, 'artifacts')).toEqual([
      'UUID character varying(191) NOT NULL KEY 1',
      'Namespace character varying(63) NOT NULL',
      'Type integer',
      'URI character varying(2048)',
      'URIHash character varying(64)',
      'Name character varying(128) DEFAULT NULL::character varying',
      'Description text',
      'CreatedAtInSec bigint NOT NULL DEFAULT 0',
      'LastUpdateInSec bigint NOT NULL DEFAULT 0',
      'Metadata json',
      'NumberValue numeric',
      'IdentityKey character varying(64) DEFAULT NULL::character varying',
    ]);
    expect(await pgIndexes(db, 'artifacts')).toEqual([
      'artifacts_pkey PRIMARY (UUID)',
      'idx_artifact_created_timestamp (CreatedAtInSec)',
      'idx_artifact_identity UNIQUE (Namespace, IdentityKey)',
      'idx_artifact_last_update_timestamp (LastUpdateInSec)',
      'idx_namespace_urihash (Namespace, URIHash)',
      'idx_type_namespace (Namespace, Type)',
    ]);
    expect(await pgForeignKeys(db, 'artifacts')).toEqual([]);

    expect(await pgColumns(db, 'tasks')).toEqual([
      'UUID character varying(191) NOT NULL KEY 1',
      'Namespace character varying(63) NOT NULL',
      'RunUUID character varying(191) NOT NULL',
      'pods json NOT NULL',
      'CreatedAtInSec bigint NOT NULL',
      'StartedInSec bigint DEFAULT 0',
      'FinishedInSec bigint DEFAULT 0',
      'Fingerprint character varying(255) NOT NULL',
      'Name character varying(128) DEFAULT NULL::character varying',
      'DisplayName character varying(128) DEFAULT NULL::character varying',
      'ParentTaskUUID character varying(191) DEFAULT NULL::character varying',
      'State integer NOT NULL',
      'StatusMetadata json',
      'StateHistory json',
      'InputParameters json',
      'OutputParameters json',
      'Type integer NOT NULL',
      'TypeAttrs json NOT NULL',
      'ScopePath text',
      'LogicalKey character varying(64) DEFAULT NULL::character varying',
    ]);
    expect(await pgIndexes(db, 'tasks')).toEqual([
      'idx_parent_run (RunUUID, ParentTaskUUID)',
      'idx_parent_task_uuid (ParentTaskUUID)',
      'idx_task_cache_lookup (Fingerprint, State, Namespace, CreatedAtInSec)',
      'idx_task_created_timestamp (CreatedAtInSec)',
      'idx_task_finished_timestamp (FinishedInSec)',
      'idx_task_started_timestamp (StartedInSec)',
      'idx_task_type (Type)',
      'idx_tasks_logical_key UNIQUE (LogicalKey)',
      'idx_tasks_uuid_run UNIQUE (UUID, RunUUID)',
      'tasks_pkey PRIMARY (UUID)',
    ]);
    // The one descending key part (pg-catalog's helper does not show the direction).
    const [cacheLookup] = await db.all<{ def: string }>("SELECT pg_get_indexdef('\"idx_task_cache_lookup\"'::regclass) AS def");
    expect(cacheLookup!.def).toBe('CREATE INDEX idx_task_cache_lookup ON public.tasks USING btree ("Fingerprint", "State", "Namespace", "CreatedAtInSec" DESC)');
    expect(await pgForeignKeys(db, 'tasks')).toEqual([
      'fk_tasks_parent_task FOREIGN KEY ("ParentTaskUUID") REFERENCES tasks("UUID") ON UPDATE CASCADE ON DELETE CASCADE',
      'tasks_RunUUID_run_details_UUID_foreign FOREIGN KEY ("RunUUID") REFERENCES run_details("UUID") ON UPDATE CASCADE ON DELETE CASCADE',
    ]);

    expect(await pgColumns(db, 'artifact_tasks')).toEqual([
      'UUID character varying(191) NOT NULL KEY 1',
      'ArtifactID character varying(191) NOT NULL',
      'TaskID character varying(191) NOT NULL',
      'Type integer NOT NULL',
      "Iteration bigint NOT NULL DEFAULT '-1'::integer",
      'RunUUID character varying(191) NOT NULL',
      'Producer json',
      "ArtifactKey character varying(191) NOT NULL DEFAULT ''::character varying",
    ]);
    expect(await pgIndexes(db, 'artifact_tasks')).toEqual([
      'UniqueLink UNIQUE (ArtifactID, TaskID, Type, Iteration, ArtifactKey)',
      'artifact_tasks_pkey PRIMARY (UUID)',
      'idx_link_artifact_id (ArtifactID)',
      'idx_link_run_id (RunUUID)',
      'idx_link_task_run (TaskID, RunUUID)',
    ]);
    expect(await pgForeignKeys(db, 'artifact_tasks')).toEqual([
      'fk_artifact_tasks_artifacts FOREIGN KEY ("ArtifactID") REFERENCES artifacts("UUID") ON UPDATE CASCADE ON DELETE CASCADE',
      'fk_artifact_tasks_runs FOREIGN KEY ("RunUUID") REFERENCES run_details("UUID") ON UPDATE CASCADE ON DELETE CASCADE',
      'fk_artifact_tasks_task_run FOREIGN KEY ("TaskID", "RunUUID") REFERENCES tasks("UUID", "RunUUID") ON UPDATE CASCADE ON DELETE CASCADE',
    ]);
  });

  it('moves the KFP 2.x tasks table aside with its primary key index, so the KFP 3 one gets tasks_pkey as on a fresh database', async () => {
    await createV1TasksTable(db);
    expect(await pgIndexes(db, 'tasks')).toContain('tasks_pkey PRIMARY (UUID)');
    expect(await moveV1TasksAside(db)).toBe('moved');
    expect(await pgIndexes(db, 'tasks_v1_backup')).toEqual(['tasks_RunUUID_run_details_UUID_foreign (RunUUID)', 'tasks_v1_backup_pkey PRIMARY (UUID)']);
    await ensureTargetTables(db);
    expect(await pgIndexes(db, 'tasks')).toContain('tasks_pkey PRIMARY (UUID)');
    for (const t of ['artifact_tasks', 'tasks', 'artifacts']) await db.run(`DROP TABLE ${t}`);
    expect(await restoreV1Tasks(db)).toBe('restored');
    expect(await pgIndexes(db, 'tasks')).toEqual(['tasks_RunUUID_run_details_UUID_foreign (RunUUID)', 'tasks_pkey PRIMARY (UUID)']);
  });

  it('a privilege check racing another shard that moves the KFP 2.x tasks table aside meanwhile passes', async () => {
    await createV1TasksTable(db);
    // The other shard renames tasks between this check's "is tasks KFP 2.x's?" and "may I rename it?" reads.
    let moved = false;
    const racing = watchReads(db, async (sql) => {
      if (!moved && sql.includes('pg_has_role(c.relowner')) {
        moved = true;
        expect(await moveV1TasksAside(db)).toBe('moved');
      }
    });
    await expect(refuseWithoutWritePrivileges(racing)).resolves.toBeUndefined();
    expect(moved).toBe(true);
  });

  it('stages KFP 3 tables beside the KFP 2.x tasks table without an index name of theirs colliding (index names are per schema)', async () => {
    await createV1TasksTable(db);
    const v1Before = await pgIndexes(db, 'tasks');
    await ensureBridgeTables(db);
    expect(await ensureStagedTables(db)).toEqual(['artifacts', STAGED_TASKS, 'artifact_tasks']);
    const indexNames = async (t: string) => (await pgIndexes(db, t)).map((ix) => ix.split(' ')[0]!);
    const staged = (await Promise.all(['artifacts', STAGED_TASKS, 'artifact_tasks'].map(indexNames))).flat();
    expect(await pgIndexes(db, STAGED_TASKS)).toContain(`${STAGED_TASKS}_pkey PRIMARY (UUID)`);
    expect(staged.filter((n) => v1Before.some((ix) => ix.split(' ')[0] === n))).toEqual([]);
    // The v1 table is untouched, and its FK and the staged one share KFP 3's name (FK names are per table).
    expect(await pgIndexes(db, 'tasks')).toEqual(v1Before);
    const fkNames = async (t: string) => (await pgForeignKeys(db, t)).map((fk) => fk.split(' ')[0]);
    expect(await fkNames('tasks')).toEqual(['tasks_RunUUID_run_details_UUID_foreign']);
    expect(await fkNames(STAGED_TASKS)).toEqual(['fk_tasks_parent_task', 'tasks_RunUUID_run_details_UUID_foreign']);
  });

  it('reads a table structure with its descending key part and cascades', async () => {
    await ensureTargetTables(db);
    const tasks = await describeTable(db, 'tasks');
    expect(tasks.indexes.find((i) => i.name === 'idx_task_cache_lookup')?.columns).toEqual(['Fingerprint', 'State', 'Namespace', 'CreatedAtInSec DESC']);
    expect(tasks.columns.find((c) => c.name === 'NumberValue')).toBeUndefined();
    const artifacts = await describeTable(db, 'artifacts');
    expect(artifacts.columns.find((c) => c.name === 'NumberValue')).toEqual({ name: 'NumberValue', type: 'numeric', nullable: true, default: null });
    const links = await describeTable(db, 'artifact_tasks');
    expect(links.columns.find((c) => c.name === 'Iteration')?.default).toBe('-1');
    expect(links.columns.find((c) => c.name === 'ArtifactKey')?.default).toBe('');
  });
});

describe.each(MLMD_DIALECTS)('drizzle statements through the $dialect connection', ({ dialect, temp: makeTemp }) => {
  let temp: TempDatabase;
  let db: Db;
  beforeEach(async () => {
    temp = await makeTemp('drizzle');
    db = await openDb(temp.url, { create: true });
    await runDetails(db);
    await ensureTargetTables(db);
    await ensureBridgeTables(db);
  });
  afterEach(async () => {
    await db.close();
    await temp.drop();
  });

  it('writes and reads typed rows: numbers as numbers, JSON as its text, NULL as null', async () => {
    expect(db.dialect).toBe(dialect);
    const t = kfpTables(db);
    await db.run("INSERT INTO run_details (`UUID`) VALUES ('run-1')");
    await orm(db).insert(t.artifacts).values([
      { UUID: 'a-1', Namespace: 'ns', Type: 3, URI: 'gs://b/x', URIHash: 'h', Metadata: '{"k": [1, 2]}', NumberValue: 0.25, CreatedAtInSec: 2 ** 40 },
      { UUID: 'a-2', Namespace: 'ns', URIHash: '' },
    ]);
    const rows = await orm(db)
      .select({ uuid: t.artifacts.UUID, type: t.artifacts.Type, value: t.artifacts.NumberValue, created: t.artifacts.CreatedAtInSec, metadata: t.artifacts.Metadata, uri: t.artifacts.URI })
      .from(t.artifacts)
      .where(inArray(t.artifacts.UUID, ['a-1', 'a-2']))
      .orderBy(asc(t.artifacts.UUID));
    // MySQL hands a JSON column back re-serialized; its meaning is what must survive.
    expect(rows.map((r) => ({ ...r, metadata: r.metadata === null ? null : JSON.parse(r.metadata) }))).toEqual([
      { uuid: 'a-1', type: 3, value: 0.25, created: 2 ** 40, metadata: { k: [1, 2] }, uri: 'gs://b/x' },
      { uuid: 'a-2', type: null, value: null, created: 0, metadata: null, uri: null },
    ]);

    await orm(db).update(t.artifacts).set({ IdentityKey: 'ik' }).where(eq(t.artifacts.UUID, 'a-2'));
    const [updated] = await orm(db).select({ key: t.artifacts.IdentityKey }).from(t.artifacts).where(eq(t.artifacts.UUID, 'a-2'));
    expect(updated).toEqual({ key: 'ik' });
  });

  it('upserts on a key and inserts-or-ignores, in one transaction', async () => {
    const t = kfpTables(db);
    await db.transaction(async (tx) => {
      await upsert(tx, t.bridgeState, [{ name: 'a', value: '1' }, { name: 'b', value: '1' }], [t.bridgeState.name], { value: proposed(tx, 'value') });
      await upsert(tx, t.bridgeState, [{ name: 'a', value: '2' }], [t.bridgeState.name], { value: proposed(tx, 'value') });
      await insertOrIgnore(tx, t.bridgeState, [{ name: 'b', value: '3' }, { name: 'c', value: '3' }]);
    });
    const rows = await orm(db).select().from(t.bridgeState).where(inArray(t.bridgeState.name, ['a', 'b', 'c'])).orderBy(asc(t.bridgeState.name));
    expect(rows).toEqual([
      { name: 'a', value: '2' },
      { name: 'b', value: '1' },
      { name: 'c', value: '3' },
    ]);
  });
});

describe('lock conflicts on PostgreSQL', () => {
  it('retries a genuine lock_not_available (55P03) until the other transaction lets go', async () => {
    const temp = await pgTemp('pgretry');
    const db = await openDb(temp.url, { poolSize: 2 });
    try {
      await db.run('CREATE TABLE t (id int PRIMARY KEY, v int)');
      await db.run('INSERT INTO t VALUES (1, 0)');
      const codes: unknown[] = [];
      let attempts = 0;
      let locked!: () => void;
      let release!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const released = new Promise<void>((r) => (release = r));
      const holder = db.transaction(async (h) => {
        await h.all('SELECT v FROM t WHERE id = 1 FOR UPDATE');
        locked();
        await released;
      });
      await isLocked;
      await retryOnLockConflict(async () => {
        attempts++;
        if (attempts === 3) {
          release(); // the other transaction commits before this attempt
          await holder;
        }
        try {
          await db.transaction(async (tx) => {
            await tx.all('SELECT v FROM t WHERE id = 1 FOR UPDATE NOWAIT');
            await tx.run('UPDATE t SET v = v + 1 WHERE id = 1');
          });
        } catch (e) {
          codes.push((e as { code?: unknown }).code);
          throw e;
        }
      });
      expect(attempts).toBe(3);
      expect(codes).toEqual(['55P03', '55P03']);
      expect(isLockConflict({ code: '40001' }) && isLockConflict({ code: '40P01' })).toBe(true);
      expect(await db.all('SELECT v FROM t')).toEqual([{ v: 1 }]);
    } finally {
      await db.close();
      await temp.drop();
    }
  });
});

describe('text PostgreSQL cannot hold', () => {
  it('a URI holding NUL fails its run alone (RUN_FAILED with PostgreSQL 22021, by run id); the other runs are written', async () => {
    const mlmd = await tempSqlite('pgnul_mlmd');
    const kfp = await pgTemp('pgnul_kfp');
    try {
      const m = await openDb(mlmd.url, { create: true });
      const k = await openDb(kfp.url, { create: true });
      try {
        await seedDatabases(m, k, { runs: 3, seed: 5 });
        const [artifact] = await m.all<{ id: number }>("SELECT MIN(id) AS id FROM Artifact WHERE uri <> ''");
        expect(artifact?.id).toBeGreaterThan(0);
        await m.run('UPDATE Artifact SET uri = ? WHERE id = ?', ['gs://bucket/a\u0000b', artifact!.id]);
      } finally {
        await m.close();
        await k.close();
      }
      await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      const k2 = await openDb(kfp.url, { readOnly: true });
      try {
        const rejects = await k2.all<{ code: string; reason: string; run_key: string }>("SELECT code, reason, run_key FROM mlmd_bridge_rejects WHERE code = 'RUN_FAILED'");
        expect(rejects).toHaveLength(1);
        expect(rejects[0]!.reason).toContain('22021');
        expect(rejects[0]!.reason).toContain('0x00');
        const runs = await k2.all<{ run_uuid: string; source_version: string }>('SELECT run_uuid, source_version FROM mlmd_bridge_runs ORDER BY run_uuid');
        expect(runs).toHaveLength(3);
        expect(runs.filter((r) => r.source_version === 'failed').map((r) => r.run_uuid)).toEqual([rejects[0]!.run_key]);
        const t = kfpTables(k2);
        const written = await orm(k2).selectDistinct({ run: t.tasks.RunUUID }).from(t.tasks);
        expect(written.map((r) => r.run).sort()).toEqual(runs.filter((r) => r.source_version !== 'failed').map((r) => r.run_uuid));
      } finally {
        await k2.close();
      }
    } finally {
      await mlmd.drop();
      await kfp.drop();
    }
  });
});
