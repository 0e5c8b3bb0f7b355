/**
 * Identities as literal vectors. Row ids, URIHash and LogicalKey are stored in the KFP database and
 * compared with what a later mlmd-bridge derives: a migrate re-run or true-up finds the rows it wrote
 * by their ids (a changed id writes every run again beside the old rows), `rollback` deletes exactly the
 * ids it derives, the shim maps ids back to MLMD ids through `mlmd_id_map`, and KFP 3's own server
 * finds a migrated row by URIHash and LogicalKey. So the expected values below are written down, not
 * computed by the code under test, and none of them may change without a new ID_SCHEME (which makes
 * `migrate` refuse a database migrated under the old one).
 *
 * How they were computed (outside this code base, Python 3.11 standard library):
 * - orderedUuid(id, name): d = hashlib.sha1(f'{NAMESPACE}/{name}'.encode()).digest(); n = int of d[:16];
 *   the top 32 bits replaced by id mod 2**32, bits 76–79 (version) set to 8, bits 62–63 (variant) to 0b10;
 *   printed as str(uuid.UUID(int=n)). The SHA-1 of 'NAMESPACE/execution:1234' was also checked with
 *   `printf '%s' '549a1781-8637-4528-a7ae-b50ea13573b9/execution:1234' | sha1sum` (422b51a7d4d070f6ba72…).
 * - name-based ids (types, pipeline contexts): str(uuid.uuid5(uuid.UUID(NAMESPACE), name)).
 * - URIHash: `printf '%s' URI | sha256sum` (the URI's UTF-8 bytes).
 * - LogicalKey: hashlib.sha256 over struct.pack('>I', len(utf8)) + utf8 for RunUUID, ParentTaskUUID or '',
 *   ScopePath, Name, then struct.pack('>i', Type), then b'\x00' or b'\x01' + struct.pack('>q', iteration),
 *   the layout of KFP 3's taskLogicalKey (backend/src/apiserver/storage/task_store.go, kfp-facts.md §C.5).
 */
import { describe, expect, it } from 'vitest';
import { mapRun } from '../src/transform/forward.ts';
import { ID_SCHEME, ids, logicalKey, MLMD_BRIDGE_NAMESPACE, orderedUuid, uriHash } from '../src/transform/identity.ts';
import { RunBuilder, dbl, int, str } from './helpers/bundle.ts';

// The literals, named once: the mapping test below expects the same values from a mapped run.
const TASK_1234 = '000004d2-d4d0-80f6-ba72-192062cb7e99';
const ARTIFACT_77_TEAM_A = '0000004d-41ac-84d9-9c98-4b372709e2a7';
const ARTIFACT_77_TEAM_B = '0000004d-344e-8d48-a167-4ed0fc76d7fc';
const METRIC_78_TEAM_A_ACCURACY = '0000004e-7719-839b-8987-69ff607a56e1';
const METRIC_SIDECAR_78_TEAM_A = '0000004e-7052-8219-ae80-de81cfcbdebe';
// name `link:4321:${ARTIFACT_77_TEAM_A}:${TASK_1234}`
const LINK_4321 = '000010e1-9cb6-8363-b5c3-98785f6f759f';
const SYNTHETIC_ROOT_RUN = '00000000-bb0f-8898-94c2-709e8a01ba0a';
const ROOT_RUN = '0b8d4e2e-6a43-4b8e-9d1a-3c5f7e9a1b2c';
const PIPELINE_CONTEXT_MY_PIPELINE = 'c4606fe5-1597-50c6-a38b-853372a6e1d3';

describe('row ids: literal vectors (re-runs, true-ups and rollback across mlmd-bridge versions)', () => {
  it('the namespace and the scheme name are the ones every migrated database was written with', () => {
    expect(MLMD_BRIDGE_NAMESPACE).toBe('549a1781-8637-4528-a7ae-b50ea13573b9');
    expect(ID_SCHEME).toBe('mlmd-id-prefixed-sha1-v8');
  });

  it.each([
    ['task (execution 1234)', () => ids.task(1234), TASK_1234],
    ['task for an MLMD id beyond 32 bits (2**32 + 7, SQLite)', () => ids.task(2 ** 32 + 7), '00000007-165d-8f7c-9eed-114569a6418d'],
    ['synthesized ROOT of a run without a root execution', () => ids.syntheticRoot(ROOT_RUN), SYNTHETIC_ROOT_RUN],
    ['artifact 77, copy in namespace team-a', () => ids.artifact(77, 'team-a'), ARTIFACT_77_TEAM_A],
    ['artifact 77, copy in namespace team-b', () => ids.artifact(77, 'team-b'), ARTIFACT_77_TEAM_B],
    ['artifact 77, single-user mode (namespace "")', () => ids.artifact(77, ''), '0000004d-fa37-8ed6-9ef2-9d8c4f00a081'],
    ['system.Metrics split row (artifact 78, team-a, key accuracy)', () => ids.metricRow(78, 'team-a', 'accuracy'), METRIC_78_TEAM_A_ACCURACY],
    ['system.Metrics sidecar row (artifact 78, team-a)', () => ids.metricSidecar(78, 'team-a'), METRIC_SIDECAR_78_TEAM_A],
    ['link (event 4321, artifact row, task)', () => ids.link(4321, ARTIFACT_77_TEAM_A, TASK_1234), LINK_4321],
    ['orderedUuid itself', () => orderedUuid(1234, 'execution:1234'), TASK_1234],
  ])('%s', (_label, derive, expected) => {
    expect(derive()).toBe(expected);
  });

  it.each([
    ['pipeline context my-pipeline (mlmd_id_map kind pipeline_context)', () => ids.pipelineContext('my-pipeline'), PIPELINE_CONTEXT_MY_PIPELINE],
    ['execution type system.ContainerExecution, no version', () => ids.type(0, 'system.ContainerExecution', null), '14137133-2e75-51e9-9745-d5c7926d7964'],
    ['artifact type system.Model, version 1.0.0', () => ids.type(1, 'system.Model', '1.0.0'), '0b8eb9bc-a1a4-50ae-946e-2512c70fa7aa'],
    ['context type system.PipelineRun, no version', () => ids.type(2, 'system.PipelineRun', null), '5696b4e0-9c5d-5dc8-b754-166470126750'],
  ])('id-map key of the %s (the shim shows legacy clients the same MLMD ids through it)', (_label, derive, expected) => {
    expect(derive()).toBe(expected);
  });

  it('a mapped run carries those ids on its rows and in its id map', () => {
    const b = new RunBuilder('run-vectors', { experimentNamespace: 'team-a', namespace: 'team-a' });
    const root = b.root();
    const t = b.exec('system.ContainerExecution', { parent_dag_id: int(root), task_name: str('train') }, { id: 1234 });
    b.event(b.artifact('system.Model', 'gs://b/model', {}, 77), t, 'OUTPUT', 'model');
    b.event(b.artifact('system.Metrics', 'gs://b/metrics', { accuracy: dbl(0.9), note: str('n/a') }, 78), t, 'OUTPUT', 'metrics');
    const bundle = b.build();
    bundle.events[0]!.id = 4321; // the builder numbers events from 1; this one takes the vector's id
    const m = mapRun(bundle);
    expect(m.namespace).toBe('team-a');
    expect(m.tasks.find((r) => r.Name === 'train')?.UUID).toBe(TASK_1234);
    expect(m.artifacts.map((a) => a.UUID)).toEqual([ARTIFACT_77_TEAM_A, METRIC_78_TEAM_A_ACCURACY, METRIC_SIDECAR_78_TEAM_A]);
    expect(m.links.filter((l) => l.TaskID === TASK_1234 && l.ArtifactID === ARTIFACT_77_TEAM_A).map((l) => l.UUID)).toEqual([LINK_4321]);
    expect(m.idMap.find((r) => r.kind === 'pipeline_context')?.kfpUuid).toBe(PIPELINE_CONTEXT_MY_PIPELINE);

    const team = new RunBuilder('run-vectors-b', { experimentNamespace: 'team-b', namespace: 'team-b' });
    const c = team.exec('system.ContainerExecution', { parent_dag_id: int(team.root()), task_name: str('use') });
    team.event(team.artifact('system.Model', 'gs://b/model', {}, 77), c, 'INPUT', 'model');
    expect(mapRun(team.build()).artifacts.map((a) => a.UUID)).toEqual([ARTIFACT_77_TEAM_B]);

    const rootless = new RunBuilder(ROOT_RUN);
    rootless.exec('system.ContainerExecution', { task_name: str('a') });
    const synthesized = mapRun(rootless.build());
    expect(synthesized.tasks.find((r) => r.Type === 1)?.UUID).toBe(SYNTHETIC_ROOT_RUN);
  });
});

describe('URIHash: literal vectors (KFP 3 finds artifacts by Namespace and URIHash, idx_namespace_urihash)', () => {
  it.each([
    ['minio://b/v2/my-pipeline/run-1/preprocess/x/data', 'da831aa83c2ec6711921e3e66dc09527376f9cf9f82d1f2e0d8e861020d526a1'],
    // Non-ASCII: the digest is over the UTF-8 bytes, as Go's []byte(uri).
    ['gs://bücket/モデル/model.pt', 'bc6e9e7d2d5fd31de6eab38d0d1398a098271c9e054700956005e97be27eddd3'],
  ])('%s', (uri, expected) => {
    expect(uriHash(uri)).toBe(expected);
  });

  it('is "" for an empty or missing URI, as the server stores it', () => {
    expect(uriHash('')).toBe('');
    expect(uriHash(null)).toBe('');
  });
});

describe('LogicalKey: literal vectors (KFP 3 CreateTask returns the migrated task for the same key, idx_tasks_logical_key)', () => {
  it.each([
    [{ runUuid: 'run-1', parentTaskUuid: 'p-uuid', scopePath: 'root.for-loop-2.train', name: 'train', type: 2, iterationIndex: 2 }, 'a799df8c12c1c534fb2610d5ffc0cbbbc457c6d6a24aee1a40a06cc4977c0e8a'],
    [{ runUuid: 'run-1', parentTaskUuid: null, scopePath: 'root', name: 'ROOT', type: 1, iterationIndex: null }, '010644fb00070febffb6060a8744e40c79933ae78c83ab1f8b07fbd72d213dec'],
    // Multi-byte text (lengths are UTF-8 byte counts) and a negative iteration (two's complement).
    [{ runUuid: 'rün', parentTaskUuid: '', scopePath: 'root.a', name: 'a', type: 8, iterationIndex: -1 }, '77a80343d3df2de2d2064c4a8a46233f4185676ef583c341984b7a9c2253c37d'],
  ])('%j', (key, expected) => {
    expect(logicalKey(key)).toBe(expected);
  });

  it('is NULL when RunUUID, ScopePath or Name is empty or Type is 0, as the server stores it', () => {
    const key = { runUuid: 'r', parentTaskUuid: null, scopePath: 'root', name: 'a', type: 2, iterationIndex: null };
    expect(logicalKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(logicalKey({ ...key, runUuid: '' })).toBeNull();
    expect(logicalKey({ ...key, scopePath: '' })).toBeNull();
    expect(logicalKey({ ...key, name: '' })).toBeNull();
    expect(logicalKey({ ...key, type: 0 })).toBeNull();
  });
});

describe('row ids: their shape', () => {
  it('are deterministic name-based version-8 UUIDs that lead with the MLMD id', () => {
    expect(ids.task(42)).toBe(ids.task(42));
    expect(ids.task(42)).toMatch(/^0000002a-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.artifact(7, 'team-a').slice(0, 8)).toBe('00000007');
    expect(ids.link(0xfffffffe, 'a', 'b').slice(0, 8)).toBe('fffffffe');
  });

  it('ascend with the MLMD id and differ by every part of the name', () => {
    const tasks = [1, 2, 9, 10, 255, 256, 70000, 2 ** 31 - 1].map((n) => ids.task(n));
    expect(tasks).toEqual([...tasks].sort());
    const variants = [
      ids.artifact(5, 'a'),
      ids.artifact(5, 'b'),
      ids.metricRow(5, 'a', 'accuracy'),
      ids.metricRow(5, 'a', 'loss'),
      ids.metricSidecar(5, 'a'),
      ids.task(5),
      ids.link(5, 'x', 'y'),
      ids.link(5, 'x', 'z'),
    ];
    expect(new Set(variants).size).toBe(variants.length);
    // The same MLMD id: the rows of one artifact sit side by side.
    for (const v of variants) expect(v.slice(0, 8)).toBe('00000005');
  });

  it('stay unique for ids beyond 32 bits (only their order is lost)', () => {
    expect(orderedUuid(2 ** 32 + 5, 'execution:4294967301')).not.toBe(orderedUuid(5, 'execution:5'));
    expect(orderedUuid(2 ** 32 + 5, 'execution:4294967301').slice(0, 8)).toBe('00000005');
  });
});
