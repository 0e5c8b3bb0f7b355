/**
 * CPU seconds of a process from /proc (Linux): of the command under test, and of the database
 * server when it runs on this machine, so that each figure says which side the time went to.
 * Everywhere else these read as null and the report says n/a.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // what every Linux on x86 and arm64 uses
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of a process and all its threads so far; null if it is gone or /proc is missing. */
export function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const ticks = cpuTicksOfStat(stat);
  return ticks === null ? null : ticks / clockTicks();
}

/** utime + stime (fields 14 and 15 of proc(5)'s /proc/<pid>/stat) in clock ticks; null when the line has no such fields. */
export function cpuTicksOfStat(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(close + 2).split(' ');
  const utime = fields[11] === undefined ? NaN : Number(fields[11]);
  const stime = fields[12] === undefined ? NaN : Number(fields[12]);
  return Number.isInteger(utime) && Number.isInteger(stime) ? utime + stime : null;
}

/** The local MariaDB/MySQL server process, if there is exactly one. */
export function databaseServerPid(): number | null {
  let found: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
        if (comm === 'mariadbd' || comm === 'mysqld') found.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
  } catch {
    found = [];
  }
  return found.length === 1 ? found[0]! : null;
}

/** CPU seconds the database server spends while `work` runs; null when the server is not a local process. */
export async function withServerCpu<T>(work: () => Promise<T>): Promise<{ result: T; serverCpuSeconds: number | null }> {
  const pid = databaseServerPid();
  const before = pid === null ? null : processCpuSeconds(pid);
  const result = await work();
  const after = pid === null ? null : processCpuSeconds(pid);
  return { result, serverCpuSeconds: before === null || after === null ? null : Math.round((after - before) * 1000) / 1000 };
}
