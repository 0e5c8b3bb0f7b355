// The shim under volume, on MariaDB: paging through 1,000 artifacts (every order, with ties in the
// order column) returns each exactly once; whole-run reads cost a bounded number of SQL
// statements however many rows they return; 50 concurrent clients get no errors and leave no
// database connections or calls behind. (How fast is measured by `npm run bench`, not here.)
import * as grpc from '@grpc/grpc-js';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Param } from '../src/db/connection.ts';
import { insertMany } from '../src/db/insert.ts';
import { openMlmdSource } from '../src/extract/mlmd-reader.ts';
import { createMlmdSchema } from '../src/seed/mlmd-ddl.ts';
import { CallContext } from '../src/shim/call-context.ts';
import { silentLogger } from '../src/shim/logger.ts';
import { MlmdBackend } from '../src/shim/mlmd-backend.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { mlmdHandlers } from '../src/shim/service.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER, type TempDatabase, tempMariaDb, watchReads } from './helpers/databases.ts';
import { mlmdClient, type Msg } from './helpers/grpc-client.ts';

const ARTIFACTS = 1000;
const EXECUTIONS = 400;
const RUN_CONTEXT = 1;

/** One big run: 1,000 artifacts and 400 executions in one context, two events per execution. */
async function buildBigArchive(url: string): Promise<void> {
  const db = await openDb(url);
  try {
    await createMlmdSchema(db, 10);
    await insertMany(db, 'Type', ['id', 'name', 'type_kind'], [
      [10, 'system.Artifact', 1],
      [11, 'system.ContainerExecution', 0],
      [12, 'system.PipelineRun', 2],
    ]);
    await insertMany(db, 'Context', ['id', 'type_id', 'name', 'create_time_since_epoch', 'last_update_time_since_epoch'], [[RUN_CONTEXT, 12, 'big-run', 1, 1]]);
    // Create times collide in groups of ten and run against the id order; update times collide in groups of three.
    const artifacts = Array.from({ length: ARTIFACTS }, (_, i) => {
      const id = i + 1;
      return [id, 10, `s3://big/${id}`, 2, 1_000_000 - Math.floor(id / 10), 5_000 + Math.floor(id / 3)];
    });
    await insertMany(db, 'Artifact', ['id', 'type_id', 'uri', 'state', 'create_time_since_epoch', 'last_update_time_since_epoch'], artifacts);
    await insertMany(db, 'ArtifactProperty', ['artifact_id', 'name', 'is_custom_property', 'string_value'], artifacts.map((a) => [a[0]!, 'display_name', 1, `artifact ${a[0]}`]));
    await insertMany(db, 'Attribution', ['context_id', 'artifact_id'], artifacts.map((a) => [RUN_CONTEXT, a[0]!]));
    const executions = Array.from({ length: EXECUTIONS }, (_, i) => [i + 1, 11, 3, 2_000 + i, 3_000 + i]);
    await insertMany(db, 'Execution', ['id', 'type_id', 'last_known_state', 'create_time_since_epoch', 'last_update_time_since_epoch'], executions);
    await insertMany(db, 'ExecutionProperty', ['execution_id', 'name', 'is_custom_property', 'string_value'], executions.map((e) => [e[0]!, 'task_name', 1, `task-${e[0]}`]));
    await insertMany(db, 'Association', ['context_id', 'execution_id'], executions.map((e) => [RUN_CONTEXT, e[0]!]));
    const events: Param[][] = [];
    const paths: Param[][] = [];
    for (let x = 1; x <= EXECUTIONS; x++) {
      for (const [k, type] of [
        [0, 3],
        [1, 4],
      ] as const) {
        const id = events.length + 1;
        events.push([id, ((x * 2 + k) % ARTIFACTS) + 1, x, type, 10_000 + id]);
        paths.push([id, 0, null, type === 3 ? 'in' : 'out']);
      }
    }
    await insertMany(db, 'Event', ['id', 'artifact_id', 'execution_id', 'type', 'milliseconds_since_epoch'], events);
    await insertMany(db, 'EventPath', ['event_id', 'is_index_step', 'step_index', 'step_key'], paths);
  } finally {
    await db.close();
  }
}

/** Connections any client currently holds to `database` on the MariaDB server. */
async function connectionsTo(database: string): Promise<number> {
  const c = await mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER });
  try {
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?', [database]);
    return Number((rows as { n: number }[])[0]!.n);
  } finally {
    await c.end();
  }
}

describe('shim under volume (MariaDB)', () => {
  let database: TempDatabase;
  let dbName: string;
  let shim: RunningShim | undefined;

  beforeAll(async () => {
    database = await tempMariaDb('shimload');
    dbName = database.url.slice(database.url.lastIndexOf('/') + 1);
    await buildBigArchive(database.url);
    shim = await startShim({ mlmdUrl: database.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: silentLogger });
  });

  afterAll(async () => {
    await shim?.close();
    await database?.drop();
  });

  it.each([
    ['ID', true],
    ['ID', false],
    ['CREATE_TIME', true],
    ['CREATE_TIME', false],
    ['LAST_UPDATE_TIME', true],
    ['LAST_UPDATE_TIME', false],
  ] as const)('pages through 1,000 artifacts 7 at a time ordered by %s (asc %s), each exactly once', async (field, is_asc) => {
    const client = mlmdClient(shim!.port);
    try {
      const seen: number[] = [];
      const options: Msg = { max_result_size: 7, order_by_field: { field, is_asc } };
      let pages = 0;
      for (;;) {
        const r = await client.call('GetArtifacts', { options });
        pages++;
        const page = (r.artifacts as Msg[]).map((a) => Number(a.id));
        expect(page.length).toBeLessThanOrEqual(7);
        seen.push(...page);
        if (!r.next_page_token) break;
        expect(page.length).toBe(7);
        options.next_page_token = r.next_page_token;
      }
      expect(pages).toBe(Math.ceil(ARTIFACTS / 7));
      expect(seen.length).toBe(ARTIFACTS);
      expect(new Set(seen).size).toBe(ARTIFACTS);
      const key = (id: number) => (field === 'ID' ? id : field === 'CREATE_TIME' ? 1_000_000 - Math.floor(id / 10) : 5_000 + Math.floor(id / 3));
      const expected = Array.from({ length: ARTIFACTS }, (_, i) => i + 1).sort((a, b) => (key(a) - key(b) || a - b) * (is_asc ? 1 : -1));
      expect(seen).toEqual(expected);
    } finally {
      client.close();
    }
  });

  it('pages through a filtered listing and rejects a malformed token', async () => {
    const client = mlmdClient(shim!.port);
    try {
      const seen: number[] = [];
      const options: Msg = { max_result_size: 7, filter_query: "uri LIKE 's3://big/%5'" };
      for (;;) {
        const r = await client.call('GetArtifactsByContext', { context_id: String(RUN_CONTEXT), options });
        seen.push(...(r.artifacts as Msg[]).map((a) => Number(a.id)));
        if (!r.next_page_token) break;
        options.next_page_token = r.next_page_token;
      }
      expect(seen).toEqual(Array.from({ length: ARTIFACTS }, (_, i) => i + 1).filter((id) => id % 10 === 5));
      const e = await client.fail('GetArtifacts', { options: { next_page_token: '%%%' } });
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  it('answers whole-run reads with a bounded number of SQL statements', async () => {
    const source = await openMlmdSource(database.url);
    let statements = 0;
    const counting = watchReads(source.db, () => statements++);
    // The source itself with only its connection swapped: its methods stay its own.
    const backend = new MlmdBackend(Object.assign(Object.create(source) as typeof source, { db: counting }));
    const handlers = mlmdHandlers(backend);
    const cost = async (rpc: string, request: Msg) => {
      statements = 0;
      const response = await handlers[rpc]!(request, CallContext.detached());
      return { statements, response };
    };
    try {
      const execs = await cost('GetExecutionsByContext', { context_id: String(RUN_CONTEXT) });
      expect((execs.response.executions as unknown[]).length).toBe(EXECUTIONS);
      expect(execs.statements).toBeLessThanOrEqual(3);
      const arts = await cost('GetArtifactsByContext', { context_id: String(RUN_CONTEXT) });
      expect((arts.response.artifacts as unknown[]).length).toBe(ARTIFACTS);
      expect(arts.statements).toBeLessThanOrEqual(3);
      const ids = Array.from({ length: EXECUTIONS }, (_, i) => String(i + 1));
      const events = await cost('GetEventsByExecutionIDs', { execution_ids: ids });
      expect((events.response.events as unknown[]).length).toBe(EXECUTIONS * 2);
      expect(events.statements).toBeLessThanOrEqual(2);
      const filtered = await cost('GetExecutionsByContext', {
        context_id: String(RUN_CONTEXT),
        options: { filter_query: "custom_properties.task_name.string_value = 'task-7'" },
      });
      expect((filtered.response.executions as Msg[]).map((x) => x.id)).toEqual(['7']);
      expect(filtered.statements).toBeLessThanOrEqual(4);
    } finally {
      await backend.close();
    }
  });

  it('serves 50 concurrent clients without errors and leaves nothing open', async () => {
    const clients = Array.from({ length: 50 }, () => mlmdClient(shim!.port));
    const executionIds = Array.from({ length: 300 }, (_, i) => String(i + 1));
    const errors: unknown[] = [];
    let answered = 0;
    await Promise.all(
      clients.map(async (client, i) => {
        for (let round = 0; round < 4; round++) {
          try {
            const r =
              (i + round) % 4 === 0
                ? await client.call('GetEventsByExecutionIDs', { execution_ids: executionIds })
                : (i + round) % 4 === 1
                  ? await client.call('GetArtifactsByID', { artifact_ids: executionIds })
                  : (i + round) % 4 === 2
                    ? await client.call('GetArtifacts', { options: { max_result_size: 50, order_by_field: { field: 'CREATE_TIME', is_asc: false } } })
                    : await client.call('GetContextByTypeAndName', { type_name: 'system.PipelineRun', context_name: 'big-run' });
            expect(Object.keys(r).length).toBeGreaterThan(0);
            answered++;
          } catch (e) {
            errors.push(e);
          }
        }
      }),
    );
    expect(errors).toEqual([]);
    expect(answered).toBe(200);
    // The read-only pool stays bounded while serving.
    expect(await connectionsTo(dbName)).toBeLessThanOrEqual(4);
    for (const c of clients) c.close();

    // No call was left running, so shutdown has nothing to wait for or cancel.
    expect(shim!.activeCalls).toBe(0);
    await shim!.close();
    shim = undefined;
    // The server drops a thread a moment after its client's COM_QUIT: a closed pool shows within seconds, a leak never.
    const until = Date.now() + 5000;
    let open = await connectionsTo(dbName);
    while (open > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      open = await connectionsTo(dbName);
    }
    expect(open).toBe(0);
  });
});
