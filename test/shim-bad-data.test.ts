// Bad stored data the shim meets (issue #19): bookkeeping it cannot read stops it with a clear
// error instead of a guess, and a corrupt JSON column is served around, logged once per row with
// its id, never silently read as empty.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { BridgeError } from '../src/errors.ts';
import { migrate } from '../src/migrate/migrator.ts';
import { seedDatabases } from '../src/seed/index.ts';
import { MLMD_MAX_IDS_STATE, parseMaxima, ShimIdStore } from '../src/shim/kfp-ids.ts';
import { startShim } from '../src/shim/server.ts';
import { toRpcError } from '../src/shim/status.ts';
import { runCli } from './helpers/cli.ts';
import { type TempDatabase, tempSqlite } from './helpers/databases.ts';
import { mlmdClient, type Msg } from './helpers/grpc-client.ts';
import { capturingLogger } from './helpers/shim-log.ts';

function refusal(fn: () => unknown): BridgeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BridgeError);
    return e as BridgeError;
  }
  throw new Error('expected a refusal');
}

describe('parseMaxima: the MLMD maxima migrate records (mlmd_bridge_state mlmd_max_ids)', () => {
  it('reads what migrate writes, exactly', () => {
    expect(parseMaxima('{"execution":12,"artifact":30,"context":7,"type":40}')).toEqual({ execution: 12, artifact: 30, context: 7, type: 40 });
    expect(parseMaxima('{"artifact":0}')).toEqual({ artifact: 0 });
    // No entry (a migration by a version that did not record it): nothing to respect beyond the id map.
    expect(parseMaxima(null)).toEqual({});
  });

  const NOT_MAXIMA = 'is not a JSON object with a whole number ≥ 0 per sequence';
  it.each([
    ['{"execution":', 'is not JSON'],
    ['', 'is not JSON'],
    ['null', NOT_MAXIMA],
    ['[12, 30]', NOT_MAXIMA],
    ['{"artifact":-1}', NOT_MAXIMA],
    ['{"type":"40"}', NOT_MAXIMA],
    ['{"execution":1.5}', NOT_MAXIMA],
  ])('refuses %j rather than reading it as {} (exit 3, naming the key and what to do)', (text, why) => {
    const e = refusal(() => parseMaxima(text));
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain(`mlmd_bridge_state "${MLMD_MAX_IDS_STATE}" ${why}`);
    expect(e.hint).toContain('mlmd-bridge migrate');
    // Over the wire it is a precondition, not an internal error.
    expect(toRpcError(e).status).toBe('FAILED_PRECONDITION');
  });
});

describe('the shim over bad stored data (SQLite)', () => {
  let mlmd: TempDatabase;
  let kfp: TempDatabase;

  beforeAll(async () => {
    mlmd = await tempSqlite('baddata_mlmd');
    kfp = await tempSqlite('baddata_kfp');
    const m = await openDb(mlmd.url, { create: true });
    const k = await openDb(kfp.url, { create: true });
    try {
      await seedDatabases(m, k, { runs: 6, seed: 3 });
    } finally {
      await m.close();
      await k.close();
    }
    await migrate({ mlmdUrl: mlmd.url, kfpUrl: kfp.url, batchSize: 4 });
  });

  afterAll(async () => {
    await mlmd?.drop();
    await kfp?.drop();
  });

  const withState = async (value: string, fn: () => Promise<void>) => {
    const db = await openDb(kfp.url);
    const [saved] = await db.all<{ value: string }>('SELECT value FROM mlmd_bridge_state WHERE name = ?', [MLMD_MAX_IDS_STATE]);
    expect(saved, 'migrate recorded the maxima').toBeDefined();
    await db.run('UPDATE mlmd_bridge_state SET value = ? WHERE name = ?', [value, MLMD_MAX_IDS_STATE]);
    try {
      await fn();
    } finally {
      await db.run('UPDATE mlmd_bridge_state SET value = ? WHERE name = ?', [saved!.value, MLMD_MAX_IDS_STATE]);
      await db.close();
    }
  };

  it('refuses to start on malformed maxima (exit 3, one line naming the key), and refuses to allocate if they break later', async () => {
    await withState('{"execution": 12,', async () => {
      await expect(startShim({ kfpUrl: kfp.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: capturingLogger().logger })).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
      const r = await runCli(['shim', '--kfp', kfp.url, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`mlmd_bridge_state "${MLMD_MAX_IDS_STATE}" is not JSON`);
      expect(r.stderr).toContain('what to do: run `mlmd-bridge migrate');
    });
    const writer = await openDb(kfp.url);
    try {
      const store = await ShimIdStore.open(writer);
      await withState('[1]', async () => {
        await expect(store.resolve([{ seq: 'artifact', key: 'a-row-kfp-3-created', runUuid: null }])).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
      });
      // With the entry repaired the same allocation works.
      const ids = await store.resolve([{ seq: 'artifact', key: 'a-row-kfp-3-created', runUuid: null }]);
      expect(ids.get('artifact|a-row-kfp-3-created')).toBeGreaterThan(0);
    } finally {
      await writer.close();
    }
  });

  it('serves an artifact whose Metadata is corrupt without those properties, and logs that row once with its ids', async () => {
    const db = await openDb(kfp.url);
    const [victim] = await db.all<{ UUID: string; RunUUID: string; mlmd_id: number; Metadata: string }>(
      "SELECT a.UUID, l.RunUUID, m.mlmd_id, a.Metadata FROM artifacts a JOIN artifact_tasks l ON l.ArtifactID = a.UUID JOIN mlmd_id_map m ON m.kind = 'artifact' AND m.kfp_uuid = a.UUID " +
        "WHERE a.Type <> 6 AND a.Metadata LIKE '{%' ORDER BY a.UUID LIMIT 1",
    );
    expect(victim, 'a migrated artifact with Metadata').toBeDefined();
    await db.run('UPDATE artifacts SET Metadata = ? WHERE UUID = ?', ['{"display_name": "x", broken', victim!.UUID]);
    const { logger, lines } = capturingLogger();
    const shim = await startShim({ kfpUrl: kfp.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger });
    const client = mlmdClient(shim.port);
    try {
      const ctx = (await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: victim!.RunUUID })).context as Msg;
      for (let i = 0; i < 3; i++) {
        const arts = (await client.call('GetArtifactsByContext', { context_id: ctx.id })).artifacts as Msg[];
        const shown = arts.find((a) => Number(a.id) === Number(victim!.mlmd_id));
        expect(shown, 'the artifact is still served').toBeDefined();
        expect(Object.keys(shown!.custom_properties ?? {})).not.toContain('broken');
        const byId = (await client.call('GetArtifactsByID', { artifact_ids: [String(victim!.mlmd_id)] })).artifacts as Msg[];
        expect(byId.map((a) => Number(a.id))).toEqual([Number(victim!.mlmd_id)]);
      }
      const reported = lines.filter((l) => l.level === 'warn' && l.uuid === victim!.UUID);
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ table: 'artifacts', column: 'Metadata', mlmdId: Number(victim!.mlmd_id), run: victim!.RunUUID });
      expect(String(reported[0]!.problem)).toContain('not JSON');
    } finally {
      client.close();
      await shim.close();
      await db.run('UPDATE artifacts SET Metadata = ? WHERE UUID = ?', [victim!.Metadata, victim!.UUID]);
      await db.close();
    }
  });

  it("serves an MLMD execution type whose struct type is not JSON without it, and logs that type once", async () => {
    const archive = await openDb(mlmd.url);
    const [type] = await archive.all<{ id: number }>("SELECT id FROM `Type` WHERE type_kind = 0 AND name NOT LIKE 'mlmd.%' ORDER BY id LIMIT 1");
    await archive.run('UPDATE `Type` SET input_type = ? WHERE id = ?', ['{"anyType": ', type!.id]);
    await archive.close();
    const { logger, lines } = capturingLogger();
    const shim = await startShim({ mlmdUrl: mlmd.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger });
    const client = mlmdClient(shim.port);
    try {
      for (let i = 0; i < 3; i++) {
        const types = (await client.call('GetExecutionTypes', {})).execution_types as Msg[];
        const served = types.find((t) => Number(t.id) === type!.id);
        expect(served).toBeDefined();
        expect(served!.input_type).toBeUndefined();
      }
      const e = await client.fail('GetExecutionType', { type_name: 'no such type' });
      expect(e.code).toBe(grpc.status.NOT_FOUND);
      const reported = lines.filter((l) => l.level === 'warn' && l.table === 'Type');
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ id: type!.id, column: 'input_type' });
    } finally {
      client.close();
      await shim.close();
    }
  });
});
