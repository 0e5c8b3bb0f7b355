/**
 * NaN and ±Infinity in MLMD double values (PostgreSQL's double precision and SQLite's REAL hold
 * them; MySQL's DOUBLE refuses them): the run is migrated with the values written as text and
 * reported as NON_FINITE_NUMBER, verify passes, and a legacy client gets the double back.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { MLMD_IDENTIFIERS } from '../src/extract/schema-version.ts';
import { decodeStructText, encodeStructValue } from '../src/extract/values.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { startShim } from '../src/shim/server.ts';
import { runCli } from './helpers/cli.ts';
import { type TempDatabase, tempPostgres, tempSqlite, withDb } from './helpers/databases.ts';
import { artifactOf, executionOf, mlmdClient } from './helpers/grpc-client.ts';
import { seedUrls } from './helpers/seeded.ts';
import type { MlmdArtifact } from '../src/transform/model.ts';

interface Planted {
  artifact: number;
  metrics: number;
  metricKey: string;
  execution: number;
  inputKey: string;
}

/** Writes the three non-finite values into a seeded MLMD database, as an MLMD server on that database could have. */
async function plant(url: string): Promise<Planted> {
  const db = await openDb(url, MLMD_IDENTIFIERS);
  try {
    const outputOf = async (typeCondition: string) => {
      const [row] = await db.all<{ id: number }>(
        `SELECT a.id AS id FROM Artifact a JOIN Type t ON t.id = a.type_id JOIN Event e ON e.artifact_id = a.id WHERE e.type = 4 AND ${typeCondition} ORDER BY a.id LIMIT 1`,
      );
      return Number(row!.id);
    };
    const artifact = await outputOf("t.name IN ('system.Dataset', 'system.Model')");
    const metrics = await outputOf("t.name = 'system.Metrics'");
    await db.run('INSERT INTO ArtifactProperty (artifact_id, name, is_custom_property, double_value) VALUES (?, ?, ?, ?)', [
      artifact,
      'gain',
      db.dialect === 'postgres' ? true : 1,
      Number.POSITIVE_INFINITY,
    ]);
    const [metric] = await db.all<{ name: string }>('SELECT name FROM ArtifactProperty WHERE artifact_id = ? AND double_value IS NOT NULL ORDER BY name LIMIT 1', [metrics]);
    await db.run('UPDATE ArtifactProperty SET double_value = ? WHERE artifact_id = ? AND name = ?', [Number.NEGATIVE_INFINITY, metrics, metric!.name]);

    const [inputs] = await db.all<{ id: number; text: string }>(
      "SELECT p.execution_id AS id, p.string_value AS text FROM ExecutionProperty p JOIN Execution x ON x.id = p.execution_id JOIN Type t ON t.id = x.type_id " +
        "WHERE p.name = 'inputs' AND t.name = 'system.ContainerExecution' ORDER BY p.execution_id LIMIT 1",
    );
    const decoded = decodeStructText(String(inputs!.text));
    if (decoded.kind !== 'struct') throw new Error('seeded inputs are not a struct');
    const inputKey = Object.keys(decoded.value).sort()[0]!;
    const text = encodeStructValue({ ...decoded.value, [inputKey]: Number.NaN });
    await db.run("UPDATE ExecutionProperty SET string_value = ? WHERE execution_id = ? AND name = 'inputs'", [text, Number(inputs!.id)]);
    return { artifact, metrics, metricKey: metric!.name, execution: Number(inputs!.id), inputKey };
  } finally {
    await db.close();
  }
}

describe.each([
  { dialect: 'sqlite', temp: tempSqlite },
  { dialect: 'postgres', temp: tempPostgres },
])('NaN and ±Infinity in MLMD on $dialect', ({ dialect, temp }) => {
  const dbs: TempDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('the run is migrated (NON_FINITE_NUMBER by id), verify passes, the shim gives the doubles back', async () => {
    const mlmd = await temp('nf_mlmd');
    const kfp = await temp('nf_kfp');
    dbs.push(mlmd, kfp);
    await seedUrls(mlmd.url, kfp.url, { runs: 3, seed: 18 });
    const p = await plant(mlmd.url);

    const rejectsPath = join(tmpdir(), `mb-nonfinite-${dialect}-${process.pid}.ndjson`);
    const migrate = await runCli(['migrate', '--mlmd', mlmd.url, '--kfp', kfp.url, '--rejects', rejectsPath]);
    expect(migrate.stderr).toBe('');
    const lines = readFileSync(rejectsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { code: string; entity: string; mlmdId: number; reason: string });
    expect(lines.filter((l) => l.code === 'RUN_FAILED')).toEqual([]);
    const nonFinite = lines.filter((l) => l.code === 'NON_FINITE_NUMBER').map((l) => [l.entity, l.mlmdId, l.reason]);
    expect(nonFinite).toEqual(
      expect.arrayContaining([
        ['artifact', p.artifact, 'property "gain" is the double Infinity; written as the string "Infinity"'],
        ['artifact', p.metrics, `property "${p.metricKey}" is the double -Infinity; written as the string "-Infinity"`],
        ['execution', p.execution, `property "inputs" holds NaN or an infinity at .${p.inputKey}; written as the string "NaN" / "Infinity" / "-Infinity"`],
      ]),
    );
    expect(nonFinite).toHaveLength(3);

    await withDb(kfp.url, async (db) => {
      const runs = await db.all<{ run_uuid: string; source_version: string; tasks: number }>('SELECT run_uuid, source_version, tasks FROM mlmd_bridge_runs');
      expect(runs).toHaveLength(3);
      for (const r of runs) expect([r.source_version === 'failed', Number(r.tasks) > 0], r.run_uuid).toEqual([false, true]);
    });

    const verify = await runCli(['verify', '--mlmd', mlmd.url, '--kfp', kfp.url]);
    expect(verify.stderr).toBe('');
    expect(verify.code, verify.stdout).toBe(0);

    const shim = await startShim({ kfpUrl: kfp.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
    const client = mlmdClient(shim.port);
    try {
      const got: MlmdArtifact[] = ((await client.call('GetArtifactsByID', { artifact_ids: [p.artifact, p.metrics] })).artifacts ?? []).map(artifactOf);
      const byId = new Map(got.map((a) => [a.id, a]));
      expect(byId.get(p.artifact)?.customProperties.gain).toEqual({ kind: 'double', value: Number.POSITIVE_INFINITY });
      expect(byId.get(p.metrics)?.customProperties[p.metricKey]).toEqual({ kind: 'double', value: Number.NEGATIVE_INFINITY });
      const [exec] = ((await client.call('GetExecutionsByID', { execution_ids: [p.execution] })).executions ?? []).map(executionOf);
      const inputs = exec!.customProperties.inputs;
      // Inside a struct the number stays the text it was written as (lossy code NON_FINITE_AS_TEXT).
      expect(inputs?.kind === 'struct' ? inputs.value[p.inputKey] : inputs).toBe('NaN');
    } finally {
      client.close();
      await shim.close();
    }
  }, 180_000);
});
