/** Runs the real CLI in a child process, as an operator or CI would; and any other command the same way. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/mlmd-bridge.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `command`; `done` settles once it has exited and its output is read (rejects if it could not start). */
export function startProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, uid: options.uid, gid: options.gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** `cli`: another copy of bin/mlmd-bridge.js, such as one in an installed package. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cli = CLI): { child: ChildProcess; done: Promise<CliResult> } {
  return startProcess(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cli = CLI): Promise<CliResult> {
  return startCli(args, env, cli).done;
}
