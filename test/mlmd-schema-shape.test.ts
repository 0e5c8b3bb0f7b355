/**
 * The MLMD schema our seed builds, checked column by column and index by index against what
 * ml-metadata's own DDL makes (metadata_source_query_config.cc, and its git history for schema 8
 * and 9): for schema 8, 9 and 10, on SQLite and MySQL, created at that version or upgraded in place
 * from ml-metadata 0.13.2; on PostgreSQL created at 10 and, for 9 and 8, taken down by MLMD's own
 * downgrade queries (the only way such a database comes to be there). The expectations are
 * written out from those facts, not derived from the seed's code.
 */
import { describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/connection.ts';
import type { Dialect } from '../src/db/url.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { createMlmdSchema, type MlmdSchemaOrigin, type MlmdSchemaVersion } from '../src/seed/mlmd-ddl.ts';
import { DIALECTS, tempPostgres } from './helpers/databases.ts';
import { pgColumns, pgIndexes } from './helpers/pg-catalog.ts';

const VERSIONS: MlmdSchemaVersion[] = [8, 9, 10];
const ORIGINS: MlmdSchemaOrigin[] = ['fresh', 'upgraded'];

/**
 * Column types written `SQLite|MySQL|PostgreSQL` (MySQL as information_schema reports them, display
 * widths dropped; PostgreSQL as its information_schema names them).
 */
const INT = 'INT|int|integer';
const NAME = 'VARCHAR(255)|varchar(255)|character_varying(255)';
const TEXT = 'TEXT|text|text';
const FLAG = 'TINYINT(1)|tinyint(1)|boolean';
const MILLIS = 'INT|bigint|bigint';
const AUTO_ID = 'id INTEGER|int|integer KEY AUTO';

/** Each table's columns in MLMD's fresh order: `name type [NOT NULL] [DEFAULT x] [KEY n]`. */
function freshColumns(dialect: Dialect, version: MlmdSchemaVersion): Record<string, string[]> {
  // On PostgreSQL the downgrade to 8 leaves external_id in place.
  const ext = version >= 9 || dialect === 'postgres' ? [`external_id ${NAME}`] : [];
  const typed = version >= 10 ? ['proto_value BLOB|mediumblob|bytea', 'bool_value BOOLEAN|tinyint(1)|boolean'] : [];
  const times = [`create_time_since_epoch ${MILLIS} NOT NULL DEFAULT 0`, `last_update_time_since_epoch ${MILLIS} NOT NULL DEFAULT 0`];
  const property = (owner: string) => [
    `${owner} ${INT} NOT NULL KEY 1`,
    `name ${NAME} NOT NULL KEY 2`,
    `is_custom_property ${FLAG} NOT NULL KEY 3`,
    `int_value ${INT}`,
    'double_value DOUBLE|double|double_precision',
    'string_value TEXT|mediumtext|text',
    'byte_value BLOB|mediumblob|bytea',
    ...typed,
  ];
  return {
    Type: [AUTO_ID, `name ${NAME} NOT NULL`, `version ${NAME}`, `type_kind TINYINT(1)|tinyint(1)|smallint NOT NULL`, `description ${TEXT}`, `input_type ${TEXT}`, `output_type ${TEXT}`, ...ext],
    TypeProperty: [`type_id ${INT} NOT NULL KEY 1`, `name ${NAME} NOT NULL KEY 2`, `data_type ${INT}`],
    ParentType: [`type_id ${INT} NOT NULL KEY 1`, `parent_type_id ${INT} NOT NULL KEY 2`],
    Artifact: [AUTO_ID, `type_id ${INT} NOT NULL`, `uri ${TEXT}`, `state ${INT}`, `name ${NAME}`, ...ext, ...times],
    ArtifactProperty: property('artifact_id'),
    Execution: [AUTO_ID, `type_id ${INT} NOT NULL`, `last_known_state ${INT}`, `name ${NAME}`, ...ext, ...times],
    ExecutionProperty: property('execution_id'),
    Context: [AUTO_ID, `type_id ${INT} NOT NULL`, `name ${NAME} NOT NULL`, ...ext, ...times],
    ContextProperty: property('context_id'),
    ParentContext: [`context_id ${INT} NOT NULL KEY 1`, `parent_context_id ${INT} NOT NULL KEY 2`],
    Event: [AUTO_ID, `artifact_id ${INT} NOT NULL`, `execution_id ${INT} NOT NULL`, `type ${INT} NOT NULL`, `milliseconds_since_epoch ${MILLIS}`],
    EventPath: [`event_id ${INT} NOT NULL`, `is_index_step ${FLAG} NOT NULL`, `step_index ${INT}`, `step_key ${TEXT}`],
    Association: [AUTO_ID, `context_id ${INT} NOT NULL`, `execution_id ${INT} NOT NULL`],
    Attribution: [AUTO_ID, `context_id ${INT} NOT NULL`, `artifact_id ${INT} NOT NULL`],
    MLMDEnv: ['schema_version INTEGER|int|integer NOT NULL KEY 1'],
  };
}

/** MySQL upgrades ALTER tables in place, so old columns keep their places and later ones come last. */
function upgradedMysqlColumns(version: MlmdSchemaVersion): Record<string, string[]> {
  const fresh = freshColumns('mysql', version);
  const pick = (table: string, names: string[]) => names.map((n) => fresh[table]!.find((c) => c.startsWith(`${n} `))!);
  const last = (table: string) => [...fresh[table]!.filter((c) => !c.startsWith('external_id ')), ...pick(table, version >= 9 ? ['external_id'] : [])];
  return {
    ...fresh,
    Type: pick('Type', ['id', 'name', 'type_kind', 'input_type', 'output_type', 'version', 'description', ...(version >= 9 ? ['external_id'] : [])]),
    Artifact: last('Artifact'),
    Execution: last('Execution'),
    Context: last('Context'),
  };
}

/** Every secondary index and UNIQUE constraint: `name UNIQUE? (columns) WHERE?`; `*` where SQLite names it itself. */
function indexes(dialect: Dialect, version: MlmdSchemaVersion, origin: MlmdSchemaOrigin): Record<string, string[]> {
  const m = dialect === 'mysql';
  const where = (col: string) => (m ? '' : ` WHERE ${col} IS NOT NULL`);
  const unique = (mysqlName: string, cols: string) => `${m ? mysqlName : '*'} UNIQUE (${cols})`;
  const externalUnique = (table: string) =>
    version >= 9 ? [unique(origin === 'upgraded' ? `Unique${table}ExternalId` : 'external_id', 'external_id')] : [];
  const external = (node: string) => (version >= 9 ? [`idx_${node}_external_id (external_id)`] : []);
  const times = (node: string) => [`idx_${node}_create_time_since_epoch (create_time_since_epoch)`, `idx_${node}_last_update_time_since_epoch (last_update_time_since_epoch)`];
  const property = (node: string) => [
    `idx_${node}_property_double (name, is_custom_property, double_value)${where('double_value')}`,
    `idx_${node}_property_int (name, is_custom_property, int_value)${where('int_value')}`,
    `idx_${node}_property_string (name, is_custom_property, string_value${m ? '(255)' : ''})${where('string_value')}`,
  ];
  const all: Record<string, string[]> = {
    Type: [...externalUnique('Type'), 'idx_type_name (name)', ...(version >= 9 ? ['idx_type_external_id (external_id)'] : [])],
    Artifact: [
      ...externalUnique('Artifact'),
      unique('UniqueArtifactTypeName', 'type_id, name'),
      `idx_artifact_uri (uri${m ? '(255)' : ''})`,
      ...times('artifact'),
      ...external('artifact'),
    ],
    ArtifactProperty: property('artifact'),
    Execution: [...externalUnique('Execution'), unique('UniqueExecutionTypeName', 'type_id, name'), ...times('execution'), ...external('execution')],
    ExecutionProperty: property('execution'),
    Context: [...externalUnique('Context'), unique('type_id', 'type_id, name'), ...times('context'), ...external('context')],
    ContextProperty: property('context'),
    ParentContext: ['idx_parentcontext_parent_context_id (parent_context_id)'],
    Event: [unique('UniqueEvent', 'artifact_id, execution_id, type'), 'idx_event_execution_id (execution_id)'],
    EventPath: ['idx_eventpath_event_id (event_id)'],
    Association: [unique('context_id', 'context_id, execution_id')],
    Attribution: [unique('context_id', 'context_id, artifact_id')],
  };
  return Object.fromEntries(Object.entries(all).map(([t, list]) => [t, list.sort()]));
}

/**
 * Every index of a PostgreSQL MLMD database, primary keys and constraints' own included, under the
 * names PostgreSQL gives them (unquoted DDL: `<table>_pkey`, `<table>_<cols>_key`, MLMD's named
 * constraints lower-cased). Below 10, the downgrade's rebuilt property tables keep the
 * `<table>temp_pkey` of their copies and partial value indexes.
 */
function postgresIndexes(version: MlmdSchemaVersion): Record<string, string[]> {
  const downgraded = version < 10;
  const where = (col: string) => (downgraded ? ` WHERE ${col} IS NOT NULL` : '');
  const node = (table: string) => [`${table}_pkey PRIMARY (id)`, `${table}_external_id_key UNIQUE (external_id)`];
  const times = (n: string) => [`idx_${n}_create_time_since_epoch (create_time_since_epoch)`, `idx_${n}_last_update_time_since_epoch (last_update_time_since_epoch)`];
  const property = (n: string, owner: string) => [
    `${n}property${downgraded ? 'temp' : ''}_pkey PRIMARY (${owner}, name, is_custom_property)`,
    `idx_${n}_property_double (name, is_custom_property, double_value)${where('double_value')}`,
    `idx_${n}_property_int (name, is_custom_property, int_value)${where('int_value')}`,
    `idx_${n}_property_string (name, is_custom_property, string_value)${where('string_value')}`,
  ];
  const all: Record<string, string[]> = {
    Type: [...node('type'), 'idx_type_name (name)', 'idx_type_external_id (external_id)'],
    TypeProperty: ['typeproperty_pkey PRIMARY (type_id, name)'],
    ParentType: ['parenttype_pkey PRIMARY (type_id, parent_type_id)'],
    Artifact: [...node('artifact'), 'uniqueartifacttypename UNIQUE (type_id, name)', 'idx_artifact_uri (uri)', ...times('artifact'), 'idx_artifact_external_id (external_id)'],
    ArtifactProperty: property('artifact', 'artifact_id'),
    Execution: [...node('execution'), 'uniqueexecutiontypename UNIQUE (type_id, name)', ...times('execution'), 'idx_execution_external_id (external_id)'],
    ExecutionProperty: property('execution', 'execution_id'),
    Context: [...node('context'), 'context_type_id_name_key UNIQUE (type_id, name)', ...times('context'), 'idx_context_external_id (external_id)'],
    ContextProperty: property('context', 'context_id'),
    ParentContext: ['parentcontext_pkey PRIMARY (context_id, parent_context_id)', 'idx_parentcontext_parent_context_id (parent_context_id)'],
    Event: ['event_pkey PRIMARY (id)', 'uniqueevent UNIQUE (artifact_id, execution_id, type)', 'idx_event_execution_id (execution_id)'],
    EventPath: ['idx_eventpath_event_id (event_id)'],
    Association: ['association_pkey PRIMARY (id)', 'association_context_id_execution_id_key UNIQUE (context_id, execution_id)'],
    Attribution: ['attribution_pkey PRIMARY (id)', 'attribution_context_id_artifact_id_key UNIQUE (context_id, artifact_id)'],
    MLMDEnv: ['mlmdenv_pkey PRIMARY (schema_version)'],
  };
  return Object.fromEntries(Object.entries(all).map(([t, list]) => [t, list.sort()]));
}

/** The spec's type for `dialect` (an underscore stands for a space in a PostgreSQL type name). */
const typeFor = (dialect: Dialect, spec: string) =>
  spec.replace(/(\S+)\|(\S+)\|(\S+)/g, (_, s: string, my: string, p: string) => (dialect === 'sqlite' ? s : dialect === 'mysql' ? my : p.replaceAll('_', ' ')));

/** What the database says about its columns, in the spec's form. */
async function describeColumns(db: Db, table: string): Promise<string[]> {
  if (db.dialect === 'sqlite') {
    const cols = await db.all<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
      'SELECT * FROM pragma_table_info(?) ORDER BY cid',
      [table],
    );
    const auto = (await db.all<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]))[0]!.sql.includes('AUTOINCREMENT');
    return cols.map((c) => {
      if (c.pk === 1 && auto) return `${c.name} ${c.type} KEY AUTO`;
      // A single INTEGER PRIMARY KEY is the rowid and can hold no NULL, whatever it says.
      const notNull = c.notnull === 1 || (c.pk > 0 && c.type === 'INTEGER' && cols.filter((x) => x.pk > 0).length === 1);
      return [c.name, c.type, notNull ? 'NOT NULL' : '', c.dflt_value !== null ? `DEFAULT ${c.dflt_value}` : '', c.pk > 0 ? `KEY ${c.pk}` : '']
        .filter(Boolean)
        .join(' ');
    });
  }
  const cols = await db.all<{ n: string; t: string; nul: string; d: string | null; k: string; x: string }>(
    'SELECT c.column_name AS n, c.column_type AS t, c.is_nullable AS nul, c.column_default AS d, c.extra AS x, ' +
      "COALESCE((SELECT CAST(s.seq_in_index AS CHAR) FROM information_schema.statistics s WHERE s.table_schema = c.table_schema AND s.table_name = c.table_name AND s.index_name = 'PRIMARY' AND s.column_name = c.column_name), '') AS k " +
      'FROM information_schema.columns c WHERE c.table_schema = DATABASE() AND c.table_name = ? ORDER BY c.ordinal_position',
    [table],
  );
  return cols.map((c) => {
    const type = c.t.replace(/^(int|bigint)\(\d+\)/, '$1');
    if (/auto_increment/i.test(c.x)) return `${c.n} ${type} KEY AUTO`;
    // MariaDB reports a nullable column without a default as the text NULL.
    const dflt = c.d === null || c.d === 'NULL' ? '' : `DEFAULT ${c.d}`;
    return [c.n, type, c.nul === 'NO' ? 'NOT NULL' : '', dflt, c.k ? `KEY ${c.k}` : ''].filter(Boolean).join(' ');
  });
}

async function describeIndexes(db: Db, table: string): Promise<string[]> {
  const out: string[] = [];
  if (db.dialect === 'sqlite') {
    for (const ix of await db.all<{ name: string; unique: number; origin: string; partial: number }>('SELECT * FROM pragma_index_list(?)', [table])) {
      if (ix.origin === 'pk') continue;
      const cols = (await db.all<{ name: string }>('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [ix.name])).map((c) => c.name);
      const sql = (await db.all<{ sql: string | null }>('SELECT sql FROM sqlite_master WHERE name = ?', [ix.name]))[0]?.sql ?? '';
      const where = ix.partial ? ` WHERE ${/WHERE\s+(.*)$/is.exec(sql)![1]!.replace(/`/g, '').trim()}` : '';
      out.push(`${ix.origin === 'u' ? '*' : ix.name}${ix.unique ? ' UNIQUE' : ''} (${cols.join(', ')})${where}`);
    }
  } else {
    const rows = await db.all<{ n: string; nu: number; c: string; p: number | null }>(
      'SELECT index_name AS n, non_unique AS nu, column_name AS c, sub_part AS p FROM information_schema.statistics ' +
        "WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' ORDER BY index_name, seq_in_index",
      [table],
    );
    const byName = new Map<string, { unique: boolean; cols: string[] }>();
    for (const r of rows) {
      const e = byName.get(r.n) ?? { unique: Number(r.nu) === 0, cols: [] };
      e.cols.push(r.p ? `${r.c}(${r.p})` : r.c);
      byName.set(r.n, e);
    }
    for (const [name, e] of byName) out.push(`${name}${e.unique ? ' UNIQUE' : ''} (${e.cols.join(', ')})`);
  }
  return out.sort();
}

const SIMPLE_TYPES = ['mlmd.Dataset', 'mlmd.Model', 'mlmd.Metrics', 'mlmd.Statistics', 'mlmd.Train', 'mlmd.Transform', 'mlmd.Process', 'mlmd.Evaluate', 'mlmd.Deploy'];

async function simpleTypes(db: Db): Promise<unknown[]> {
  const rows = await db.all<{ id: number; name: string; version: string | null }>('SELECT `id`, `name`, `version` FROM `Type` ORDER BY `id`');
  return rows.map((t) => [Number(t.id), t.name, t.version]);
}

describe.each(DIALECTS)('the seed builds MLMD’s own schema on $dialect', ({ dialect, temp }) => {
  describe.each(ORIGINS)('%s', (origin) => {
    it.each(VERSIONS)('schema %i: every table, column and index as ml-metadata makes them', async (version) => {
      const tmp = await temp(`shape_${origin}_v${version}`);
      const db = await openDb(tmp.url, { create: true });
      try {
        await createMlmdSchema(db, version, origin);
        const columns = origin === 'upgraded' && dialect === 'mysql' ? upgradedMysqlColumns(version) : freshColumns(dialect, version);
        const wantIndexes = indexes(dialect, version, origin);
        for (const [table, spec] of Object.entries(columns)) {
          expect(await describeColumns(db, table), table).toEqual(spec.map((c) => typeFor(dialect, c)));
          expect(await describeIndexes(db, table), table).toEqual(wantIndexes[table] ?? []);
        }
        expect(await simpleTypes(db)).toEqual(SIMPLE_TYPES.map((n, i) => [i + 1, n, null]));
      } finally {
        await db.close();
        await tmp.drop();
      }
    });
  });
});

describe('the seed builds MLMD’s own schema on postgres', () => {
  it.each(VERSIONS)('schema %i: every table (lower-case names), column and index as ml-metadata makes them', async (version) => {
    const tmp = await tempPostgres(`shape_v${version}`);
    const db = await openDb(tmp.url, { ...MLMD_IDENTIFIERS, create: true });
    try {
      await createMlmdSchema(db, version);
      const tables = await db.all<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name");
      expect(tables.map((r) => r.t)).toEqual(Object.keys(freshColumns('postgres', version)).map((t) => t.toLowerCase()).sort());
      const wantIndexes = postgresIndexes(version);
      for (const [table, spec] of Object.entries(freshColumns('postgres', version))) {
        expect(await pgColumns(db, table), table).toEqual(spec.map((c) => typeFor('postgres', c)));
        expect(await pgIndexes(db, table), table).toEqual(wantIndexes[table]);
      }
      expect(await simpleTypes(db)).toEqual(SIMPLE_TYPES.map((n, i) => [i + 1, n, null]));
      // As MLMD's own inserts would have left it: the next type gets id 10.
      expect(await db.all('SELECT last_value AS v, is_called AS c FROM type_id_seq')).toEqual([{ v: 9, c: true }]);
      expect(await db.all('SELECT `schema_version` AS v FROM `MLMDEnv`')).toEqual([{ v: version }]);
    } finally {
      await db.close();
      await tmp.drop();
    }
  });

  it('refuses a connection that does not fold names, and an upgraded origin', async () => {
    const tmp = await tempPostgres('shape_refuse');
    const plain = await openDb(tmp.url, { create: true });
    const folded = await openDb(tmp.url, MLMD_IDENTIFIERS);
    try {
      await expect(createMlmdSchema(plain, 10)).rejects.toThrow(/MLMD_IDENTIFIERS/);
      await expect(createMlmdSchema(folded, 10, 'upgraded')).rejects.toThrow(/none was upgraded/);
      expect(await plain.all("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()")).toEqual([]);
    } finally {
      await plain.close();
      await folded.close();
      await tmp.drop();
    }
  });
});
