/**
 * IdentityKey of imported artifacts (kfp-facts.md §C.5): the hash of computeArtifactIdentityKey,
 * the name KFP 3's importer gives an import, the candidates the mapping carries, and how the
 * migration hands a shared key to exactly one row per namespace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/db/connection.ts';
import { ensureBridgeTables } from '../src/load/bridge-tables.ts';
import { assignIdentityKeys } from '../src/load/identity-keys.ts';
import { ensureTargetTables } from '../src/load/schema.ts';
import { writeIdMap } from '../src/load/writer.ts';
import { inferArtifactName } from '../src/transform/artifacts.ts';
import { mapRun } from '../src/transform/forward.ts';
import { artifactIdentityKey, ids } from '../src/transform/identity.ts';
import { RunBuilder, str } from './helpers/bundle.ts';
import { tempSqlite, type TempDatabase } from './helpers/databases.ts';

describe('artifactIdentityKey', () => {
  it('hashes Type, URI, Name, Description and canonical Metadata as the KFP 3 store does', () => {
    // Derived independently with a shell (int32 Type, then each string behind its uint32 byte length):
    // printf '\x00\x00\x00\x03\x00\x00\x00\x22gs://public-datasets/iris/iris.csv\x00\x00\x00\x08iris.csv\x00\x00\x00\x00\x00\x00\x00\x10{"source":"uci"}' | sha256sum
    const row = { Type: 3, URI: 'gs://public-datasets/iris/iris.csv', Name: 'iris.csv', Description: '', Metadata: '{"source":"uci"}' };
    expect(artifactIdentityKey(row)).toBe('acef2f984530693075e6ad4321017109171e2f7e5a9dd4bc6fdff9b981072d04');
    // Metadata is compared as Go re-encodes it: key order and spacing do not matter, NULL is {}.
    expect(artifactIdentityKey({ ...row, Metadata: '{ "source" : "uci" }' })).toBe(artifactIdentityKey(row));
    expect(artifactIdentityKey({ ...row, Metadata: null })).toBe(artifactIdentityKey({ ...row, Metadata: '{}' }));
    expect(artifactIdentityKey({ ...row, Metadata: 'null' })).toBe(artifactIdentityKey({ ...row, Metadata: '{}' }));
    expect(artifactIdentityKey({ ...row, Description: null })).toBe(artifactIdentityKey(row));
    expect(artifactIdentityKey({ ...row, Type: 2 })).not.toBe(artifactIdentityKey(row));
  });
});

describe('inferArtifactName (KFP 3 importer)', () => {
  it.each([
    ['gs://public-datasets/iris/iris.csv', 'iris.csv'],
    ['s3://bucket/dir/', 'dir'],
    ['s3://bucket/a%20b.csv?versionId=3#x', 'a b.csv'],
    ['s3://bucket', '.'],
    ['s3://bucket/', '/'],
    ['https://minio.local/bucket/path/file.txt', 'file.txt'],
    ['oci://registry.io/models/llm:v1', 'llm:v1'],
    ['bucket/path/file.txt', 'file.txt'],
    ['bucket/path/', 'path'],
  ])('%s → %s', (uri, name) => {
    expect(inferArtifactName(uri)).toBe(name);
  });

  it('null where Go url.Parse fails (the importer imports nothing)', () => {
    expect(inferArtifactName('s3://bucket/%zz')).toBeNull();
    expect(inferArtifactName(':no-scheme')).toBeNull();
  });
});

describe('the mapping carries an imported artifact\'s key in the id map, not in the row', () => {
  it('importer outputs get a candidate; other artifacts do not', () => {
    const b = new RunBuilder('run-import');
    const root = b.root();
    const imp = b.exec('system.ImporterExecution', { task_name: str('importer'), display_name: str(''), parent_dag_id: { kind: 'int', value: root } });
    const a = b.artifact('system.Dataset', 'gs://public-datasets/iris/iris.csv', { source: str('uci') });
    b.event(a, imp, 'OUTPUT', 'artifact');
    const t = b.exec('system.ContainerExecution', { task_name: str('t'), parent_dag_id: { kind: 'int', value: root } });
    const out = b.artifact('system.Model', 'minio://x/model', { display_name: str('model') });
    b.event(out, t, 'OUTPUT', 'model');
    const m = mapRun(b.build());
    const row = m.artifacts.find((r) => r.UUID === ids.artifact(a, 'team-a'))!;
    expect([row.Name, row.IdentityKey]).toEqual(['iris.csv', null]);
    const entry = (uuid: string) => m.idMap.find((e) => e.kind === 'artifact' && e.kfpUuid === uuid)?.extra ?? null;
    expect(JSON.parse(entry(row.UUID)!)).toEqual({ identityKey: 'acef2f984530693075e6ad4321017109171e2f7e5a9dd4bc6fdff9b981072d04' });
    expect(entry(ids.artifact(out, 'team-a'))).toBeNull();
  });
});

describe('assignIdentityKeys: one holder per namespace and key, whatever the order runs were written in', () => {
  let temp: TempDatabase;
  let db: Db;
  afterEach(async () => {
    await db.close();
    await temp.drop();
  });

  async function open(): Promise<void> {
    temp = await tempSqlite('identity');
    db = await openDb(temp.url, { create: true });
    await db.run('CREATE TABLE run_details (UUID varchar(191) PRIMARY KEY)');
    await ensureTargetTables(db);
    await ensureBridgeTables(db);
  }

  const KEY = 'k'.repeat(64);
  async function artifact(uuid: string, namespace: string, mlmdId: number, identityKey: string | null, candidate: string | null): Promise<void> {
    await db.run('INSERT INTO artifacts (UUID, Namespace, Type, URI, URIHash, Name, Description, CreatedAtInSec, LastUpdateInSec, Metadata, IdentityKey) VALUES (?, ?, 3, ?, ?, ?, ?, 0, 0, ?, ?)', [
      uuid, namespace, 'gs://b/x', '', 'x', '', '{}', identityKey,
    ]);
    if (candidate) await db.transaction((tx) => writeIdMap(tx, [{ kind: 'artifact', mlmdId, kfpUuid: uuid, runUuid: null, extra: JSON.stringify({ identityKey: candidate }) }]));
  }
  const holders = async () => db.all<{ UUID: string; IdentityKey: string | null }>('SELECT UUID, IdentityKey FROM artifacts ORDER BY UUID');
  const OLDEST_HOLDS = [
    { UUID: '00000005-a', IdentityKey: KEY },
    { UUID: '00000007-c', IdentityKey: KEY },
    { UUID: '00000009-b', IdentityKey: null },
  ];

  it('the smallest UUID (the oldest MLMD artifact) holds a shared key; the others are reported; namespaces are apart', async () => {
    await open();
    await artifact('00000009-b', 'team-a', 9, null, KEY);
    await artifact('00000005-a', 'team-a', 5, null, KEY);
    await artifact('00000007-c', 'team-b', 7, null, KEY);
    const r = await db.transaction((tx) => assignIdentityKeys(tx));
    expect(await holders()).toEqual(OLDEST_HOLDS);
    expect(r.holding).toBe(2);
    expect(r.shared).toEqual([expect.objectContaining({ code: 'IDENTITY_KEY_SHARED', disposition: 'adjusted', entity: 'artifact', mlmdId: 9 })]);
    expect(r.shared[0]!.reason).toContain('artifact 5 in namespace "team-a"');
    // A second pass changes nothing.
    const again = await db.transaction((tx) => assignIdentityKeys(tx));
    expect(await holders()).toEqual(OLDEST_HOLDS);
    expect(again.shared.map((s) => s.mlmdId)).toEqual([9]);
  });

  it('an older artifact written later takes the key over', async () => {
    await open();
    await artifact('00000009-b', 'team-a', 9, null, KEY);
    await db.transaction((tx) => assignIdentityKeys(tx));
    await artifact('00000005-a', 'team-a', 5, null, KEY);
    await db.transaction((tx) => assignIdentityKeys(tx));
    expect(await holders()).toEqual([
      { UUID: '00000005-a', IdentityKey: KEY },
      { UUID: '00000009-b', IdentityKey: null },
    ]);
  });

  it('a row KFP 3 created keeps its key', async () => {
    await open();
    await artifact('ffffffff-native', 'team-a', 0, KEY, null);
    await artifact('00000005-a', 'team-a', 5, null, KEY);
    const r = await db.transaction((tx) => assignIdentityKeys(tx));
    expect(await holders()).toEqual([
      { UUID: '00000005-a', IdentityKey: null },
      { UUID: 'ffffffff-native', IdentityKey: KEY },
    ]);
    expect(r.shared[0]!.reason).toContain('an artifact KFP 3 created');
  });
});
