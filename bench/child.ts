/**
 * Runs one `mlmd-bridge` command in a child process and watches its memory from outside, so the
 * figure is the real peak resident set of the command and nothing of the benchmark's own.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../bin/mlmd-bridge.js', import.meta.url));

/** Often enough to catch a short-lived peak; VmHWM itself never goes down, so a late sample is still right. */
const RSS_POLL_MS = 20;

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  /** Peak resident set (VmHWM) in MiB; null where /proc is not available. */
  peakRssMiB: number | null;
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
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakKiB: number | null = null;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const sample = () => {
    const kib = child.pid === undefined ? null : highWaterMarkKiB(child.pid);
    if (kib !== null) peakKiB = Math.max(peakKiB ?? 0, kib);
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
      resolve({ code, stdout, stderr, wallSeconds, peakRssMiB: peakKiB === null ? null : peakKiB / 1024 });
    });
  });
}

/** Whether this checkout's CLI has a command (verify and shim arrive in later milestones). */
export async function cliHasCommand(name: string): Promise<boolean> {
  const r = await runCliMeasured(['--help']);
  return new RegExp(`^\\s+${name}\\b`, 'm').test(r.stdout);
}
