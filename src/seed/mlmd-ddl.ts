/**
 * Builds an empty MLMD database the way the MLMD server would leave it after initialisation,
 * for schema versions 8, 9 and 10, on MySQL/MariaDB, SQLite and PostgreSQL (mlmd-source.md §1).
 * Used by `seed` and by tests; the migration itself never writes MLMD.
 *
 * Version differences: v9 added `external_id` to Type/Artifact/Execution/Context (with an index each);
 * v10 added `proto_value` and `bool_value` to the three property tables.
 *
 * Origin: a database MLMD created at this version (`fresh`), or one it created long ago (ml-metadata
 * 0.13.2) and upgraded in place since (`upgraded`). On SQLite the upgrades rebuild every reshaped
 * table in the current layout, so both are the same. On MySQL they ALTER tables instead: `Type` keeps
 * `type_kind` where `is_artifact_type` was, with `version` and `description` after the old columns,
 * and `external_id` comes last with a named UNIQUE constraint (`Unique<Table>ExternalId`) rather
 * than the fresh layout's unnamed one.
 *
 * PostgreSQL: MLMD's PostgreSQL backend (ml-metadata 1.14 and later) only ever created schema 10,
 * with unquoted names, so the tables are `type`, `artifact`, … (the connection must be opened with
 * MLMD_IDENTIFIERS). A PostgreSQL database at 9 or 8 exists only through MLMD's downgrade
 * (`downgrade_db_schema_version`), which is what `fresh` builds there: to 9 it rebuilds the three
 * property tables without `proto_value` and `bool_value` (as `<Table>Temp`, renamed back, so their
 * primary keys are named `<table>temp_pkey`) and re-creates their value indexes as partial ones;
 * to 8 it changes nothing but MLMDEnv (ml-metadata has no PostgreSQL queries for that step), so
 * `external_id` stays. Nothing was ever `upgraded` on PostgreSQL.
 */
import type { Queryable } from '../db/connection.ts';
import type { Dialect } from '../db/url.ts';

export type MlmdSchemaVersion = 8 | 9 | 10;
export const SUPPORTED_MLMD_SCHEMA_VERSIONS: readonly MlmdSchemaVersion[] = [8, 9, 10];

export type MlmdSchemaOrigin = 'fresh' | 'upgraded';

/** The nine built-in types MLMD upserts on init, in id order (ids 1–9 in a fresh database). */
export const MLMD_SIMPLE_TYPES: readonly { name: string; typeKind: 0 | 1 }[] = [
  { name: 'mlmd.Dataset', typeKind: 1 },
  { name: 'mlmd.Model', typeKind: 1 },
  { name: 'mlmd.Metrics', typeKind: 1 },
  { name: 'mlmd.Statistics', typeKind: 1 },
  { name: 'mlmd.Train', typeKind: 0 },
  { name: 'mlmd.Transform', typeKind: 0 },
  { name: 'mlmd.Process', typeKind: 0 },
  { name: 'mlmd.Evaluate', typeKind: 0 },
  { name: 'mlmd.Deploy', typeKind: 0 },
];

interface Flavour {
  /** Primary key column of the node tables. */
  autoPk: string;
  /** `Type.id` (MySQL spells it INT rather than INTEGER; same thing). */
  typePk: string;
  /** `MLMDEnv.schema_version`. */
  envPk: string;
  /** Node timestamps and event time: 64-bit on MySQL and PostgreSQL; SQLite INT is 64-bit anyway. */
  millis: string;
  longText: string;
  blob: string;
  double: string;
  /** `is_custom_property`, `is_index_step`. */
  flag: string;
  typeKind: string;
  /** Property value indexes: MySQL indexes a 255-char prefix, SQLite makes them partial (PostgreSQL below schema 10 too). */
  stringIndexColumn: string;
  partialIndexes: (version: MlmdSchemaVersion) => boolean;
  uriIndexColumn: string;
  /** Whether MLMD names the UNIQUE(type_id, name) and event constraints (MySQL and PostgreSQL do). */
  namedUniques: boolean;
}

const FLAVOURS: Record<Dialect, Flavour> = {
  sqlite: {
    autoPk: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    typePk: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    envPk: 'INTEGER PRIMARY KEY',
    millis: 'INT',
    longText: 'TEXT',
    blob: 'BLOB',
    double: 'DOUBLE',
    flag: 'TINYINT(1)',
    typeKind: 'TINYINT(1)',
    stringIndexColumn: '`string_value`',
    partialIndexes: () => true,
    uriIndexColumn: '`uri`',
    namedUniques: false,
  },
  mysql: {
    autoPk: 'INTEGER PRIMARY KEY AUTO_INCREMENT',
    typePk: 'INT PRIMARY KEY AUTO_INCREMENT',
    envPk: 'INTEGER PRIMARY KEY',
    millis: 'BIGINT',
    longText: 'MEDIUMTEXT',
    blob: 'MEDIUMBLOB',
    double: 'DOUBLE',
    flag: 'TINYINT(1)',
    typeKind: 'TINYINT(1)',
    stringIndexColumn: '`string_value`(255)',
    partialIndexes: () => false,
    uriIndexColumn: '`uri`(255)',
    namedUniques: true,
  },
  postgres: {
    autoPk: 'SERIAL PRIMARY KEY',
    typePk: 'SERIAL PRIMARY KEY',
    envPk: 'INT PRIMARY KEY',
    millis: 'BIGINT',
    longText: 'TEXT',
    blob: 'BYTEA',
    double: 'DOUBLE PRECISION',
    flag: 'BOOLEAN',
    typeKind: 'SMALLINT',
    stringIndexColumn: '`string_value`',
    // Schema 10 as created; 9 and 8 after the downgrade, which re-creates them partial.
    partialIndexes: (version) => version < 10,
    uriIndexColumn: '`uri`',
    namedUniques: true,
  },
};

/** Schema 9 added `external_id`; on PostgreSQL the downgrade to 8 keeps it (see above). */
export function hasExternalIds(dialect: Dialect, version: MlmdSchemaVersion): boolean {
  return version >= 9 || dialect === 'postgres';
}

function tableStatements(dialect: Dialect, version: MlmdSchemaVersion, origin: MlmdSchemaOrigin): string[] {
  const f = FLAVOURS[dialect];
  const hasExternalId = hasExternalIds(dialect, version);
  const hasTypedValues = version >= 10;
  const altered = origin === 'upgraded' && dialect === 'mysql';
  // The downgrade's rebuilt property tables keep the primary key names of their `<Table>Temp` copies.
  const downgradedProperties = dialect === 'postgres' && version < 10;
  // Where `external_id` sits: among the columns when created so, appended by ALTER TABLE otherwise.
  const externalId = (place: 'among' | 'last', table: string) => {
    if (!hasExternalId || (place === 'last') !== altered) return [];
    return altered ? ['`external_id` VARCHAR(255)', `CONSTRAINT Unique${table}ExternalId UNIQUE(\`external_id\`)`] : ['`external_id` VARCHAR(255) UNIQUE'];
  };
  const named = (name: string, cols: string) => (f.namedUniques ? `CONSTRAINT ${name} UNIQUE(${cols})` : `UNIQUE(${cols})`);
  const table = (name: string, columns: string[]) => `CREATE TABLE IF NOT EXISTS \`${name}\` (${columns.join(', ')})`;
  const propertyTable = (name: string, owner: string) =>
    table(name, [
      `\`${owner}\` INT NOT NULL`,
      '`name` VARCHAR(255) NOT NULL',
      `\`is_custom_property\` ${f.flag} NOT NULL`,
      '`int_value` INT',
      `\`double_value\` ${f.double}`,
      `\`string_value\` ${f.longText}`,
      `\`byte_value\` ${f.blob}`,
      ...(hasTypedValues ? [`\`proto_value\` ${f.blob}`, '`bool_value` BOOLEAN'] : []),
      `${downgradedProperties ? `CONSTRAINT \`${name}Temp_pkey\` ` : ''}PRIMARY KEY (\`${owner}\`, \`name\`, \`is_custom_property\`)`,
    ]);
  const times = [
    `\`create_time_since_epoch\` ${f.millis} NOT NULL DEFAULT 0`,
    `\`last_update_time_since_epoch\` ${f.millis} NOT NULL DEFAULT 0`,
  ];
  return [
    table(
      'Type',
      altered
        ? [
            `\`id\` ${f.typePk}`,
            '`name` VARCHAR(255) NOT NULL',
            '`type_kind` TINYINT(1) NOT NULL',
            '`input_type` TEXT',
            '`output_type` TEXT',
            '`version` VARCHAR(255)',
            '`description` TEXT',
            ...externalId('last', 'Type'),
          ]
        : [
            `\`id\` ${f.typePk}`,
            '`name` VARCHAR(255) NOT NULL',
            '`version` VARCHAR(255)',
            `\`type_kind\` ${f.typeKind} NOT NULL`,
            '`description` TEXT',
            '`input_type` TEXT',
            '`output_type` TEXT',
            ...externalId('among', 'Type'),
          ],
    ),
    table('ParentType', ['`type_id` INT NOT NULL', '`parent_type_id` INT NOT NULL', 'PRIMARY KEY (`type_id`, `parent_type_id`)']),
    table('TypeProperty', ['`type_id` INT NOT NULL', '`name` VARCHAR(255) NOT NULL', '`data_type` INT NULL', 'PRIMARY KEY (`type_id`, `name`)']),
    table('Artifact', [
      `\`id\` ${f.autoPk}`,
      '`type_id` INT NOT NULL',
      '`uri` TEXT',
      '`state` INT',
      '`name` VARCHAR(255)',
      ...externalId('among', 'Artifact'),
      ...times,
      named('UniqueArtifactTypeName', '`type_id`, `name`'),
      ...externalId('last', 'Artifact'),
    ]),
    propertyTable('ArtifactProperty', 'artifact_id'),
    table('Execution', [
      `\`id\` ${f.autoPk}`,
      '`type_id` INT NOT NULL',
      '`last_known_state` INT',
      '`name` VARCHAR(255)',
      ...externalId('among', 'Execution'),
      ...times,
      named('UniqueExecutionTypeName', '`type_id`, `name`'),
      ...externalId('last', 'Execution'),
    ]),
    propertyTable('ExecutionProperty', 'execution_id'),
    table('Context', [
      `\`id\` ${f.autoPk}`,
      '`type_id` INT NOT NULL',
      '`name` VARCHAR(255) NOT NULL',
      ...externalId('among', 'Context'),
      ...times,
      'UNIQUE(`type_id`, `name`)',
      ...externalId('last', 'Context'),
    ]),
    propertyTable('ContextProperty', 'context_id'),
    table('ParentContext', ['`context_id` INT NOT NULL', '`parent_context_id` INT NOT NULL', 'PRIMARY KEY (`context_id`, `parent_context_id`)']),
    table('Event', [
      `\`id\` ${f.autoPk}`,
      '`artifact_id` INT NOT NULL',
      '`execution_id` INT NOT NULL',
      '`type` INT NOT NULL',
      `\`milliseconds_since_epoch\` ${f.millis}`,
      named('UniqueEvent', '`artifact_id`, `execution_id`, `type`'),
    ]),
    // No key and no ordering column: step order is the physical row order.
    table('EventPath', ['`event_id` INT NOT NULL', `\`is_index_step\` ${f.flag} NOT NULL`, '`step_index` INT', '`step_key` TEXT']),
    table('Association', [`\`id\` ${f.autoPk}`, '`context_id` INT NOT NULL', '`execution_id` INT NOT NULL', 'UNIQUE(`context_id`, `execution_id`)']),
    table('Attribution', [`\`id\` ${f.autoPk}`, '`context_id` INT NOT NULL', '`artifact_id` INT NOT NULL', 'UNIQUE(`context_id`, `artifact_id`)']),
    table('MLMDEnv', [`\`schema_version\` ${f.envPk}`]),
  ];
}

function indexStatements(dialect: Dialect, version: MlmdSchemaVersion): string[] {
  const f = FLAVOURS[dialect];
  const index = (name: string, tableName: string, columns: string, where?: string) =>
    dialect === 'mysql'
      ? `ALTER TABLE \`${tableName}\` ADD INDEX \`${name}\` (${columns})`
      : `CREATE INDEX IF NOT EXISTS \`${name}\` ON \`${tableName}\` (${columns})${where && f.partialIndexes(version) ? ` WHERE ${where}` : ''}`;
  const out = [
    index('idx_artifact_uri', 'Artifact', f.uriIndexColumn),
    index('idx_type_name', 'Type', '`name`'),
    index('idx_event_execution_id', 'Event', '`execution_id`'),
    index('idx_eventpath_event_id', 'EventPath', '`event_id`'),
    index('idx_parentcontext_parent_context_id', 'ParentContext', '`parent_context_id`'),
  ];
  for (const node of ['artifact', 'execution', 'context']) {
    const tableName = node[0]!.toUpperCase() + node.slice(1);
    out.push(index(`idx_${node}_create_time_since_epoch`, tableName, '`create_time_since_epoch`'));
    out.push(index(`idx_${node}_last_update_time_since_epoch`, tableName, '`last_update_time_since_epoch`'));
    const props = `${tableName}Property`;
    out.push(index(`idx_${node}_property_int`, props, '`name`, `is_custom_property`, `int_value`', '`int_value` IS NOT NULL'));
    out.push(index(`idx_${node}_property_double`, props, '`name`, `is_custom_property`, `double_value`', '`double_value` IS NOT NULL'));
    out.push(index(`idx_${node}_property_string`, props, `\`name\`, \`is_custom_property\`, ${f.stringIndexColumn}`, '`string_value` IS NOT NULL'));
    if (hasExternalIds(dialect, version)) out.push(index(`idx_${node}_external_id`, tableName, '`external_id`'));
  }
  if (hasExternalIds(dialect, version)) out.push(index('idx_type_external_id', 'Type', '`external_id`'));
  return out;
}

/** The statements that make an empty schema of `version` (tables, then indexes), without rows. */
export function mlmdSchemaStatements(dialect: Dialect, version: MlmdSchemaVersion, origin: MlmdSchemaOrigin = 'fresh'): string[] {
  return [...tableStatements(dialect, version, origin), ...indexStatements(dialect, version)];
}

/**
 * Creates the 15 MLMD tables with their indexes in an empty database, records `version` in
 * `MLMDEnv` and inserts the nine `mlmd.*` simple types with ids 1–9.
 */
export async function createMlmdSchema(db: Queryable, version: MlmdSchemaVersion, origin: MlmdSchemaOrigin = 'fresh'): Promise<void> {
  if (!SUPPORTED_MLMD_SCHEMA_VERSIONS.includes(version)) {
    throw new Error(`createMlmdSchema: schema version ${String(version)} is not one of ${SUPPORTED_MLMD_SCHEMA_VERSIONS.join(', ')}`);
  }
  if (db.dialect === 'postgres') {
    if (db.storedName('Type') !== 'type') throw new Error('createMlmdSchema: open the PostgreSQL connection with MLMD_IDENTIFIERS, as MLMD names its tables unquoted');
    if (origin === 'upgraded') throw new Error('createMlmdSchema: no MLMD release created a PostgreSQL database before schema 10, so none was upgraded');
  }
  for (const sql of mlmdSchemaStatements(db.dialect, version, origin)) await db.run(sql);
  await db.run('INSERT INTO `MLMDEnv` (`schema_version`) VALUES (?)', [version]);
  for (const [i, t] of MLMD_SIMPLE_TYPES.entries()) {
    await db.run('INSERT INTO `Type` (`id`, `name`, `type_kind`) VALUES (?, ?, ?)', [i + 1, t.name, t.typeKind]);
  }
  await syncIdSequences(db);
}

/** The tables whose `id` MLMD leaves to the database (AUTO_INCREMENT, AUTOINCREMENT, SERIAL). */
const SERIAL_TABLES = ['Type', 'Artifact', 'Execution', 'Context', 'Event', 'Association', 'Attribution'] as const;

/**
 * PostgreSQL: moves each SERIAL's sequence up to the table's highest id. The seed writes explicit ids
 * (so that a seed always gives the same ones), which a sequence does not notice, and an MLMD server
 * started on the database afterwards would hand out ids already taken. MySQL and SQLite move their
 * counters past explicit ids themselves.
 */
export async function syncIdSequences(db: Queryable): Promise<void> {
  if (db.dialect !== 'postgres') return;
  for (const table of SERIAL_TABLES) {
    await db.all(
      `SELECT setval(pg_get_serial_sequence(?, 'id'), GREATEST(MAX(\`id\`), 1), MAX(\`id\`) IS NOT NULL) AS v FROM \`${table}\``,
      [db.storedName(table)],
    );
  }
}
