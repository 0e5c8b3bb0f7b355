/**
 * KFP 2.x at work on a seeded database, for the tests and the bench of the staged upgrade: new runs
 * (a copy of an existing run under a new UUID, every MLMD record and the run_details row cloned),
 * with their v1 cache rows, running runs finishing, and runs deleted (run_details only: KFP never
 * cleans MLMD). MLMD stamps every record with the time it is written, so the copies take `nowMs`, later than
 * every time already in the database, as MLMD's own clock would.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Param, Queryable } from '../db/connection.ts';
import { insertMany } from '../db/insert.ts';
import { isV1TasksTable } from '../load/schema.ts';

type Row = Record<string, unknown>;

/** MLMD Execution.State: NEW=1, RUNNING=2, COMPLETE=3. */
const NEW_OR_RUNNING = [1, 2];
const COMPLETE = 3;

/** A time later than every MLMD update time and event time there is, like the next write of MLMD's server. */
export async function nextMlmdTime(mlmd: Db): Promise<number> {
  let max = Date.now();
  for (const [table, column] of [['Execution', 'last_update_time_since_epoch'], ['Context', 'last_update_time_since_epoch'], ['Artifact', 'last_update_time_since_epoch'], ['Event', 'milliseconds_since_epoch']]) {
    const [r] = await mlmd.all<Row>(`SELECT MAX(\`${column}\`) AS m FROM \`${table}\``);
    max = Math.max(max, Number(r?.m ?? 0));
  }
  return max + 1;
}

async function maxId(db: Queryable, table: string): Promise<number> {
  const [r] = await db.all<Row>(`SELECT MAX(\`id\`) AS m FROM \`${table}\``);
  return Number(r?.m ?? 0);
}

async function insertRows(db: Queryable, table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  await insertMany(db, table, columns, rows.map((r) => columns.map((c) => (r[c] ?? null) as Param)));
}

const inList = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The run contexts (id, UUID) of these run UUIDs. */
async function runContexts(mlmd: Db, uuids: string[]): Promise<Map<string, number>> {
  const rows = await mlmd.all<Row>(
    "SELECT c.`id`, c.`name` FROM `Context` c JOIN `Type` t ON t.`id` = c.`type_id` WHERE t.`name` = 'system.PipelineRun' AND c.`name` IN (" + inList(uuids.length) + ')',
    uuids,
  );
  return new Map(rows.map((r) => [String(r.name), Number(r.id)]));
}

/**
 * Copies each run of `templates` (run UUIDs) as a new run: its run context, executions, events,
 * artifacts and their properties, under new ids, the old UUID replaced by the new one in every
 * text, its run_details row and its v1 cache rows (MLMDExecutionID following the copy). Returns the
 * new UUIDs, each with the UUIDs of its v1 cache rows.
 */
export async function addRunsLike(mlmd: Db, kfp: Db, templates: string[], nowMs: number): Promise<{ uuid: string; v1Rows: string[] }[]> {
  const contexts = await runContexts(mlmd, templates);
  const created: { uuid: string; v1Rows: string[] }[] = [];
  for (const oldUuid of templates) {
    const ctx = contexts.get(oldUuid);
    if (ctx === undefined) continue;
    const newUuid = randomUUID();
    const swap = (v: unknown) => (typeof v === 'string' ? v.split(oldUuid).join(newUuid) : v);
    const fresh = (r: Row, extra: Row) => Object.fromEntries(Object.entries({ ...r, ...extra }).map(([k, v]) => [k, swap(v)]));
    const execIdMap = new Map<number, number>();
    await mlmd.transaction(async (tx) => {
      const newCtx = (await maxId(tx, 'Context')) + 1;
      const [c] = await tx.all<Row>('SELECT * FROM `Context` WHERE `id` = ?', [ctx]);
      await insertRows(tx, 'Context', [fresh(c!, { id: newCtx, create_time_since_epoch: nowMs, last_update_time_since_epoch: nowMs })]);
      await insertRows(tx, 'ContextProperty', (await tx.all<Row>('SELECT * FROM `ContextProperty` WHERE `context_id` = ?', [ctx])).map((p) => fresh(p, { context_id: newCtx })));
      await insertRows(tx, 'ParentContext', (await tx.all<Row>('SELECT * FROM `ParentContext` WHERE `context_id` = ?', [ctx])).map((p) => ({ ...p, context_id: newCtx })));

      const execs = await tx.all<Row>('SELECT e.* FROM `Execution` e JOIN `Association` a ON a.`execution_id` = e.`id` WHERE a.`context_id` = ? ORDER BY e.`id`', [ctx]);
      const execIds = new Map<number, number>();
      let nextExec = (await maxId(tx, 'Execution')) + 1;
      for (const e of execs) execIds.set(Number(e.id), nextExec++);
      for (const [a, b] of execIds) execIdMap.set(a, b);
      // Names are unique per type: most hold the run UUID already; the others take a suffix.
      const uniqueName = (name: unknown) => (name == null ? null : String(name).includes(oldUuid) ? swap(name) : `${String(name)}-${newUuid.slice(0, 8)}`);
      await insertRows(tx, 'Execution', execs.map((e) => fresh(e, { id: execIds.get(Number(e.id)), name: uniqueName(e.name), create_time_since_epoch: nowMs, last_update_time_since_epoch: nowMs })));
      const oldExecIds = [...execIds.keys()];
      if (oldExecIds.length === 0) return;
      const execProps = await tx.all<Row>(`SELECT * FROM \`ExecutionProperty\` WHERE \`execution_id\` IN (${inList(oldExecIds.length)})`, oldExecIds);
      // parent_dag_id names the execution of the enclosing DAG: it moves with the copy.
      await insertRows(tx, 'ExecutionProperty', execProps.map((p) => fresh(p, { execution_id: execIds.get(Number(p.execution_id)), int_value: p.name === 'parent_dag_id' && p.int_value != null ? (execIds.get(Number(p.int_value)) ?? p.int_value) : p.int_value })));
      let nextAssoc = (await maxId(tx, 'Association')) + 1;
      await insertRows(tx, 'Association', oldExecIds.map((id) => ({ id: nextAssoc++, context_id: newCtx, execution_id: execIds.get(id) })));

      const events = await tx.all<Row>(`SELECT * FROM \`Event\` WHERE \`execution_id\` IN (${inList(oldExecIds.length)}) ORDER BY \`id\``, oldExecIds);
      const artIds = new Map<number, number>();
      let nextArt = (await maxId(tx, 'Artifact')) + 1;
      for (const ev of events) if (!artIds.has(Number(ev.artifact_id))) artIds.set(Number(ev.artifact_id), nextArt++);
      const oldArtIds = [...artIds.keys()];
      if (oldArtIds.length > 0) {
        const arts = await tx.all<Row>(`SELECT * FROM \`Artifact\` WHERE \`id\` IN (${inList(oldArtIds.length)})`, oldArtIds);
        await insertRows(tx, 'Artifact', arts.map((a) => fresh(a, { id: artIds.get(Number(a.id)), name: uniqueName(a.name), create_time_since_epoch: nowMs, last_update_time_since_epoch: nowMs })));
        const artProps = await tx.all<Row>(`SELECT * FROM \`ArtifactProperty\` WHERE \`artifact_id\` IN (${inList(oldArtIds.length)})`, oldArtIds);
        await insertRows(tx, 'ArtifactProperty', artProps.map((p) => fresh(p, { artifact_id: artIds.get(Number(p.artifact_id)) })));
        let nextAttr = (await maxId(tx, 'Attribution')) + 1;
        await insertRows(tx, 'Attribution', oldArtIds.map((id) => ({ id: nextAttr++, context_id: newCtx, artifact_id: artIds.get(id) })));
      }
      const eventIds = new Map<number, number>();
      let nextEvent = (await maxId(tx, 'Event')) + 1;
      for (const ev of events) eventIds.set(Number(ev.id), nextEvent++);
      await insertRows(tx, 'Event', events.map((ev) => ({ ...ev, id: eventIds.get(Number(ev.id)), artifact_id: artIds.get(Number(ev.artifact_id)), execution_id: execIds.get(Number(ev.execution_id)), milliseconds_since_epoch: nowMs })));
      const oldEventIds = [...eventIds.keys()];
      if (oldEventIds.length > 0) {
        const paths = await tx.all<Row>(`SELECT * FROM \`EventPath\` WHERE \`event_id\` IN (${inList(oldEventIds.length)})`, oldEventIds);
        await insertRows(tx, 'EventPath', paths.map((p) => ({ ...p, event_id: eventIds.get(Number(p.event_id)) })));
      }
    });
    const [rd] = await kfp.all<Row>('SELECT * FROM `run_details` WHERE `UUID` = ?', [oldUuid]);
    if (rd) await insertRows(kfp, 'run_details', [fresh(rd, { UUID: newUuid, CreatedAtInSec: Math.floor(nowMs / 1000) })]);
    // KFP 2.x's cache rows of the run's tasks, in its own tasks table.
    const cacheRows = await kfp.all<Row>('SELECT * FROM `tasks` WHERE `RunUUID` = ? ORDER BY `UUID`', [oldUuid]);
    const v1 = cacheRows.map((r) => fresh(r, { UUID: randomUUID(), MLMDExecutionID: String(execIdMap.get(Number(r.MLMDExecutionID)) ?? r.MLMDExecutionID), CreatedTimestamp: Math.floor(nowMs / 1000) }));
    // Only while KFP 2.x's table is in place (after a cut-over, tasks is KFP 3's).
    if (rd && (await isV1TasksTable(kfp, 'tasks'))) await insertRows(kfp, 'tasks', v1);
    created.push({ uuid: newUuid, v1Rows: v1.map((r) => String(r.UUID)) });
  }
  return created;
}

/** Finishes runs KFP 2.x shows as running: their unfinished executions COMPLETE at `nowMs`, the run SUCCEEDED. Returns their UUIDs. */
export async function finishRunningRuns(mlmd: Db, kfp: Db, n: number, nowMs: number): Promise<string[]> {
  const running = (await kfp.all<Row>("SELECT `UUID` FROM `run_details` WHERE `State` = 'RUNNING' ORDER BY `UUID` LIMIT " + Math.max(0, Math.floor(n)))).map((r) => String(r.UUID));
  if (running.length === 0) return [];
  const contexts = await runContexts(mlmd, running);
  await mlmd.transaction(async (tx) => {
    for (const ctx of contexts.values()) {
      await tx.run(
        `UPDATE \`Execution\` SET \`last_known_state\` = ?, \`last_update_time_since_epoch\` = ? WHERE \`last_known_state\` IN (${inList(NEW_OR_RUNNING.length)}) AND \`id\` IN (SELECT \`execution_id\` FROM \`Association\` WHERE \`context_id\` = ?)`,
        [COMPLETE, nowMs, ...NEW_OR_RUNNING, ctx],
      );
    }
  });
  await kfp.run(`UPDATE \`run_details\` SET \`State\` = 'SUCCEEDED', \`Conditions\` = 'Succeeded', \`FinishedAtInSec\` = ? WHERE \`UUID\` IN (${inList(running.length)})`, [
    Math.floor(nowMs / 1000),
    ...running,
  ]);
  return running;
}

/** Deletes runs as KFP 2.x's API does: the run_details row (its v1 cache rows follow by cascade); MLMD keeps its records. */
export async function deleteRuns(kfp: Db, uuids: string[]): Promise<void> {
  if (uuids.length === 0) return;
  await kfp.run(`DELETE FROM \`run_details\` WHERE \`UUID\` IN (${inList(uuids.length)})`, uuids);
}
