/**
 * Sharding: which of N shards a KFP run belongs to. A run's shard is a stable hash of its run
 * context's name (the run UUID) modulo N, so every process that is given the same N agrees on it,
 * whatever order runs are read in and whichever machine reads them, and a re-run of one shard
 * touches exactly the runs it did before.
 */
import { createHash } from 'node:crypto';

export interface Shard {
  /** 0 … count - 1 */
  index: number;
  count: number;
}

/** The largest shard count accepted: more shards than this would only contend on the database. */
export const MAX_SHARDS = 1_000;

export function shardOfRun(runName: string, count: number): number {
  // The first 6 bytes of SHA-256: uniform, and exact as a JavaScript number.
  return createHash('sha256').update(runName).digest().readUIntBE(0, 6) % count;
}

export function inShard(runName: string, shard: Shard): boolean {
  return shardOfRun(runName, shard.count) === shard.index;
}

/** "i/N" as the operator writes it; null when it is not of that form or out of range. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS || index >= count) return null;
  return { index, count };
}

export const formatShard = (s: Shard): string => `${s.index}/${s.count}`;
