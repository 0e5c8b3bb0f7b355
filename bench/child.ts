/**
 * Runs one `mlmd-bridge` command in a child process and watches its memory from outside, so the
 * figure is the real peak resident set of the command and nothing of the benchmark's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds } from './cpu.ts';

export const CLI = fileURLToPath(new URL('../bin/mlmd-bridge.js', import.meta.url));

/** Commands started and not yet exited: what an interrupted bench must stop before it drops its databases. */
const running = new Set<ChildProcess>();

function tracked<C extends ChildProcess>(child: C): C {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** SIGTERM to every command still running, SIGKILL to any still there after `graceMs`; resolves once all have exited. */
export async function stopAllCommands(graceMs = 10_000): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
        }),
    ),
  );
}

/** Often enough to catch a short-lived peak; VmHWM itself never goes down, so a late sample is still right. */
const RSS_POLL_MS = 20;

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  /** Peak resident set (VmHWM) in MiB; null where /proc is not available. */
  peakRssMiB: number | null;
  /** User + system CPU seconds of the command, as last sampled (at most RSS_POLL_MS before it ended); null without /proc. */
  cpuSeconds: number | null;
}

function highWaterMarkKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function runCliMeasured(args: string[]): Promise<ChildResult> {
  const started = process.hrtime.bigint();
  const child = tracked(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  let peakKiB: number | null = null;
  let cpuSeconds: number | null = null;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const sample = () => {
    const kib = child.pid === undefined ? null : highWaterMarkKiB(child.pid);
    if (kib !== null) peakKiB = Math.max(peakKiB ?? 0, kib);
    const cpu = child.pid === undefined ? null : processCpuSeconds(child.pid);
    if (cpu !== null) cpuSeconds = cpu;
  };
  const timer = setInterval(sample, RSS_POLL_MS);
  // 'exit' fires while the process may still be a zombie whose /proc entry is readable; sample once more there.
  child.on('exit', sample);
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ code, stdout, stderr, wallSeconds, peakRssMiB: peakKiB === null ? null : peakKiB / 1024, cpuSeconds });
    });
  });
}

/** Whether this checkout's CLI has a command (verify and shim arrive in later milestones). */
export async function cliHasCommand(name: string): Promise<boolean> {
  const r = await runCliMeasured(['--help']);
  return new RegExp(`^\\s+${name}\\b`, 'm').test(r.stdout);
}

export interface LongRunningChild {
  /** The capture groups of the line that said the command was ready. */
  ready: RegExpExecArray;
  /** Peak resident set so far, in MiB (null where /proc is not available). */
  peakRssMiB(): number | null;
  /** CPU seconds the command has used so far (null where /proc is not available). */
  cpuSeconds(): number | null;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts a command that keeps running (the shim) and resolves once a line of its stdout matches
 * `ready`. stderr (the shim's per-call log) is read and dropped, so the pipe never fills.
 */
export function startCli(args: string[], ready: RegExp, timeoutMs = 30_000): Promise<LongRunningChild> {
  const child = tracked(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let peakKiB: number | null = null;
  const sample = () => {
    const kib = child.pid === undefined ? null : highWaterMarkKiB(child.pid);
    if (kib !== null) peakKiB = Math.max(peakKiB ?? 0, kib);
  };
  const timer = setInterval(sample, RSS_POLL_MS);
  let stdout = '';
  let stderrTail = '';
  child.stderr.on('data', (d) => (stderrTail = (stderrTail + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    sample();
    clearInterval(timer);
    resolve(code);
  }));
  const handle = (match: RegExpExecArray): LongRunningChild => ({
    ready: match,
    peakRssMiB: () => (sample(), peakKiB === null ? null : peakKiB / 1024),
    cpuSeconds: () => (child.pid === undefined ? null : processCpuSeconds(child.pid)),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (child.exitCode === null) child.kill('SIGTERM');
      reject(new Error(`${why}; stderr: ${stderrTail.trim().slice(-1000)}`));
    };
    const deadline = setTimeout(() => fail(`mlmd-bridge ${args[0]} was not ready after ${timeoutMs} ms`), timeoutMs);
    child.on('error', (e) => fail(e.message));
    void exited.then((code) => fail(`mlmd-bridge ${args[0]} exited ${code} before it was ready`));
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = ready.exec(stdout);
      if (m && !settled) {
        settled = true;
        clearTimeout(deadline);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(handle(m));
      }
    });
  });
}
