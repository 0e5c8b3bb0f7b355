// The layered backend ("both" mode) over two MLMD archives standing in for the KFP backend and
// the archive: the primary wins for ids it has, the fallback fills in the rest, and a node's
// edges come only from the backend that owns the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../src/db/connection.ts';
import { createMlmdSchema } from '../src/seed/mlmd-ddl.ts';
import { CallContext } from '../src/shim/call-context.ts';
import { LayeredBackend } from '../src/shim/layered-backend.ts';
import { openMlmdBackend } from '../src/shim/mlmd-backend.ts';
import { mlmdHandlers } from '../src/shim/service.ts';
import type { RpcHandlers } from '../src/shim/rpc.ts';
import { type TempDatabase, tempSqlite } from './helpers/databases.ts';

type Msg = Record<string, any>;

async function archive(url: string, artifacts: [number, string][], events: [number, number, number][]): Promise<void> {
  const db = await openDb(url, { create: true });
  await createMlmdSchema(db, 10);
  await db.run("INSERT INTO `Type` (`id`, `name`, `type_kind`) VALUES (10, 'system.Artifact', 1), (11, 'system.ContainerExecution', 0)");
  for (const [id, uri] of artifacts) {
    await db.run(
      'INSERT INTO `Artifact` (`id`, `type_id`, `uri`, `create_time_since_epoch`, `last_update_time_since_epoch`) VALUES (?, 10, ?, ?, ?)',
      [id, uri, id, id],
    );
  }
  for (const [id, artifactId, executionId] of events) {
    await db.run('INSERT OR IGNORE INTO `Execution` (`id`, `type_id`, `create_time_since_epoch`, `last_update_time_since_epoch`) VALUES (?, 11, 0, 0)', [
      executionId,
    ]);
    await db.run('INSERT INTO `Event` (`id`, `artifact_id`, `execution_id`, `type`) VALUES (?, ?, ?, 4)', [id, artifactId, executionId]);
  }
  await db.close();
}

describe('LayeredBackend', () => {
  let primaryDb: TempDatabase;
  let fallbackDb: TempDatabase;
  let handlers: RpcHandlers;
  let close: () => Promise<void>;

  beforeAll(async () => {
    primaryDb = await tempSqlite('primary');
    fallbackDb = await tempSqlite('fallback');
    // Artifact 2 exists in both: the primary's copy (migrated) must win, with its own events.
    await archive(primaryDb.url, [[1, 'p://1'], [2, 'p://2']], [[1, 2, 100]]);
    await archive(fallbackDb.url, [[2, 'f://2'], [3, 'f://3']], [[1, 2, 200], [2, 3, 300]]);
    const backend = new LayeredBackend(await openMlmdBackend(primaryDb.url), await openMlmdBackend(fallbackDb.url));
    expect(backend.name).toBe('mlmd+mlmd');
    handlers = mlmdHandlers(backend);
    close = () => backend.close();
  });

  afterAll(async () => {
    await close?.();
    await primaryDb?.drop();
    await fallbackDb?.drop();
  });

  it('merges nodes by id, primary first', async () => {
    const r = (await handlers.GetArtifacts!({}, CallContext.detached())) as Msg;
    expect(r.artifacts.map((a: Msg) => [a.id, a.uri])).toEqual([
      ['1', 'p://1'],
      ['2', 'p://2'],
      ['3', 'f://3'],
    ]);
    const paged = (await handlers.GetArtifacts!({ options: { max_result_size: 2 } }, CallContext.detached())) as Msg;
    expect(paged.artifacts.map((a: Msg) => a.id)).toEqual(['1', '2']);
    const rest = (await handlers.GetArtifacts!({ options: { max_result_size: 2, next_page_token: paged.next_page_token } }, CallContext.detached())) as Msg;
    expect(rest.artifacts.map((a: Msg) => a.id)).toEqual(['3']);
  });

  it("takes a node's edges only from the backend that owns the node", async () => {
    const r = (await handlers.GetEventsByArtifactIDs!({ artifact_ids: ['2', '3'] }, CallContext.detached())) as Msg;
    expect(r.events.map((e: Msg) => `${e.artifact_id}<-${e.execution_id}`).sort()).toEqual(['2<-100', '3<-300']);
  });

  it('merges types by id', async () => {
    const r = (await handlers.GetArtifactTypes!({}, CallContext.detached())) as Msg;
    expect(r.artifact_types.map((t: Msg) => t.id)).toEqual(['10']);
  });
});
