// The shim when its database or its process is in trouble (issue #16), on MariaDB and with the
// real CLI: connections the server drops are retried once, a database that is gone answers
// UNAVAILABLE with one log line per outage, a cancelled statement is killed on the server, SIGTERM
// during a long call stops the shim within --shutdown-timeout (exit 0, the call UNAVAILABLE), and a
// huge request is refused without the shim's memory growing past a stated bound.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withQuerySignal } from '../src/db/cancel.ts';
import { openDb } from '../src/db/connection.ts';
import { type RunningShim, startShim } from '../src/shim/server.ts';
import { startCli } from './helpers/cli.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER, type TempDatabase, tempMariaDb, tempSqlite } from './helpers/databases.ts';
import { mlmdClient, type Msg } from './helpers/grpc-client.ts';
import { capturingLogger } from './helpers/shim-log.ts';
import { buildWideArchive } from './helpers/wide-archive.ts';

async function server(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER });
}

const nameOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/** Kills every connection a client holds to `database` (what a server restart or an idle timeout does). */
async function killConnectionsTo(database: string): Promise<number> {
  const c = await server();
  try {
    const [rows] = (await c.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [database])) as unknown as [{ id: number }[]];
    for (const { id } of rows) await c.query(`KILL CONNECTION ${Number(id)}`).catch(() => undefined);
    return rows.length;
  } finally {
    await c.end();
  }
}

/** A TCP relay to MariaDB that the test can take down and bring back: a database that goes away for real. */
class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(MARIADB_PORT, MARIADB_HOST);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('shim resilience (MariaDB)', () => {
  let database: TempDatabase;

  beforeAll(async () => {
    database = await tempMariaDb('shimresil');
    await buildWideArchive(database.url, { artifacts: 50, pipelines: 0, runContexts: 3 });
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('retries a read once on a fresh connection when the server drops the one it ran on: no call fails', async () => {
    const shim = await startShim({ mlmdUrl: database.url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger: capturingLogger().logger });
    const clients = Array.from({ length: 20 }, () => mlmdClient(shim.port));
    try {
      const failures: string[] = [];
      let answered = 0;
      let kills = 0;
      // Four times: 100 calls start, and every connection the shim holds is killed while they run
      // (a restart, a failover, an idle timeout). The calls that were on them are retried once.
      for (let wave = 0; wave < 4; wave++) {
        const calls = clients.flatMap((client, i) =>
          Array.from({ length: 5 }, async (_, round) => {
            try {
              const r = (i + round) % 2 === 0 ? await client.call('GetArtifactsByID', { artifact_ids: ['1', '2', '3'] }) : await client.call('GetArtifacts', { options: { max_result_size: 5 } });
              expect((r.artifacts as Msg[]).length).toBeGreaterThan(0);
              answered++;
            } catch (e) {
              failures.push(`${(e as grpc.ServiceError).code} ${(e as grpc.ServiceError).details}`);
            }
          }),
        );
        kills += await killConnectionsTo(nameOf(database.url));
        await Promise.all(calls);
      }
      expect(kills, 'connections were killed while calls ran').toBeGreaterThan(0);
      expect(failures).toEqual([]);
      expect(answered).toBe(400);
    } finally {
      for (const c of clients) c.close();
      await shim.close();
    }
  });

  it('answers UNAVAILABLE while the database is gone, logs the outage once, and recovers', async () => {
    const relay = new Relay();
    await relay.up();
    const { logger, lines } = capturingLogger();
    const url = `mysql://${MARIADB_USER}@127.0.0.1:${relay.port}/${nameOf(database.url)}`;
    const shim = await startShim({ mlmdUrl: url, host: '127.0.0.1', port: 0, grpcWebPort: 0, logger });
    const client = mlmdClient(shim.port);
    try {
      expect(((await client.call('GetArtifactsByID', { artifact_ids: ['1'] })).artifacts as Msg[]).length).toBe(1);
      await relay.down();
      for (let i = 0; i < 5; i++) {
        const e = await client.fail('GetArtifactsByID', { artifact_ids: ['1'] });
        expect(e.code, e.details).toBe(grpc.status.UNAVAILABLE);
        expect(e.details).toContain('cannot be reached');
      }
      expect(lines.filter((l) => l.msg.startsWith('database unreachable'))).toHaveLength(1);
      expect(lines.filter((l) => l.level === 'error' && l.msg === 'rpc failed')).toEqual([]);
      await relay.up();
      expect(((await client.call('GetArtifactsByID', { artifact_ids: ['1'] })).artifacts as Msg[]).length).toBe(1);
      expect(((await client.call('GetArtifactsByID', { artifact_ids: ['2'] })).artifacts as Msg[]).length).toBe(1);
      expect(lines.filter((l) => l.msg === 'database reachable again')).toHaveLength(1);
    } finally {
      client.close();
      await shim.close();
      await relay.down();
    }
  });

  it('kills the statement of a cancelled call on the server (KILL QUERY)', async () => {
    const db = await openDb(database.url, { readOnly: true });
    const c = await server();
    const sleeping = async () => {
      const [rows] = (await c.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'")) as unknown as [{ n: number }[]];
      return Number(rows[0]!.n);
    };
    try {
      const controller = new AbortController();
      const statement = withQuerySignal(controller.signal, () => db.all('SELECT SLEEP(60) AS s'));
      while ((await sleeping()) === 0) await new Promise((r) => setTimeout(r, 20));
      controller.abort(new Error('the call was cancelled'));
      await expect(statement).rejects.toThrow('the call was cancelled');
      // The kill has run by the time the statement gave up; the server thread stops at once (well inside the 60 s).
      let left = await sleeping();
      for (let i = 0; i < 50 && left > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        left = await sleeping();
      }
      expect(left).toBe(0);
      // A cancelled caller starts no new statement.
      await expect(withQuerySignal(controller.signal, () => db.all('SELECT 1'))).rejects.toThrow('the call was cancelled');
    } finally {
      await c.end();
      await db.close();
    }
  });
});

/** The CLI's stdout up to the line naming its gRPC port. */
function grpcPortOf(child: ReturnType<typeof startCli>['child']): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /gRPC on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the shim exited ${code} before listening`)));
  });
}

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

describe('shim process (the CLI)', () => {
  let archive: TempDatabase;

  beforeAll(async () => {
    archive = await tempSqlite('shimproc');
    await buildWideArchive(archive.url, { artifacts: 100, pipelines: 0, runContexts: 100 });
  });

  afterAll(async () => {
    await archive?.drop();
  });

  it('SIGTERM during a long call: the call is cancelled (UNAVAILABLE), the pools close after it, exit 0', async () => {
    const cli = startCli(['shim', '--mlmd', archive.url, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0', '--shutdown-timeout', '4', '--max-work', '2000000000']);
    const port = await grpcPortOf(cli.child);
    const client = mlmdClient(port);
    try {
      // 100 contexts joined four times: 100 million choices, far more than 4 s of work.
      const long = client.fail('GetExecutions', { options: { filter_query: 'contexts_a.id > 0 AND contexts_b.id > 0 AND contexts_c.id > 0 AND contexts_d.id > 0 AND NOT (id = 1)' } });
      // Answered while the long call works (it yields): the shim has started on it.
      expect((await client.call('GetArtifactTypes', {})).artifact_types).toHaveLength(1);
      cli.child.kill('SIGTERM');
      const e = await long;
      expect(e.code, e.details).toBe(grpc.status.UNAVAILABLE);
      expect(e.details).toContain('shutting down');
      const result = await cli.done;
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('calls still running at the shutdown bound are cancelled');
      const stopped = result.stderr.split('\n').find((l) => l.includes('"msg":"shim stopped"'));
      expect(JSON.parse(stopped!)).toMatchObject({ cancelled: true, poolsClosed: true });
      expect(result.stderr).not.toContain('Pool is closed');
      expect(result.stderr).not.toContain('"code":"INTERNAL"');
    } finally {
      client.close();
      cli.child.kill('SIGKILL');
    }
  });

  it('refuses 1 M ids (over --max-request-bytes) and 700,000 ids (over --max-ids) without its memory growing past 64 MiB', async () => {
    const cli = startCli(['shim', '--mlmd', archive.url, '--host', '127.0.0.1', '--port', '0', '--grpc-web-port', '0']);
    const port = await grpcPortOf(cli.child);
    const pid = cli.child.pid!;
    const clients = [mlmdClient(port), mlmdClient(port)];
    try {
      expect(((await clients[0]!.call('GetArtifactsByID', { artifact_ids: ['1'] })).artifacts as Msg[]).length).toBe(1);
      const before = rssKiB(pid, 'VmRSS');
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssKiB(pid, 'VmRSS'));
      }, 5);
      const ids = (n: number) => Array.from({ length: n }, (_, i) => String((i % 1000) + 1));
      const [big, many, twice] = await Promise.all([
        clients[0]!.fail('GetArtifactsByID', { artifact_ids: ids(1_000_000) }),
        clients[1]!.fail('GetArtifactsByID', { artifact_ids: ids(700_000) }),
        clients[1]!.fail('GetEventsByArtifactIDs', { artifact_ids: ids(700_000) }),
      ]);
      clearInterval(sampler);
      peak = Math.max(peak, rssKiB(pid, 'VmHWM') > peak ? rssKiB(pid, 'VmRSS') : peak);
      expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(many.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(many.details).toContain('--max-ids');
      expect(twice.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((peak - before) / 1024, 'MiB the shim grew by').toBeLessThan(64);
      // Still serving.
      expect(((await clients[0]!.call('GetArtifactsByID', { artifact_ids: ['2'] })).artifacts as Msg[]).length).toBe(1);
    } finally {
      for (const c of clients) c.close();
      cli.child.kill('SIGTERM');
      expect((await cli.done).code).toBe(0);
    }
  });
});
