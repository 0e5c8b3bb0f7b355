/**
 * The staged upgrade at one size, beside the full migrate of the same source: a full `stage`, a
 * true-up with nothing changed, a true-up after 1 % of the runs changed (new, finished and deleted,
 * played on the databases as KFP 2.x would: src/seed/activity.ts), and the cut-over outage (the wall
 * time of `cutover`, with nothing changed and after the same 1 %). Each cut-over runs on a copy of
 * the staged KFP database, so both start from the same state. It writes MLMD (the new runs), so it
 * runs after every other measurement of the size, or on a copy of the MLMD database.
 *
 * The same measurement for a KFP database on MariaDB and on PostgreSQL: `KfpServer` says how to
 * name and copy a database on each; the MLMD database is a MariaDB one either way.
 */
import { openDb } from '../src/db/connection.ts';
import { addRunsLike, deleteRuns, finishRunningRuns, nextMlmdTime } from '../src/seed/activity.ts';
import { measureCommand } from './workloads.ts';

/** Where the KFP databases of one staged measurement live: their URLs, and a server-side copy of one into a new one. */
export interface KfpServer {
  url(database: string): string;
  copy(from: string, to: string): Promise<void>;
}

export interface StagedFigures {
  full: number;
  idleTrueUp: number;
  changed: { runs: number; added: number; finished: number; deleted: number };
  changedTrueUp: number;
  /** Runs that true-up read again (changed, or near the watermark). */
  changedTrueUpRuns: number;
  cutoverIdle: number;
  cutoverChanged: number;
  /** cutover's own account of its swap (the RENAME), inside the wall times above. */
  swapSeconds: { idle: number; changed: number };
}

/** Wall seconds of one mlmd-bridge command, and its JSON summary. */
async function timed(args: string[]): Promise<{ wall: number; summary: Record<string, any> }> {
  const { r } = await measureCommand([...args, '--json'], [0, 1]);
  return { wall: r.wallSeconds, summary: JSON.parse(r.stdout) as Record<string, any> };
}

/** `mlmd`: the MLMD database's URL; `kfp2Db`: a KFP 2.x database on `kfp` seeded with the same `runs` runs. */
export async function measureStaged(mlmd: string, kfp: KfpServer, kfp2Db: string, scratchName: (purpose: string) => string, runs: number): Promise<StagedFigures> {
  const stageArgs = (db: string) => ['--mlmd', mlmd, '--kfp', kfp.url(db)];
  const full = await timed(['stage', ...stageArgs(kfp2Db)]);
  const idle = await timed(['stage', ...stageArgs(kfp2Db)]);

  const idleCopy = scratchName('cutidle');
  await kfp.copy(kfp2Db, idleCopy);
  const cutIdle = await timed(['cutover', ...stageArgs(idleCopy)]);

  const changed = await playOnePercent(mlmd, kfp.url(kfp2Db), runs);
  const changedCopy = scratchName('cutchg');
  await kfp.copy(kfp2Db, changedCopy);
  const trueUp = await timed(['stage', ...stageArgs(kfp2Db)]);
  const cutChanged = await timed(['cutover', ...stageArgs(changedCopy)]);
  return {
    full: full.wall,
    idleTrueUp: idle.wall,
    changed,
    changedTrueUp: trueUp.wall,
    changedTrueUpRuns: Number(trueUp.summary.stage?.changedRuns ?? 0),
    cutoverIdle: cutIdle.wall,
    cutoverChanged: cutChanged.wall,
    swapSeconds: { idle: Number(cutIdle.summary.swapSeconds), changed: Number(cutChanged.summary.swapSeconds) },
  };
}

/** 1 % of the runs (at least 3): a third new, a third finished (as far as runs are running), the rest deleted. */
async function playOnePercent(mlmdUrl: string, kfpUrl: string, runs: number): Promise<StagedFigures['changed']> {
  const total = Math.max(3, Math.round(runs / 100));
  const mlmd = await openDb(mlmdUrl, { role: 'bench MLMD database' });
  const kfp = await openDb(kfpUrl, { role: 'bench KFP database' });
  try {
    const settled = (await kfp.all<{ UUID: string }>("SELECT `UUID` FROM `run_details` WHERE `State` <> 'RUNNING' ORDER BY `UUID`")).map((r) => r.UUID);
    const addCount = Math.ceil(total / 3);
    const now = await nextMlmdTime(mlmd);
    const added = await addRunsLike(mlmd, kfp, settled.slice(0, addCount), now);
    const finished = await finishRunningRuns(mlmd, kfp, Math.floor(total / 3), now);
    const deleteCount = Math.max(0, total - added.length - finished.length);
    // From the other end of the list than the templates, so no copied run is deleted.
    const toDelete = settled.slice(Math.max(addCount, settled.length - deleteCount));
    await deleteRuns(kfp, toDelete);
    return { runs: added.length + finished.length + toDelete.length, added: added.length, finished: finished.length, deleted: toDelete.length };
  } finally {
    await mlmd.close();
    await kfp.close();
  }
}
