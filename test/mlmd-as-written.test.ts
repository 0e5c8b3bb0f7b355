/**
 * MLMD databases as ml-metadata itself writes them, rather than as our seed happens to: rows with
 * the library's conventions (autoincrement ids after the simple types, NULL for unset fields, `''`
 * for an unset uri, doubles as `std::to_string` prints them, base64 proto_value text, booleans as
 * 0/1 — on PostgreSQL TRUE/FALSE and proto_value as raw bytes —, the value-less row a downgrade from
 * schema 10 leaves), in the tables of schema 8, 9 and 10 as created at that version or upgraded in
 * place (PostgreSQL: created at 10, taken down by MLMD's downgrade), and on MySQL sent through the
 * library's latin1 client connection. Each is read through extract, the shim's --mlmd backend and, for the text,
 * a whole migration.
 */
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Param, type Queryable } from '../src/db/connection.ts';
import { asLatin1Client, fromLatin1Client } from '../src/extract/latin1-client-text.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { openMlmdSource, type MlmdSource } from '../src/extract/mlmd-reader.ts';
import { encodeStructValue } from '../src/extract/values.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { verify } from '../src/verify/verifier.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { createMlmdSchema, type MlmdSchemaOrigin, type MlmdSchemaVersion } from '../src/seed/mlmd-ddl.ts';
import { parseFilterQuery } from '../src/shim/filter-query.ts';
import { MlmdBackend } from '../src/shim/mlmd-backend.ts';
import { MLMD_DIALECTS, type TempDatabase, tempMariaDb, tempSqlite } from './helpers/databases.ts';
import { openLatin1Writer } from './helpers/mlmd-latin1-client.ts';

const VERSIONS: MlmdSchemaVersion[] = [8, 9, 10];
const ORIGINS: MlmdSchemaOrigin[] = ['fresh', 'upgraded'];

// ------------------------------------------------------------------ rows as the library writes them

const AnyType = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/any.proto')!).lookupType('google.protobuf.Any');
const PROTO_TYPE_URL = 'type.googleapis.com/google.protobuf.StringValue';
const PROTO_VALUE = Buffer.from(AnyType.encode(AnyType.fromObject({ type_url: PROTO_TYPE_URL, value: Buffer.from([0x0a, 0x02, 0x68, 0x69]) })).finish()).toString('base64');

const PIPELINE_NAME = 'pïpeline — 日本';
const DISPLAY_NAME = 'Træning étape 訓練 😀';
const MODEL_URI = 'gs://bücket/モデル/1';
const OUTPUT_KEY = 'mödel';
const PROPERTY_KEY = 'ключ';

/**
 * A one-run KFP 2.x database written as MLMD writes: ids from AUTOINCREMENT (SERIAL) after the nine
 * simple types, unset fields NULL, an unset uri `''`, a double as `std::to_string` prints it,
 * booleans 0/1 and a proto_value as base64 text — on PostgreSQL booleans TRUE/FALSE and the
 * proto_value's raw bytes (`decode('<b64>', 'base64')`, mlmd-source.md §1.3). On MySQL every
 * statement goes through the library's latin1 client. Schemas 8 and 9 also hold the value-less
 * property row a downgrade from 10 leaves behind.
 */
async function writeAsMlmd(w: Queryable, version: MlmdSchemaVersion): Promise<void> {
  const pg = w.dialect === 'postgres';
  const flag = (on: boolean): Param => (pg ? on : on ? 1 : 0);
  const sql = (table: string, row: Record<string, Param>) => {
    const cols = Object.keys(row);
    return w.run(`INSERT INTO \`${table}\` (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, Object.values(row));
  };
  const ext = (id: string): Record<string, Param> => (version >= 9 ? { external_id: id } : {});
  for (const [name, kind] of [['system.PipelineRun', 2], ['system.Pipeline', 2], ['system.ContainerExecution', 0], ['system.Model', 1], ['system.Dataset', 1]] as const) {
    await sql('Type', { name, type_kind: kind, version: null, description: null, ...(kind === 0 ? { input_type: null, output_type: null } : {}), ...ext(`type-${name}`) });
  }
  await sql('ParentType', { type_id: 14, parent_type_id: 1 }); // system.Dataset's base_type DATASET
  await sql('Context', { type_id: 11, name: PIPELINE_NAME, create_time_since_epoch: 1_700_000_000_000, last_update_time_since_epoch: 1_700_000_000_000 });
  await sql('Context', { type_id: 10, name: 'run-1', create_time_since_epoch: 1_700_000_000_100, last_update_time_since_epoch: 1_700_000_000_100, ...ext('ctx-é') });
  await sql('ParentContext', { context_id: 2, parent_context_id: 1 });
  await sql('Execution', { type_id: 12, last_known_state: 3, name: null, create_time_since_epoch: 1_700_000_000_200, last_update_time_since_epoch: 1_700_000_000_900, ...ext('exec-ñ') });
  const prop = (table: string, owner: string, id: number, name: string, value: Record<string, Param>) =>
    sql(table, { [owner]: id, name, is_custom_property: flag(true), ...value });
  await prop('ExecutionProperty', 'execution_id', 1, 'display_name', { string_value: DISPLAY_NAME });
  await prop('ExecutionProperty', 'execution_id', 1, 'task_name', { string_value: 'train' });
  await prop('ExecutionProperty', 'execution_id', 1, PROPERTY_KEY, { string_value: 'значение' });
  await prop('ExecutionProperty', 'execution_id', 1, 'inputs', { string_value: encodeStructValue({ p: 'ü', n: 1 }) });
  await prop('ExecutionProperty', 'execution_id', 1, 'ratio', { double_value: '0.333333' });
  await prop('ExecutionProperty', 'execution_id', 1, 'count', { int_value: 7 });
  if (version >= 10) {
    await prop('ExecutionProperty', 'execution_id', 1, 'flag', { bool_value: flag(true) });
    await prop('ExecutionProperty', 'execution_id', 1, 'payload', { proto_value: pg ? Buffer.from(PROTO_VALUE, 'base64') : PROTO_VALUE });
  } else {
    await prop('ExecutionProperty', 'execution_id', 1, 'flag', {});
  }
  await sql('Artifact', { type_id: 13, uri: MODEL_URI, state: 2, name: null, create_time_since_epoch: 1_700_000_000_800, last_update_time_since_epoch: 1_700_000_000_800 });
  await sql('Artifact', { type_id: 14, uri: '', state: null, name: null, create_time_since_epoch: 1_700_000_000_150, last_update_time_since_epoch: 1_700_000_000_150 });
  await prop('ArtifactProperty', 'artifact_id', 1, 'display_name', { string_value: 'modèle' });
  await sql('Event', { artifact_id: 2, execution_id: 1, type: 3, milliseconds_since_epoch: 1_700_000_000_300 });
  await sql('Event', { artifact_id: 1, execution_id: 1, type: 4, milliseconds_since_epoch: 1_700_000_000_800 });
  await sql('EventPath', { event_id: 1, is_index_step: flag(true), step_index: 0, step_key: null });
  await sql('EventPath', { event_id: 1, is_index_step: flag(false), step_index: null, step_key: 'dåta' });
  await sql('EventPath', { event_id: 2, is_index_step: flag(false), step_index: null, step_key: OUTPUT_KEY });
  for (const context_id of [1, 2]) {
    await sql('Association', { context_id, execution_id: 1 });
    for (const artifact_id of [1, 2]) await sql('Attribution', { context_id, artifact_id });
  }
}

async function buildAsMlmd(url: string, version: MlmdSchemaVersion, origin: MlmdSchemaOrigin): Promise<void> {
  const db = await openDb(url, { ...MLMD_IDENTIFIERS, create: true });
  try {
    await createMlmdSchema(db, version, origin);
  } finally {
    await db.close();
  }
  const w = db.dialect === 'mysql' ? await openLatin1Writer(url) : await openDb(url, MLMD_IDENTIFIERS);
  try {
    await writeAsMlmd(w, version);
  } finally {
    await w.close();
  }
}

describe.each(MLMD_DIALECTS)('a database written by ml-metadata on $dialect', ({ dialect, temp }) => {
  // No MLMD release created a PostgreSQL database before schema 10, so none was upgraded in place
  // (src/seed/mlmd-ddl.ts); its 9 and 8 are `fresh`, built as MLMD's downgrade leaves them.
  describe.each(dialect === 'postgres' ? (['fresh'] as const) : ORIGINS)('%s', (origin) => {
    describe.each(VERSIONS)('schema %i', (version) => {
      let tmp: TempDatabase;
      let source: MlmdSource;
      let backend: MlmdBackend;

      beforeAll(async () => {
        tmp = await temp(`as_mlmd_${origin}_v${version}`);
        await buildAsMlmd(tmp.url, version, origin);
        source = await openMlmdSource(tmp.url);
        backend = new MlmdBackend(await openMlmdSource(tmp.url));
      });
      afterAll(async () => {
        await source?.close();
        await backend?.close();
        await tmp?.drop();
      });

      it('extract reads the run with every value as written', async () => {
        expect(source.schemaVersion).toBe(version);
        expect((await source.readTypes()).slice(9).map((t) => [t.id, t.name, t.version])).toEqual([
          [10, 'system.PipelineRun', null],
          [11, 'system.Pipeline', null],
          [12, 'system.ContainerExecution', null],
          [13, 'system.Model', null],
          [14, 'system.Dataset', null],
        ]);
        expect((await source.listRunContexts()).map((c) => c.name)).toEqual(['run-1']);
        const [bundle] = await source.readRunBundles([2], new Map());
        expect(bundle!.pipelineContext?.name).toBe(PIPELINE_NAME);
        expect(bundle!.runContext.externalId).toBe(version >= 9 ? 'ctx-é' : null);
        const [e] = bundle!.executions;
        expect(e!.name).toBeNull();
        expect(e!.externalId).toBe(version >= 9 ? 'exec-ñ' : null);
        expect(e!.customProperties.display_name).toEqual({ kind: 'string', value: DISPLAY_NAME });
        expect(e!.customProperties[PROPERTY_KEY]).toEqual({ kind: 'string', value: 'значение' });
        expect(e!.customProperties.inputs).toEqual({ kind: 'struct', value: { p: 'ü', n: 1 } });
        expect(e!.customProperties.ratio).toEqual({ kind: 'double', value: 0.333333 });
        expect(e!.customProperties.count).toEqual({ kind: 'int', value: 7 });
        if (version >= 10) {
          expect(e!.customProperties.flag).toEqual({ kind: 'bool', value: true });
          expect(e!.customProperties.payload).toMatchObject({ kind: 'proto', typeUrl: PROTO_TYPE_URL });
        } else {
          expect(e!.customProperties.flag).toMatchObject({ kind: 'corrupt', reason: 'no value column is set' });
        }
        expect(bundle!.artifacts.map((a) => [a.uri, a.state, a.name, a.customProperties.display_name ?? null])).toEqual([
          [MODEL_URI, 2, null, { kind: 'string', value: 'modèle' }],
          ['', null, null, null],
        ]);
        expect(bundle!.events.map((ev) => [ev.artifactId, ev.type, ev.path])).toEqual([
          [2, 3, [{ index: 0 }, { key: 'dåta' }]],
          [1, 4, [{ key: OUTPUT_KEY }]],
        ]);
        expect(bundle!.artifactOrigins[1]).toEqual({ executionId: 1, executionType: 'system.ContainerExecution', key: OUTPUT_KEY });
      });

      it('the shim’s --mlmd backend reads it and finds nodes by their text values', async () => {
        const dataset = (await backend.types('artifact')).find((t) => t.name === 'system.Dataset');
        expect(dataset).toMatchObject({ version: null, description: null, baseTypeName: 'mlmd.Dataset', externalId: version >= 9 ? 'type-system.Dataset' : null });
        expect((await backend.types('execution')).find((t) => t.id === 12)).toMatchObject({ inputType: null, outputType: null });
        expect((await backend.nodeKeys('artifact', { by: 'uri', uris: [MODEL_URI] })).map((k) => k.id)).toEqual([1]);
        expect((await backend.nodeKeys('context', { by: 'type', typeId: 11, name: PIPELINE_NAME })).map((k) => k.id)).toEqual([1]);
        expect((await backend.nodeKeys('context', { by: 'externalId', externalIds: ['ctx-é'] })).map((k) => k.id)).toEqual(version >= 9 ? [2] : []);
        const byDisplayName = parseFilterQuery(`custom_properties.display_name.string_value = '${DISPLAY_NAME}'`, 'execution');
        expect(await backend.filterCandidates('execution', { by: 'all' }, byDisplayName)).toEqual([1]);
        const byKey = parseFilterQuery(`custom_properties.\`${PROPERTY_KEY}\`.string_value IN ('значение', 'x')`, 'execution');
        expect(await backend.filterCandidates('execution', { by: 'all' }, byKey)).toEqual([1]);
        const [node] = await backend.nodes('execution', [1]);
        expect(node!.customProperties.display_name).toEqual({ kind: 'string', value: DISPLAY_NAME });
        const events = await backend.events('artifact', [1]);
        expect(events.map((ev) => ev.path)).toEqual([[{ key: OUTPUT_KEY }]]);
      });
    });
  });
});

// ------------------------------------------------------------------ the latin1 client's text

describe('text from MLMD’s latin1 MySQL client', () => {
  const SAMPLES = ['plain ascii', '\ufeffBOM first', 'café', 'Træning — étape', '訓練 😀', '€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ', '\u0081\u008d\u008f\u0090\u009d', 'Ω≈ç√∫ µ≤≥÷'];

  it('is undone exactly, and text no latin1 client wrote is left alone', () => {
    for (const s of SAMPLES) {
      expect(fromLatin1Client(asLatin1Client(s))).toBe(s);
      // Properly stored text: a character no latin1 byte stands for, or bytes that are not UTF-8.
      expect(fromLatin1Client(s)).toBe(s);
    }
    expect(asLatin1Client('é')).toBe('Ã©');
    expect(asLatin1Client('—')).toBe('â€”');
  });

  describe('against the server', () => {
    let tmp: TempDatabase;
    beforeAll(async () => {
      tmp = await tempMariaDb('latin1_client');
    });
    afterAll(async () => tmp?.drop());

    it('stores what asLatin1Client says in utf8mb4 and latin1 columns alike, and the source reads it back', async () => {
      const everyByte = Array.from({ length: 0x800 - 0x80 }, (_, i) => String.fromCodePoint(0x80 + i)).join('') + '\u0800\uffff😀\u{10ffff}';
      const texts = [...SAMPLES, everyByte];
      const db = await openDb(tmp.url);
      await db.run('CREATE TABLE `u` (`i` INT, `s` MEDIUMTEXT) CHARACTER SET utf8mb4');
      await db.run('CREATE TABLE `l` (`i` INT, `s` MEDIUMTEXT) CHARACTER SET latin1');
      // An MLMD database, so that the source opens it; the probe tables ride along.
      await createMlmdSchema(db, 10);
      const w = await openLatin1Writer(tmp.url);
      for (const [i, s] of texts.entries()) for (const t of ['u', 'l']) await w.run(`INSERT INTO \`${t}\` VALUES (?, ?)`, [i, s]);
      await w.close();
      for (const t of ['u', 'l']) {
        const raw = await db.all<{ s: string }>(`SELECT \`s\` FROM \`${t}\` ORDER BY \`i\``);
        expect(raw.map((r) => r.s)).toEqual(texts.map(asLatin1Client));
      }
      await db.close();
      const source = await openMlmdSource(tmp.url);
      try {
        for (const t of ['u', 'l']) expect((await source.db.all<{ s: string }>(`SELECT \`s\` FROM \`${t}\` ORDER BY \`i\``)).map((r) => r.s)).toEqual(texts);
        expect(source.spellings('é')).toEqual(['é', 'Ã©']);
        expect(source.spellings('ascii')).toEqual(['ascii']);
      } finally {
        await source.close();
      }
    });

    it('leaves alone text a UTF-8 client stored', async () => {
      const db = await openDb(tmp.url);
      await db.run('CREATE TABLE `p` (`i` INT, `s` MEDIUMTEXT) CHARACTER SET utf8mb4');
      for (const [i, s] of SAMPLES.entries()) await db.run('INSERT INTO `p` VALUES (?, ?)', [i, s]);
      await db.close();
      const source = await openMlmdSource(tmp.url);
      try {
        expect((await source.db.all<{ s: string }>('SELECT `s` FROM `p` ORDER BY `i`')).map((r) => r.s)).toEqual(SAMPLES);
      } finally {
        await source.close();
      }
    });
  });

  it('migrates a seeded MySQL deployment whose non-ASCII text MLMD wrote', async () => {
    const mlmd = await tempMariaDb('latin1_migrate');
    const kfp = await tempSqlite('latin1_migrate_kfp');
    try {
      const m = await openDb(mlmd.url, { create: true });
      const k = await openDb(kfp.url, { create: true });
      await seedDatabases(m, k, { runs: 1, seed: 3 });
      const [model] = await m.all<{ id: number }>(
        "SELECT a.`id` FROM `Artifact` a JOIN `Type` t ON t.`id` = a.`type_id` WHERE t.`name` = 'system.Model' ORDER BY a.`id` LIMIT 1",
      );
      await m.close();
      await k.close();
      const w = await openLatin1Writer(mlmd.url);
      await w.run('UPDATE `Artifact` SET `uri` = ? WHERE `id` = ?', [MODEL_URI, model!.id]);
      await w.run("DELETE FROM `ArtifactProperty` WHERE `artifact_id` = ? AND `name` = 'display_name'", [model!.id]);
      await w.run("INSERT INTO `ArtifactProperty` (`artifact_id`, `name`, `is_custom_property`, `string_value`) VALUES (?, 'display_name', 1, ?)", [model!.id, DISPLAY_NAME]);
      await w.close();

      const summary = await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(summary.runs.migrated).toBe(1);
      const target = await openDb(kfp.url, { readOnly: true });
      try {
        const rows = await target.all<{ URI: string; Name: string }>('SELECT `URI`, `Name` FROM `artifacts` WHERE `URI` LIKE ?', ['%bücket%']);
        expect(rows).toEqual([{ URI: MODEL_URI, Name: DISPLAY_NAME }]);
      } finally {
        await target.close();
      }
      const checked = await verify({ mlmdUrl: mlmd.url, kfpUrl: kfp.url });
      expect(checked.runs).toMatchObject({ checked: 1, drifted: 0 });
    } finally {
      await mlmd.drop();
      await kfp.drop();
    }
  }, 60_000);
});
