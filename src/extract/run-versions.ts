/**
 * A cheap fingerprint of each run's source state, so a re-run of `migrate` can skip runs it has
 * already migrated and that have not changed since (resume, and the true-up before cut-over).
 * Executions are re-put by KFP whenever anything about them changes (state, outputs, cache-hit
 * events), so their count, ids, states and update times, plus their events, cover what KFP writes.
 * The update times of the run context and of the run's artifacts cover the rest: a client that
 * edits an artifact (its URI, its properties) or the run context through MLMD's API moves only
 * those, and the change finder of a true-up finds such a run through them, only to skip it if the
 * fingerprint did not see them.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import type { RunBundle } from '../transform/model.ts';
import { chunked, num, placeholders } from '../db/sql.ts';

interface ExecutionTotals {
  n: number;
  ids: number;
  upd: number;
  st: number;
}
interface EventTotals {
  n: number;
  arts: number;
  maxid: number;
  /** Newest update time of the artifacts the events name (0: none exists). */
  artupd: number;
}

export async function readRunVersions(db: Db, contextIds: number[]): Promise<Map<number, string>> {
  const parts = new Map<number, string>();
  const contextUpdates = new Map<number, number>();
  for (const ids of chunked(contextIds)) {
    const ph = placeholders(ids.length);
    const execs = await db.all<Record<string, unknown>>(
      'SELECT s.`context_id` AS ctx, COUNT(*) AS n, SUM(e.`id`) AS ids, MAX(e.`last_update_time_since_epoch`) AS upd, ' +
        'SUM(COALESCE(e.`last_known_state`, 0) * (e.`id` % 97)) AS st ' +
        'FROM `Association` s JOIN `Execution` e ON e.`id` = s.`execution_id` ' +
        `WHERE s.\`context_id\` IN (${ph}) GROUP BY s.\`context_id\``,
      ids,
    );
    const events = await db.all<Record<string, unknown>>(
      'SELECT s.`context_id` AS ctx, COUNT(*) AS n, SUM(ev.`artifact_id`) AS arts, MAX(ev.`id`) AS maxid, MAX(a.`last_update_time_since_epoch`) AS artupd ' +
        'FROM `Association` s JOIN `Event` ev ON ev.`execution_id` = s.`execution_id` LEFT JOIN `Artifact` a ON a.`id` = ev.`artifact_id` ' +
        `WHERE s.\`context_id\` IN (${ph}) GROUP BY s.\`context_id\``,
      ids,
    );
    const contexts = await db.all<Record<string, unknown>>(`SELECT \`id\`, \`last_update_time_since_epoch\` AS upd FROM \`Context\` WHERE \`id\` IN (${ph})`, ids);
    for (const r of contexts) contextUpdates.set(num(r.id), num(r.upd));
    const totals = new Map<number, EventTotals>();
    for (const r of events) totals.set(num(r.ctx), { n: num(r.n), arts: num(r.arts), maxid: num(r.maxid), artupd: num(r.artupd) || 0 });
    for (const r of execs) {
      parts.set(num(r.ctx), versionOf({ n: num(r.n), ids: num(r.ids), upd: num(r.upd), st: num(r.st) }, totals.get(num(r.ctx)) ?? null));
    }
  }
  const out = new Map<number, string>();
  for (const id of contextIds) out.set(id, withContext(parts.get(id) ?? versionOf(null, null), contextUpdates.get(id) ?? 0));
  return out;
}

/**
 * The same fingerprint from a run's bundle, which holds the very rows those queries add up: a
 * migration with no checkpoints to compare against takes it from the records it reads anyway
 * instead of asking the database twice. Were it ever to differ (an event of an execution that does
 * not exist counts there, not here), the next migrate would merely migrate that run again.
 */
export function versionOfBundle(bundle: RunBundle): string {
  return withContext(versionOfRecords(bundle), bundle.runContext.updateMs);
}

function versionOfRecords(bundle: RunBundle): string {
  if (bundle.executions.length === 0) return versionOf(null, null);
  const exec: ExecutionTotals = { n: 0, ids: 0, upd: 0, st: 0 };
  for (const e of bundle.executions) {
    exec.n++;
    exec.ids += e.id;
    exec.upd = Math.max(exec.upd, e.updateMs);
    exec.st += (e.lastKnownState ?? 0) * (e.id % 97);
  }
  if (bundle.events.length === 0) return versionOf(exec, null);
  const ev: EventTotals = { n: 0, arts: 0, maxid: 0, artupd: 0 };
  for (const e of bundle.events) {
    ev.n++;
    ev.arts += e.artifactId;
    ev.maxid = Math.max(ev.maxid, e.id);
  }
  for (const a of bundle.artifacts) ev.artupd = Math.max(ev.artupd, a.updateMs);
  return versionOf(exec, ev);
}

function versionOf(exec: ExecutionTotals | null, events: EventTotals | null): string {
  const parts = exec ? [`e:${exec.n}:${exec.ids}:${exec.upd}:${exec.st}`] : ['empty'];
  if (exec && events) parts.push(`v:${events.n}:${events.arts}:${events.maxid}:${events.artupd}`);
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 32);
}

/** The run context's own update time joins the records' fingerprint. */
function withContext(version: string, contextUpdateMs: number): string {
  return createHash('sha256').update(`${version}|c:${contextUpdateMs}`).digest('hex').slice(0, 32);
}
