/**
 * The shim's side of the benchmark: requests/s and p50/p99 latency of the KFP UI's whole-run
 * calls against `mlmd-bridge shim --kfp`, beside the same SQL run directly. The load generator is
 * not written yet: the CLI has no `shim` command and the shim cannot serve --kfp (src/shim/server.ts),
 * so this reports why it measured nothing rather than a made-up figure.
 */
import { cliHasCommand } from './child.ts';

export interface Latency {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export type ShimResult = { available: false; reason: string } | { available: true; backend: string; shim: Latency; direct: Latency };

export async function measureShim(_mlmdUrl: string, _kfpUrl: string, log: (s: string) => void): Promise<ShimResult> {
  if (!(await cliHasCommand('shim'))) return { available: false, reason: 'no shim command in the CLI yet' };
  log('the CLI has a shim command, but the benchmark has no load generator for it yet');
  return { available: false, reason: 'shim load generator not written yet' };
}
