/**
 * The benchmark's CPU accounting reads /proc: the figures it prints must be the process's own. Checked
 * without a clock: the fields it takes from literal stat lines, and readings that must lie between the
 * test's own readings of the same counter.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuTicksOfStat, databaseServerPid, processCpuSeconds, withServerCpu } from '../bench/cpu.ts';
import { openDb } from '../src/db/connection.ts';
import { MARIADB_HOST, MARIADB_PORT, MARIADB_USER } from './helpers/databases.ts';

describe('bench CPU accounting: /proc/<pid>/stat', () => {
  // Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime …
  const tail = 'S 1 100 100 0 -1 4194560 8876 0 12 0 1234 567 89 10 20 0 14 0 2861 1430425600 52000';

  it.each([
    ['a plain command name', `3816 (mariadbd) ${tail}`, 1234 + 567],
    ['a command name with spaces and parentheses', `42 (my (odd) cmd) ${tail}`, 1234 + 567],
    ['a command name that is a closing parenthesis', `42 ()) ${tail}`, 1234 + 567],
  ])('takes utime + stime (fields 14 and 15, not the children’s cutime/cstime) from %s', (_label, stat, ticks) => {
    expect(cpuTicksOfStat(stat)).toBe(ticks);
  });

  it.each([
    ['no command name', '3816 mariadbd S 1 100'],
    ['a truncated line', '3816 (mariadbd) S 1 100 100 0 -1 4194560 8876 0 12 0 1234'],
    ['a field that is not a number', `3816 (mariadbd) ${tail.replace('1234', 'x')}`],
  ])('has no figure for %s', (_label, stat) => {
    expect(cpuTicksOfStat(stat)).toBeNull();
  });
});

describe.runIf(process.platform === 'linux')('bench CPU accounting on this machine', () => {
  it("reads this process's utime + stime in seconds: between the test's own readings of its stat line", () => {
    const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const ownTicks = () => cpuTicksOfStat(readFileSync('/proc/self/stat', 'utf8'))!;
    for (let i = 0; i < 5; i++) {
      const before = ownTicks();
      const seconds = processCpuSeconds(process.pid);
      const after = ownTicks();
      expect(seconds).toBeTypeOf('number');
      const ticks = Math.round(seconds! * clockTicks);
      expect(Math.abs(seconds! * clockTicks - ticks)).toBeLessThan(1e-6);
      expect(ticks).toBeGreaterThanOrEqual(before);
      expect(ticks).toBeLessThanOrEqual(after);
    }
  });

  it('has no figure for a process that does not exist', () => {
    expect(processCpuSeconds(2 ** 22 + 12345)).toBeNull();
  });

  it('finds the local MariaDB server and reports its CPU over the work as a share of what the server used meanwhile', async () => {
    const pid = databaseServerPid();
    expect(pid, 'the test server is a process on this machine').not.toBeNull();
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toMatch(/^(mariadbd|mysqld)$/);
    const db = await openDb(`mysql://${MARIADB_USER}@${MARIADB_HOST}:${MARIADB_PORT}/mysql`);
    try {
      const outerBefore = processCpuSeconds(pid!)!;
      const { result, serverCpuSeconds } = await withServerCpu(() => db.all<{ b: number }>("SELECT BENCHMARK(200000, MD5('x')) AS b"));
      const outerAfter = processCpuSeconds(pid!)!;
      expect(result).toEqual([{ b: 0 }]);
      expect(serverCpuSeconds).toBeTypeOf('number');
      expect(serverCpuSeconds!).toBeGreaterThanOrEqual(0);
      // Rounded to milliseconds by withServerCpu.
      expect(serverCpuSeconds!).toBeLessThanOrEqual(outerAfter - outerBefore + 0.0005);
    } finally {
      await db.close();
    }
  });
});
