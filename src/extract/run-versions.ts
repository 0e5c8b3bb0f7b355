/**
 * A cheap fingerprint of each run's source state, so a re-run of `migrate` can skip runs it has
 * already migrated and that have not changed since (resume, and the true-up before cut-over).
 * Executions are re-put by KFP whenever anything about them changes (state, outputs, cache-hit
 * events), so their count, ids, states and update times, plus their events, cover a run.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { chunked, num, placeholders } from './sql.ts';

export async function readRunVersions(db: Db, contextIds: number[]): Promise<Map<number, string>> {
  const parts = new Map<number, string[]>();
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
      'SELECT s.`context_id` AS ctx, COUNT(*) AS n, SUM(ev.`artifact_id`) AS arts, MAX(ev.`id`) AS maxid ' +
        'FROM `Association` s JOIN `Event` ev ON ev.`execution_id` = s.`execution_id` ' +
        `WHERE s.\`context_id\` IN (${ph}) GROUP BY s.\`context_id\``,
      ids,
    );
    for (const r of execs) parts.set(num(r.ctx), [`e:${num(r.n)}:${num(r.ids)}:${num(r.upd)}:${num(r.st)}`]);
    for (const r of events) (parts.get(num(r.ctx)) ?? []).push(`v:${num(r.n)}:${num(r.arts)}:${num(r.maxid)}`);
  }
  const out = new Map<number, string>();
  for (const id of contextIds) {
    const text = (parts.get(id) ?? ['empty']).join('|');
    out.set(id, createHash('sha256').update(text).digest('hex').slice(0, 32));
  }
  return out;
}
