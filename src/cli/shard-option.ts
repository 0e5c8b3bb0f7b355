/**
 * `--shard i/N` of the batch commands, and its stand-in in a Kubernetes Indexed Job: the pod's
 * JOB_COMPLETION_INDEX (set by Kubernetes) with MLMD_BRIDGE_SHARDS (set in the manifest) as N.
 * A bad value is a usage error (exit 2) in one line naming what was given.
 */
import { InvalidArgumentError, Option } from 'commander';
import { BridgeError } from '../errors.ts';
import { MAX_SHARDS, parseShard, type Shard } from '../transform/shard.ts';

export const SHARD_COUNT_ENV = 'MLMD_BRIDGE_SHARDS';
export const JOB_INDEX_ENV = 'JOB_COMPLETION_INDEX';

const expected = `i/N with 0 ≤ i < N ≤ ${MAX_SHARDS}`;

export const shardOption = () =>
  new Option(
    '--shard <i/N>',
    `do shard i of N only (runs are given to shards by a stable hash of the run); N processes with i = 0 … N-1 together do it all. ` +
      `Default: ${JOB_INDEX_ENV}/${SHARD_COUNT_ENV} when ${SHARD_COUNT_ENV} is set (a Kubernetes Indexed Job), else unsharded`,
  ).argParser((v: string): Shard => {
    const shard = parseShard(v);
    if (!shard) throw new InvalidArgumentError(`--shard must be ${expected} (got "${v}")`);
    return shard;
  });

/** The shard from --shard, else from an Indexed Job's environment, else none. */
export function resolveShard(given: Shard | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (given) return given;
  const count = env[SHARD_COUNT_ENV];
  if (count === undefined || count === '') return undefined;
  const index = env[JOB_INDEX_ENV];
  if (index === undefined || index === '') {
    throw new BridgeError('USAGE', `${SHARD_COUNT_ENV}=${count} is set but ${JOB_INDEX_ENV} is not`, `run as an Indexed Job (completionMode: Indexed), or give --shard i/N`);
  }
  const shard = parseShard(`${index}/${count}`);
  if (!shard) throw new BridgeError('USAGE', `${JOB_INDEX_ENV}=${index} with ${SHARD_COUNT_ENV}=${count} is not a shard (${expected})`, `set ${SHARD_COUNT_ENV} to the Job's completions`);
  return shard;
}
