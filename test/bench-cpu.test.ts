/** The benchmark's CPU accounting reads /proc: the figures it prints must be the process's own. */
import { describe, expect, it } from 'vitest';
import { databaseServerPid, processCpuSeconds, withServerCpu } from '../bench/cpu.ts';
import { openDb } from '../src/db/connection.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER } from './helpers/databases.ts';

describe.runIf(process.platform === 'linux')('bench CPU accounting', () => {
  it('reads this process\'s CPU seconds, which grow with work and stay near what Node counts', () => {
    const before = processCpuSeconds(process.pid)!;
    const usageBefore = process.cpuUsage();
    let x = 0;
    // Spin for CPU time, not wall time: on a busy machine 300 ms of wall time may hold far less CPU.
    while (process.cpuUsage(usageBefore).user < 300_000) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    const after = processCpuSeconds(process.pid)!;
    const used = process.cpuUsage(usageBefore);
    expect(x).toBeGreaterThan(0);
    expect(after - before).toBeGreaterThan(0.2);
    // /proc counts every thread in clock ticks; Node counts the same process in microseconds.
    expect(Math.abs(after - before - (used.user + used.system) / 1e6)).toBeLessThan(0.1);
  });

  it('has no figure for a process that does not exist', () => {
    expect(processCpuSeconds(2 ** 22 + 12345)).toBeNull();
  });

  it('finds the local MariaDB server and counts its CPU while a query runs', async () => {
    expect(databaseServerPid()).not.toBeNull();
    const db = await openDb(`mysql://${MARIADB_USER}@${MARIADB_HOST}:${MARIADB_PORT}/mysql`);
    try {
      const { serverCpuSeconds } = await withServerCpu(() => db.all('SELECT BENCHMARK(20000000, MD5(\'x\')) AS b'));
      expect(serverCpuSeconds).not.toBeNull();
      expect(serverCpuSeconds!).toBeGreaterThan(0.1);
    } finally {
      await db.close();
    }
  });
});
