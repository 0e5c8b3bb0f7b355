/**
 * The KFP 3 target schema on real databases (the local MariaDB and SQLite files): creation as the
 * mlmd-removal GORM models define it, the structure check, the FKs, the bookkeeping tables, and the
 * move-aside / restore of the KFP 2.x tasks table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import type { Dialect } from '../src/db/url.ts';
import { tempPostgres } from './helpers/databases.ts';
import { BridgeError } from '../src/errors.ts';
import {
  BRIDGE_SCHEMA_VERSION,
  dropBridgeTables,
  ensureBridgeTables,
  getState,
  setState,
  STATE_KEYS,
} from '../src/load/bridge-tables.ts';
import {
  createTableStatements,
  describeTable,
  ensureTargetTables,
  expectedStructure,
  isKfpDatabase,
  tableExists,
  TARGET_TABLES,
} from '../src/load/schema.ts';
import {
  createV1TasksTable,
  foreignKeyClauses,
  moveV1TasksAside,
  restoreV1Tasks,
  showCreateTable,
  V1_TASKS_BACKUP,
} from '../src/load/v1-tasks.ts';

const SNAPSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'snapshots');
const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root' };

interface Scratch {
  db: Db;
  dispose(): Promise<void>;
}

/** A fresh, empty database of the given dialect, with a way to remove it. */
async function scratch(dialect: Dialect): Promise<Scratch> {
  if (dialect === 'mysql') {
    const name = `mb_loadschema_${randomBytes(4).toString('hex')}`;
    const db = await openDb(`mysql://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${name}`, { create: true });
    return {
      db,
      async dispose() {
        await db.close();
        const c = await mysql.createConnection(MARIADB);
        try {
          await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        } finally {
          await c.end();
        }
      },
    };
  }
  if (dialect === 'postgres') {
    const temp = await tempPostgres('loadschema');
    const db = await openDb(temp.url);
    return {
      db,
      async dispose() {
        await db.close();
        await temp.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'mb-loadschema-'));
  const db = await openDb(`sqlite:${join(dir, 'kfp.db')}`, { create: true });
  return {
    db,
    async dispose() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createRunDetails(db: Db): Promise<void> {
  // Backtick-quoted names read alike on all three (PostgreSQL's connection renders them double-quoted).
  await db.run('CREATE TABLE run_details (`UUID` varchar(191) NOT NULL PRIMARY KEY)');
}

async function rejection(p: Promise<unknown>): Promise<BridgeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BridgeError) return e;
    throw e;
  }
  throw new Error('expected a BridgeError, but the call succeeded');
}

async function rowsOf(db: Db, table: string): Promise<unknown[]> {
  return db.all(`SELECT * FROM ${table} ORDER BY \`UUID\``);
}

describe.each(['mysql', 'sqlite', 'postgres'] as const)('KFP 3 target schema on %s', (dialect) => {
  let s: Scratch;
  let db: Db;
  beforeEach(async () => {
    s = await scratch(dialect);
    db = s.db;
  });
  afterEach(async () => {
    await s.dispose();
  });

  it('refuses a database without run_details and recognises one with it', async () => {
    expect(await isKfpDatabase(db)).toBe(false);
    const err = await rejection(ensureTargetTables(db));
    expect(err.code).toBe('NOT_KFP_DATABASE');
    expect(err.exitCode).toBe(3);
    await createRunDetails(db);
    expect(await isKfpDatabase(db)).toBe(true);
    expect(await tableExists(db, 'tasks')).toBe(false);
  });

  it('creates the three tables, parents first, with exactly the expected structure; a second call only verifies', async () => {
    await createRunDetails(db);
    const first = await ensureTargetTables(db);
    expect(first).toEqual({ created: ['artifacts', 'tasks', 'artifact_tasks'], verified: [] });
    for (const t of TARGET_TABLES) {
      expect(await describeTable(db, t)).toEqual(expectedStructure(t, dialect));
    }
    const before = await Promise.all(TARGET_TABLES.map((t) => showCreateTable(db, t)));
    const second = await ensureTargetTables(db);
    expect(second).toEqual({ created: [], verified: ['artifacts', 'tasks', 'artifact_tasks'] });
    expect(await Promise.all(TARGET_TABLES.map((t) => showCreateTable(db, t)))).toEqual(before);
  });

  it('reads the structure back with the details the GORM models fix', async () => {
    await createRunDetails(db);
    await ensureTargetTables(db);
    const tasks = await describeTable(db, 'tasks');
    expect(tasks.columns.map((c) => c.name)).toEqual([
      'UUID', 'Namespace', 'RunUUID', 'pods', 'CreatedAtInSec', 'StartedInSec', 'FinishedInSec', 'Fingerprint', 'Name',
      'DisplayName', 'ParentTaskUUID', 'State', 'StatusMetadata', 'StateHistory', 'InputParameters', 'OutputParameters',
      'Type', 'TypeAttrs', 'ScopePath', 'LogicalKey',
    ]);
    expect(tasks.columns.find((c) => c.name === 'pods')).toEqual({
      name: 'pods', type: dialect === 'sqlite' ? 'text' : 'json', nullable: false, default: null,
    });
    expect(tasks.indexes.find((i) => i.name === 'idx_task_cache_lookup')).toEqual({
      name: 'idx_task_cache_lookup', unique: false, columns: ['Fingerprint', 'State', 'Namespace', 'CreatedAtInSec DESC'],
    });
    const links = await describeTable(db, 'artifact_tasks');
    expect(links.foreignKeys.find((f) => f.name === 'fk_artifact_tasks_task_run')).toEqual({
      name: 'fk_artifact_tasks_task_run', columns: ['TaskID', 'RunUUID'], refTable: 'tasks', refColumns: ['UUID', 'RunUUID'],
      onDelete: 'CASCADE', onUpdate: 'CASCADE',
    });
    expect(links.columns.find((c) => c.name === 'Iteration')?.default).toBe('-1');
    expect(links.columns.find((c) => c.name === 'ArtifactKey')?.default).toBe('');
  });

  it('reports a missing index, naming the table and the index', async () => {
    await createRunDetails(db);
    await ensureTargetTables(db);
    await db.run(dialect === 'mysql' ? 'ALTER TABLE tasks DROP INDEX idx_task_type' : 'DROP INDEX idx_task_type');
    const err = await rejection(ensureTargetTables(db));
    expect(err.code).toBe('TARGET_SCHEMA_MISMATCH');
    expect(err.message).toContain('tasks: index idx_task_type (Type) is missing');
    expect(err.message).not.toContain('artifacts:');
    expect(err.hint).toBeTruthy();
  });

  it('reports a changed column type and creates nothing while a table is wrong', async () => {
    await createRunDetails(db);
    const statements = createTableStatements('artifacts', dialect).map((sql) =>
      sql.replace(/(["`]Name["`]) varchar\(128\)/, '$1 varchar(255)'),
    );
    expect(statements.join('\n')).toContain('varchar(255)');
    for (const sql of statements) await db.run(sql);
    const err = await rejection(ensureTargetTables(db));
    expect(err.code).toBe('TARGET_SCHEMA_MISMATCH');
    expect(err.message).toContain('artifacts: column Name has type varchar(255), expected varchar(128)');
    expect(await tableExists(db, 'tasks')).toBe(false);
    expect(await tableExists(db, 'artifact_tasks')).toBe(false);
  });

  it('enforces the FKs: a link must share its task run, and deleting a run cascades', async () => {
    await createRunDetails(db);
    await ensureTargetTables(db);
    await db.run("INSERT INTO run_details (`UUID`) VALUES ('run-1'), ('run-2')");
    await db.run(
      `INSERT INTO tasks (\`UUID\`, \`Namespace\`, \`RunUUID\`, pods, \`CreatedAtInSec\`, \`Fingerprint\`, \`State\`, \`Type\`, \`TypeAttrs\`)
       VALUES ('task-1', '', 'run-1', '[]', 1, '', 2, 1, '{}')`,
    );
    await db.run("INSERT INTO artifacts (`UUID`, `Namespace`) VALUES ('art-1', '')");
    const link = (uuid: string, run: string) =>
      db.run(`INSERT INTO artifact_tasks (\`UUID\`, \`ArtifactID\`, \`TaskID\`, \`Type\`, \`RunUUID\`, \`ArtifactKey\`) VALUES (?, 'art-1', 'task-1', 9, ?, 'out')`, [
        uuid,
        run,
      ]);
    await expect(link('link-bad', 'run-2')).rejects.toThrow(/foreign key/i);
    await link('link-ok', 'run-1');
    expect(await db.all('SELECT `UUID`, `Iteration` FROM artifact_tasks')).toEqual([{ UUID: 'link-ok', Iteration: -1 }]);
    // A task whose run does not exist, and a child whose parent does not exist, are refused too.
    await expect(
      db.run(`INSERT INTO tasks (\`UUID\`, \`Namespace\`, \`RunUUID\`, pods, \`CreatedAtInSec\`, \`Fingerprint\`, \`State\`, \`Type\`, \`TypeAttrs\`)
              VALUES ('task-x', '', 'run-none', '[]', 1, '', 2, 1, '{}')`),
    ).rejects.toThrow(/foreign key/i);
    await expect(
      db.run(`INSERT INTO tasks (\`UUID\`, \`Namespace\`, \`RunUUID\`, pods, \`CreatedAtInSec\`, \`Fingerprint\`, \`State\`, \`Type\`, \`TypeAttrs\`, \`ParentTaskUUID\`)
              VALUES ('task-y', '', 'run-1', '[]', 1, '', 2, 2, 'null', 'task-none')`),
    ).rejects.toThrow(/foreign key/i);
    await db.run("DELETE FROM run_details WHERE `UUID` = 'run-1'");
    expect(await db.all('SELECT `UUID` FROM tasks')).toEqual([]);
    expect(await db.all('SELECT `UUID` FROM artifact_tasks')).toEqual([]);
    expect(await db.all('SELECT `UUID` FROM artifacts')).toEqual([{ UUID: 'art-1' }]);
  });

  it('keeps its bookkeeping tables and state', async () => {
    await ensureBridgeTables(db);
    await ensureBridgeTables(db);
    expect(await getState(db, STATE_KEYS.schemaVersion)).toBe(BRIDGE_SCHEMA_VERSION);
    expect(await getState(db, 'nothing')).toBeUndefined();
    await setState(db, STATE_KEYS.sourceUrl, 'mysql://root:***@mlmd/metadb');
    await setState(db, STATE_KEYS.sourceUrl, 'mysql://root:***@mlmd/metadb2');
    expect(await getState(db, STATE_KEYS.sourceUrl)).toBe('mysql://root:***@mlmd/metadb2');
    await db.run(
      "INSERT INTO mlmd_id_map (kind, mlmd_id, kfp_uuid, run_uuid) VALUES ('execution', 7, 'u-1', 'r-1'), ('execution', 7, 'u-2', 'r-1')",
    );
    await expect(db.run("INSERT INTO mlmd_id_map (kind, mlmd_id, kfp_uuid) VALUES ('execution', 7, 'u-1')")).rejects.toThrow();
    const map = await describeTable(db, 'mlmd_id_map');
    expect(map.primaryKey).toEqual(['kind', 'mlmd_id', 'kfp_uuid']);
    expect(map.indexes.map((i) => i.columns)).toEqual([['kfp_uuid'], ['run_uuid']]);
    expect((await describeTable(db, 'mlmd_bridge_runs')).columns.map((c) => c.name)).toEqual([
      'run_uuid', 'context_id', 'source_version', 'tasks', 'artifacts', 'links', 'rejects', 'migrated_at', 'tool_version',
    ]);
    await dropBridgeTables(db);
    for (const t of ['mlmd_id_map', 'mlmd_bridge_runs', 'mlmd_bridge_state']) expect(await tableExists(db, t)).toBe(false);
  });

  it('moves the KFP 2.x tasks table aside and restores it exactly', async () => {
    await createRunDetails(db);
    await db.run("INSERT INTO run_details (`UUID`) VALUES ('run-1'), ('run-2')");
    await createV1TasksTable(db);
    await db.run(
      `INSERT INTO tasks (\`UUID\`, \`Namespace\`, \`PipelineName\`, \`RunUUID\`, \`PodName\`, \`MLMDExecutionID\`, \`CreatedTimestamp\`, \`FinishedTimestamp\`, \`Fingerprint\`, \`State\`)
       VALUES ('c-1', 'ns', 'pipeline/p', 'run-1', '', '42', 100, 120, 'abc', NULL),
              ('n-1', 'ns', 'pipeline/p', 'run-2', 'node-1', '', 101, 0, '', 'SUCCEEDED')`,
    );
    const createBefore = await showCreateTable(db, 'tasks');
    const rowsBefore = await rowsOf(db, 'tasks');
    expect(rowsBefore).toHaveLength(2);
    const originalFks = foreignKeyClauses(createBefore);
    expect(originalFks.map((f) => f.name)).toEqual(['tasks_RunUUID_run_details_UUID_foreign']);

    const blocked = await rejection(ensureTargetTables(db));
    expect(blocked.code).toBe('TARGET_SCHEMA_MISMATCH');
    expect(blocked.message).toContain('KFP 2.x');
    expect(blocked.hint).toMatch(/move it aside/);

    expect(await moveV1TasksAside(db)).toBe('moved');
    expect(await tableExists(db, 'tasks')).toBe(false);
    expect(await rowsOf(db, V1_TASKS_BACKUP)).toEqual(rowsBefore);
    const recorded = JSON.parse((await getState(db, STATE_KEYS.v1TasksForeignKeys)) ?? 'null') as { clause: string }[];
    expect(recorded.map((r) => r.clause)).toEqual(originalFks.map((f) => f.clause));
    expect(createBefore).toContain(recorded[0]!.clause);
    expect(await getState(db, STATE_KEYS.v1TasksCreateTable)).toBe(createBefore);
    const backupFks = (await describeTable(db, V1_TASKS_BACKUP)).foreignKeys.map((f) => f.name);
    // MySQL FK names are per schema, so the backup must lose its FK; SQLite's are per table and stay.
    expect(backupFks).toEqual(dialect === 'mysql' ? [] : ['tasks_RunUUID_run_details_UUID_foreign']);
    expect(await moveV1TasksAside(db)).toBe('already-moved');

    // The KFP 3 tables can now be created, including the FK that has the old table's name.
    expect((await ensureTargetTables(db)).created).toEqual(['artifacts', 'tasks', 'artifact_tasks']);
    const restoreBlocked = await rejection(restoreV1Tasks(db));
    expect(restoreBlocked.message).toContain('a table named tasks exists');

    // rollback: drop what was created, then put the old table back.
    for (const t of ['artifact_tasks', 'tasks', 'artifacts']) await db.run(`DROP TABLE ${t}`);
    expect(await restoreV1Tasks(db)).toBe('restored');
    expect(await showCreateTable(db, 'tasks')).toBe(createBefore);
    expect(await rowsOf(db, 'tasks')).toEqual(rowsBefore);
    expect(await tableExists(db, V1_TASKS_BACKUP)).toBe(false);
    expect(await getState(db, STATE_KEYS.v1TasksForeignKeys)).toBeUndefined();
    expect(await restoreV1Tasks(db)).toBe('absent');
    // The restored FK is live again.
    await expect(
      db.run(`INSERT INTO tasks (\`UUID\`, \`Namespace\`, \`PipelineName\`, \`RunUUID\`, \`PodName\`, \`MLMDExecutionID\`, \`CreatedTimestamp\`, \`Fingerprint\`)
              VALUES ('c-2', 'ns', 'p', 'run-none', '', '1', 1, '')`),
    ).rejects.toThrow(/foreign key/i);
  });

  it('says when there is nothing to move', async () => {
    await createRunDetails(db);
    expect(await moveV1TasksAside(db)).toBe('absent');
    await ensureTargetTables(db);
    expect(await moveV1TasksAside(db)).toBe('absent');
    expect(await restoreV1Tasks(db)).toBe('absent');
  });
});

// MySQL-only steps: on SQLite the backup keeps its FK (names are per table), so there is no FK to drop or re-add.
describe('moving the KFP 2.x tasks table aside on MariaDB', () => {
  let s: Scratch;
  beforeEach(async () => {
    s = await scratch('mysql');
  });
  afterEach(async () => {
    await s.dispose();
  });

  it('completes a move interrupted after the rename', async () => {
    const db = s.db;
    await createRunDetails(db);
    await createV1TasksTable(db);
    await ensureBridgeTables(db);
    const createBefore = await showCreateTable(db, 'tasks');
    await setState(db, STATE_KEYS.v1TasksCreateTable, createBefore);
    await setState(db, STATE_KEYS.v1TasksForeignKeys, JSON.stringify(foreignKeyClauses(createBefore)));
    await db.run(`RENAME TABLE tasks TO ${V1_TASKS_BACKUP}`);
    expect((await describeTable(db, V1_TASKS_BACKUP)).foreignKeys).toHaveLength(1);
    expect(await moveV1TasksAside(db)).toBe('already-moved');
    expect((await describeTable(db, V1_TASKS_BACKUP)).foreignKeys).toHaveLength(0);
    expect(await restoreV1Tasks(db)).toBe('restored');
    expect(await showCreateTable(db, 'tasks')).toBe(createBefore);
  });

  it('refuses to restore over orphaned rows instead of failing half-way', async () => {
    const db = s.db;
    await createRunDetails(db);
    await db.run("INSERT INTO run_details (`UUID`) VALUES ('run-1')");
    await createV1TasksTable(db);
    await db.run(
      `INSERT INTO tasks (\`UUID\`, \`Namespace\`, \`PipelineName\`, \`RunUUID\`, \`PodName\`, \`MLMDExecutionID\`, \`CreatedTimestamp\`, \`Fingerprint\`)
       VALUES ('c-1', 'ns', 'p', 'run-1', '', '1', 1, '')`,
    );
    expect(await moveV1TasksAside(db)).toBe('moved');
    await db.run("DELETE FROM run_details WHERE `UUID` = 'run-1'");
    const err = await rejection(restoreV1Tasks(db));
    expect(err.message).toContain('1 row(s)');
    expect(await tableExists(db, V1_TASKS_BACKUP)).toBe(true);
    expect(await tableExists(db, 'tasks')).toBe(false);
  });

});

describe('KFP 3 target schema on MariaDB, as SHOW CREATE TABLE prints it', () => {
  it.each(TARGET_TABLES)('%s equals its checked-in snapshot', async (table) => {
    const s = await scratch('mysql');
    try {
      await createRunDetails(s.db);
      await ensureTargetTables(s.db);
      const snapshot = readFileSync(join(SNAPSHOTS, `kfp3-${table}.mariadb.sql`), 'utf8').replace(/\n$/, '');
      expect(await showCreateTable(s.db, table)).toBe(snapshot);
    } finally {
      await s.dispose();
    }
  });

  it('reads a MariaDB JSON column (longtext with a json_valid check) as json, and a plain longtext as longtext', async () => {
    const s = await scratch('mysql');
    try {
      await s.db.run('CREATE TABLE j (id int NOT NULL PRIMARY KEY, a json NULL, b longtext NULL)');
      expect((await showCreateTable(s.db, 'j'))).toMatch(/`a` longtext .*json_valid/);
      const cols = (await describeTable(s.db, 'j')).columns;
      expect(cols.map((c) => [c.name, c.type])).toEqual([
        ['id', 'int'],
        ['a', 'json'],
        ['b', 'longtext'],
      ]);
    } finally {
      await s.dispose();
    }
  });
});
