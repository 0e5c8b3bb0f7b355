/**
 * Errors crossing a thread boundary (src/workers/errors.ts), through a real MessageChannel, as the
 * worker pool's messages do: what the main thread decides on (BridgeError's code and exit code, a
 * driver's errno, code and fatal flag) arrives intact. The errors are real ones from the drivers.
 */
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeError } from '../src/errors.ts';
import { deserializeError, serializeError, type SerializedError } from '../src/workers/errors.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER } from './helpers/databases.ts';

const { port1, port2 } = new MessageChannel();
afterAll(() => {
  port1.close();
  port2.close();
});

/** Posted from one port to the other (structured clone) and rebuilt on arrival. */
function across(e: unknown): Promise<Error> {
  return new Promise((resolve) => {
    (port2 as MessagePort).once('message', (m: SerializedError) => resolve(deserializeError(m)));
    port1.postMessage(serializeError(e));
  });
}

const thrown = async (f: () => unknown): Promise<unknown> => {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

describe('errors crossing threads', () => {
  it('a BridgeError arrives as a BridgeError with its code, hint and exit code', async () => {
    const e = await across(new BridgeError('LOCK_HELD', 'another migration holds the lock', 'wait for it'));
    expect(e).toBeInstanceOf(BridgeError);
    expect(e).toMatchObject({ name: 'BridgeError', code: 'LOCK_HELD', hint: 'wait for it', message: 'another migration holds the lock', exitCode: 3 });
    expect(e.stack).toContain('worker-errors.test.ts');
  });

  it('a SQLite error keeps its code', async () => {
    const db = new Database(':memory:');
    const original = await thrown(() => db.exec('SELECT * FROM no_such_table'));
    db.close();
    const e = await across(original);
    expect(e).toMatchObject({ code: 'SQLITE_ERROR', message: 'no such table: no_such_table' });
  });

  it('a MySQL error keeps its errno, code and SQL state, and a fatal one its fatal flag', async () => {
    const c = await mysql.createConnection({ host: MARIADB_HOST, port: MARIADB_PORT, user: MARIADB_USER });
    const original = (await thrown(() => c.query('SELECT * FROM mysql.no_such_table'))) as { errno: number; message: string };
    await c.end();
    expect(original.errno).toBe(1146);
    const e = await across(original);
    expect(e).toMatchObject({ errno: 1146, code: 'ER_NO_SUCH_TABLE', sqlState: '42S02', sqlMessage: original.message });
    expect(e.message).toBe(original.message);
    // A lost connection is fatal (the migration stops instead of recording the run as failed): the flag crosses too.
    const refused = (await thrown(() => mysql.createConnection({ host: MARIADB_HOST, port: 1, user: MARIADB_USER }))) as { fatal: boolean; code: string };
    expect(refused).toMatchObject({ fatal: true, code: 'ECONNREFUSED' });
    expect(await across(refused)).toMatchObject({ fatal: true, code: 'ECONNREFUSED' });
  });

  it('an error with a cause keeps the cause; a thrown non-error becomes an error naming it', async () => {
    const e = await across(new Error('mapping failed', { cause: new BridgeError('STATE_CORRUPT', 'bad row') }));
    expect(e.cause).toBeInstanceOf(BridgeError);
    expect(e.cause).toMatchObject({ code: 'STATE_CORRUPT', message: 'bad row' });
    const odd = await across('just a string');
    expect(odd).toBeInstanceOf(Error);
    expect(odd.message).toContain('just a string');
  });
});
