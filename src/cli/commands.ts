/** The command actions: call the module, print for people or machines, set the exit code. */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT } from '../errors.ts';
import type { MigrateSummary } from '../migrate/migrator.ts';
import type { Plan } from '../migrate/planner.ts';
import type { StageSummary } from '../migrate/stager.ts';
import type { CutoverSummary } from '../migrate/cutover.ts';
import type { Status } from '../migrate/status.ts';
import type { VerifyReport } from '../verify/verifier.ts';
import { REJECT_CODES } from '../transform/reject-codes.ts';
import { fmtInt, fmtSeconds, table } from './format.ts';
import { lastExitCode } from './exit.ts';
import { Progress } from './progress.ts';
import { resolveShard } from './shard-option.ts';
import type { Shard } from '../transform/shard.ts';
import { LOSSY_CODES } from '../transform/lossy-codes.ts';
import { fingerprintLines } from './fingerprint-report.ts';

// Each command loads only the modules it runs: start-up time counts in every short command and in
// the wall time of a migration.

type Out = (s: string) => void;
const json = (out: Out, v: unknown) => out(`${JSON.stringify(v, null, 2)}\n`);

/** `--fingerprints` / `--publish-logs` as parsed: undefined when left out. */
interface MappingFlags {
  fingerprints?: 'kfp3' | 'mlmd';
  publishLogs?: boolean;
}

const mappingOf = (o: MappingFlags) => ({ fingerprints: o.fingerprints, publishLogs: o.publishLogs });

export async function planCommand(o: { mlmd: string; kfp: string; batchSize: number; json?: boolean } & MappingFlags, out: Out): Promise<void> {
  const { plan } = await import('../migrate/planner.ts');
  const bar = new Progress('planning', { enabled: !o.json });
  const p = await plan({ mlmdUrl: o.mlmd, kfpUrl: o.kfp, batchSize: o.batchSize, mapping: mappingOf(o), onProgress: (d, t) => bar.update(d, t) });
  bar.stop();
  lastExitCode.value = p.blockers.length > 0 ? EXIT.BLOCKED : EXIT.OK;
  if (o.json) return json(out, p);
  out(renderPlan(p));
}

function renderPlan(p: Plan): string {
  const lines = [
    `Source  ${p.source.url} (MLMD schema v${p.source.schemaVersion})`,
    `Target  ${p.target.url}`,
    '',
    table(['source', 'count'], [
      ['KFP runs (system.PipelineRun contexts)', p.runs.total],
      ['  to migrate', p.runs.toMigrate],
      ['  orphan (no run_details row, skipped)', p.runs.orphan],
      ['  still in flight', p.runs.inFlight],
      ['executions', p.source.executions],
      ['artifacts', p.source.artifacts],
      ['events', p.source.events],
    ]),
    '',
    table(['target table', 'rows to write'], [
      ['tasks', p.rows.tasks],
      ['artifacts', p.rows.artifacts],
      ['artifact_tasks', p.rows.artifact_tasks],
    ]),
  ];
  if (p.nonKfp.length > 0) lines.push('', 'Non-KFP data (not migrated; the shim can serve it from the MLMD archive):', table(['kind', 'type', 'count'], p.nonKfp.map((t) => [t.kind, t.type, t.count])));
  const codes = Object.entries(p.rejects);
  if (codes.length > 0) lines.push('', table(['reason code', 'disposition', 'records'], codes.map(([c, n]) => [c, REJECT_CODES[c as keyof typeof REJECT_CODES]?.disposition ?? '?', n])));
  lines.push('', ...fingerprintLines(p.fingerprints, p.fingerprints.options));
  if (p.staged) lines.push('', ...upgradeLines(p.staged));
  for (const w of p.warnings) lines.push('', `warning: ${w}`);
  lines.push('');
  if (p.blockers.length > 0) {
    lines.push('BLOCKED — migrate would refuse to run:');
    for (const b of p.blockers) lines.push(`  - ${b}`);
  } else if (p.staged?.phase === 'staged') {
    lines.push('Nothing blocks the staged upgrade. Next: mlmd-bridge stage to true up; in the maintenance window, mlmd-bridge cutover.');
  } else if (p.staged?.phase === 'kfp3') {
    // stage refuses a database whose tasks table is KFP 3's (ALREADY_CUT_OVER): only migrate trues it up.
    lines.push('Nothing blocks the migration. tasks is KFP 3\'s table already: mlmd-bridge migrate (KFP 2.x stopped) trues it up; stage would refuse.');
  } else {
    lines.push('Nothing blocks the migration. Next: mlmd-bridge stage (KFP 2.x keeps serving; docs/staged-upgrade.md), or migrate in one window.');
  }
  return `${lines.join('\n')}\n`;
}

export async function migrateCommand(
  o: { mlmd: string; kfp: string; batchSize: number; concurrency: number; rejects?: string; json?: boolean; metricsPort?: number; shard?: Shard } & MappingFlags,
  out: Out,
  err: Out,
): Promise<void> {
  const [{ hasRejectedRecords, migrate }, { withJobMetrics }] = await Promise.all([import('../migrate/migrator.ts'), import('./job-metrics.ts')]);
  const shard = resolveShard(o.shard);
  const bar = new Progress('migrating', { enabled: !o.json });
  let summary: MigrateSummary;
  try {
    summary = await withJobMetrics('migrate', o.metricsPort, (metrics) =>
      migrate({
        mlmdUrl: o.mlmd,
        kfpUrl: o.kfp,
        batchSize: o.batchSize,
        concurrency: o.concurrency,
        mapping: mappingOf(o),
        shard,
        onProgress: (p) => {
          metrics(p);
          if (p.phase === 'runs') bar.update(p.runsDone, p.runsTotal);
        },
      }),
    );
  } finally {
    bar.stop();
  }
  if (o.rejects) await writeRejectsFile(o.kfp, o.rejects);
  lastExitCode.value = hasRejectedRecords(summary) ? EXIT.DRIFT_OR_REJECTS : EXIT.OK;
  if (o.json) return json(out, { ...summary, rejectsFile: o.rejects ?? null, exitCode: lastExitCode.value });
  out(renderMigrate(summary, o.rejects));
  if (lastExitCode.value !== EXIT.OK && !o.rejects) err('some records were skipped or degraded; re-run with --rejects FILE to list them by MLMD id\n');
}

export function renderMigrate(s: MigrateSummary, rejectsFile?: string): string {
  const rowsTotal = s.rows.tasks + s.rows.artifacts + s.rows.artifact_tasks;
  const lines = [
    `Migrated ${s.source.url} (MLMD schema v${s.source.schemaVersion}) → ${s.target.url} in ${fmtSeconds(s.seconds)}`,
    s.shard
      ? `Shard ${s.shard.index}/${s.shard.count}: ${s.shard.finished ? 'every shard is done; this one, the last, recorded the migration finished' : 'done; the last shard to end records the migration finished'}`
      : '',
    s.target.createdTables.length > 0 ? `Created tables: ${s.target.createdTables.join(', ')}` : 'Target tables existed and match the KFP 3 schema',
    s.target.v1Tasks === 'moved' ? 'The KFP 2.x tasks table was renamed to tasks_v1_backup (rollback restores it)' : '',
    '',
    table(['runs', 'count'], [
      ['total', s.runs.total],
      ['migrated now', s.runs.migrated],
      ['unchanged since last migrate (skipped)', s.runs.unchanged],
      ['orphan (skipped, see ORPHAN_RUN)', s.runs.orphan],
    ]),
    '',
    table(['table', 'rows written'], [
      ['tasks', s.rows.tasks],
      ['artifacts', s.rows.artifacts],
      ['artifact_tasks', s.rows.artifact_tasks],
      ['mlmd_id_map', s.rows.mlmd_id_map],
    ]),
    s.seconds > 0 ? `(${fmtInt(rowsTotal / s.seconds)} target rows/s)` : '',
  ].filter((l, i, a) => l !== '' || a[i - 1] !== '');
  const codes = Object.entries(s.rejects.byCode);
  if (codes.length > 0) {
    lines.push('', table(['reason code', 'disposition', 'records'], codes.map(([c, n]) => [c, REJECT_CODES[c as keyof typeof REJECT_CODES]?.disposition ?? '?', n])));
  }
  lines.push('', `Imported artifacts holding the IdentityKey KFP 3's reimport=false importers look for: ${fmtInt(s.identityKeys)}`);
  if (s.fingerprints.fingerprints === 'kfp3' && s.runs.migrated > 0) lines.push('', 'Runs migrated now:', ...fingerprintLines(s.fingerprints.tally, s.fingerprints));
  else if (s.fingerprints.fingerprints === 'mlmd') lines.push('', 'tasks.Fingerprint holds the MLMD fingerprints, copied (--fingerprints mlmd): no migrated task serves a KFP 3 cache hit.');
  lines.push('');
  const bad = (s.rejects.byDisposition.skipped ?? 0) + (s.rejects.byDisposition.degraded ?? 0);
  if (bad > 0) lines.push(`${fmtInt(bad)} records were skipped or degraded${rejectsFile ? ` — listed in ${rejectsFile}` : ''}. Exit code 1.`);
  else lines.push('Every record migrated. Next: mlmd-bridge verify, then start KFP 3.');
  return `${lines.join('\n')}\n`;
}

type RunFlags = { mlmd: string; kfp: string; batchSize: number; concurrency: number; rejects?: string; json?: boolean } & MappingFlags;

const runOptionsOf = (o: RunFlags, bar: Progress) => ({
  mlmdUrl: o.mlmd,
  kfpUrl: o.kfp,
  batchSize: o.batchSize,
  concurrency: o.concurrency,
  mapping: mappingOf(o),
  onProgress: (p: { phase: string; runsDone: number; runsTotal: number }) => {
    if (p.phase === 'runs') bar.update(p.runsDone, p.runsTotal);
  },
});

/**
 * stage and cutover alike: run with a progress bar, write the rejects file, exit 1 when records were
 * skipped or degraded, print the summary (`render`) or its JSON.
 */
async function runStagedCommand<T>(
  o: RunFlags,
  label: string,
  run: (opts: ReturnType<typeof runOptionsOf>) => Promise<T>,
  trueUpOf: (r: T) => MigrateSummary | null,
  render: (r: T) => string,
  io: { out: Out; err: Out },
): Promise<void> {
  const { hasRejectedRecords } = await import('../migrate/migrator.ts');
  const bar = new Progress(label, { enabled: !o.json });
  let r: T;
  try {
    r = await run(runOptionsOf(o, bar));
  } finally {
    bar.stop();
  }
  if (o.rejects) await writeRejectsFile(o.kfp, o.rejects);
  const trueUp = trueUpOf(r);
  lastExitCode.value = trueUp && hasRejectedRecords(trueUp) ? EXIT.DRIFT_OR_REJECTS : EXIT.OK;
  if (o.json) return json(io.out, { ...r, rejectsFile: o.rejects ?? null, exitCode: lastExitCode.value });
  io.out(render(r));
  if (lastExitCode.value !== EXIT.OK && !o.rejects) io.err('some records were skipped or degraded; re-run with --rejects FILE to list them by MLMD id\n');
}

export async function stageCommand(o: RunFlags & { metricsPort?: number; shard?: Shard }, out: Out, err: Out): Promise<void> {
  const [{ stage }, { withJobMetrics }] = await Promise.all([import('../migrate/stager.ts'), import('./job-metrics.ts')]);
  const shard = resolveShard(o.shard);
  const staged = (run: ReturnType<typeof runOptionsOf>) =>
    withJobMetrics('stage', o.metricsPort, (metrics) =>
      stage({
        ...run,
        shard,
        onProgress: (p) => {
          metrics(p);
          run.onProgress(p);
        },
      }),
    );
  await runStagedCommand(o, 'staging', staged, (s) => s, renderStage, { out, err });
}

function renderStage(s: StageSummary): string {
  const what =
    s.stage.kind === 'full'
      ? s.shard
        ? `Staged shard ${s.shard.index}/${s.shard.count} (${fmtInt(s.runs.total)} runs) in ${fmtSeconds(s.seconds)}; ${s.shard.finished ? 'every shard is done, and this one recorded the stage finished' : 'the last shard to end records the stage finished'}`
        : `Staged every run (${fmtInt(s.runs.total)}) in ${fmtSeconds(s.seconds)}`
      : `Trued up in ${fmtSeconds(s.seconds)}: ${fmtInt(s.stage.changedRuns)} runs looked at again, changed since the last stage or near its watermark (${fmtInt(s.stage.deletedRuns)} deleted in KFP 2.x)`;
  return [
    `${what}: ${fmtInt(s.runs.migrated)} written, ${fmtInt(s.runs.unchanged)} unchanged.`,
    `KFP 3's tasks table is staged as tasks_kfp3_staged; KFP 2.x's tasks table is untouched.`,
    s.target.createdTables.length > 0 ? `Created tables: ${s.target.createdTables.join(', ')}` : '',
    table(['table', 'rows written'], [
      ['tasks (staged)', s.rows.tasks],
      ['artifacts', s.rows.artifacts],
      ['artifact_tasks', s.rows.artifact_tasks],
    ]),
    s.rejects.total > 0 ? `Rejected or adjusted records: ${fmtInt(s.rejects.total)} (mlmd-bridge status; --rejects FILE lists them)` : '',
    'Next: repeat stage at will; in the maintenance window stop KFP 2.x and run mlmd-bridge cutover.',
    '',
  ]
    .filter((l, i) => l !== '' || i > 0)
    .join('\n');
}

export async function cutoverCommand(o: RunFlags & { lockWait: number }, out: Out, err: Out): Promise<void> {
  const { cutover } = await import('../migrate/cutover.ts');
  const run = (opts: ReturnType<typeof runOptionsOf>) => cutover({ ...opts, lockWaitSeconds: o.lockWait });
  await runStagedCommand(o, 'truing up', run, (r) => r.trueUp, renderCutover, { out, err });
}

function renderCutover(r: CutoverSummary): string {
  if (r.outcome === 'already') return `Already cut over (at ${r.cutoverAt}): tasks is KFP 3's table, tasks_v1_backup KFP 2.x's. Next: mlmd-bridge verify, then start KFP 3.\n`;
  return (
    `Cut over in ${fmtSeconds(r.seconds)} (last true-up ${fmtSeconds(r.trueUp?.seconds ?? 0)}: ${fmtInt(r.trueUp?.runs.migrated ?? 0)} runs written; swap ${fmtSeconds(r.swapSeconds)}).\n` +
    "tasks is now KFP 3's table; KFP 2.x's is tasks_v1_backup (mlmd-bridge rollback swaps back).\n" +
    'Next: mlmd-bridge verify, then start KFP 3 behind mlmd-bridge status --require cutover.\n'
  );
}

/** The rejects file is written from what the KFP database recorded, so it is complete even after a resumed migration. */
async function writeRejectsFile(kfpUrl: string, path: string): Promise<void> {
  const [{ openDb }, { readStoredRejects }] = await Promise.all([import('../db/connection.ts'), import('../migrate/migrator.ts')]);
  const kfp = await openDb(kfpUrl, { readOnly: true, role: 'KFP database' });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const stream = createWriteStream(tmp);
    for await (const r of readStoredRejects(kfp)) {
      if (!stream.write(`${JSON.stringify(r)}\n`)) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
    await kfp.close();
  }
}

export async function verifyCommand(
  o: { mlmd: string; kfp: string; runs?: string[]; sample?: number; batchSize: number; report?: string; json?: boolean },
  out: Out,
): Promise<void> {
  const [{ verify }, { JUnitReport }] = await Promise.all([import('../verify/verifier.ts'), import('../verify/junit.ts')]);
  const bar = new Progress('verifying', { enabled: !o.json });
  const junit = o.report ? new JUnitReport(o.report) : null;
  let report: VerifyReport;
  try {
    report = await verify({
      mlmdUrl: o.mlmd,
      kfpUrl: o.kfp,
      runs: o.runs,
      sample: o.sample,
      batchSize: o.batchSize,
      onProgress: (d, t) => bar.update(d, t),
      onRun: (v) => junit?.add(v),
    });
  } finally {
    bar.stop();
  }
  if (junit) await junit.close(report);
  lastExitCode.value = report.runs.drifted > 0 ? EXIT.DRIFT_OR_REJECTS : EXIT.OK;
  if (o.json) return json(out, { ...report, exitCode: lastExitCode.value });
  out(renderVerify(report, o.report));
}

export function renderVerify(r: VerifyReport, reportFile?: string): string {
  const lines = [
    `Verified ${r.source} against ${r.target} in ${fmtSeconds(r.seconds)}${r.seconds > 0 ? ` (${fmtInt(r.rowsCompared / r.seconds)} MLMD records/s)` : ''}`,
    '',
    table(['runs', 'count'], [
      ['in the MLMD database', r.runs.total],
      ['checked', r.runs.checked],
      ['matched', r.runs.matched],
      ['drifted', r.runs.drifted],
      ['orphan (not migrated by design)', r.runs.orphan],
    ]),
  ];
  const entities = Object.entries(r.byEntity).filter(([, v]) => v.drift > 0 || v.lossy > 0);
  if (entities.length > 0) lines.push('', table(['table / entity', 'drift', 'documented lossy'], entities.map(([k, v]) => [k, v.drift, v.lossy])));
  const codes = Object.entries(r.byCode).sort(([a], [b]) => (a < b ? -1 : 1));
  if (codes.length > 0) {
    lines.push('', table(['difference code', 'kind', 'count'], codes.map(([c, n]) => [c, Object.hasOwn(LOSSY_CODES, c) ? 'lossy (documented)' : 'DRIFT', n])));
  }
  const fp = r.fingerprints;
  lines.push(
    '',
    ...fingerprintLines(fp, fp.options),
    `Written fingerprints: ${fmtInt(fp.columnsMatched)} of ${fmtInt(fp.columnsChecked)} equal their recomputation` +
      `${fp.options.fingerprints === 'kfp3' ? ` (${fmtInt(fp.kfp3Keys)} KFP 3 keys)` : ''}; MLMD's cache_fingerprint, as the shim answers it, is compared with the source for every execution`,
  );
  if (r.drifted.length > 0) {
    lines.push('', 'Drift (first 20):');
    let shown = 0;
    for (const v of r.drifted) {
      for (const d of v.drift) {
        if (shown++ >= 20) break;
        lines.push(`  run ${v.runUuid}  ${d.entity} ${d.mlmdId}  ${d.field}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.found)}  [${d.code}]`);
      }
    }
  }
  lines.push('');
  if (r.runs.drifted > 0) lines.push(`DRIFT in ${fmtInt(r.runs.drifted)} runs${reportFile ? ` — JUnit report in ${reportFile}` : ''}. Exit code 1.`);
  else lines.push(`Every checked run matches, modulo documented lossy transformations${reportFile ? ` (JUnit report in ${reportFile})` : ''}.`);
  return `${lines.join('\n')}\n`;
}

export async function statusCommand(o: { kfp: string; mlmd?: string; require?: 'cutover'; json?: boolean }, out: Out, err: Out): Promise<void> {
  const { status } = await import('../migrate/status.ts');
  const s = await status(o.kfp, o.mlmd);
  // The startup gate of KFP 3 (an initContainer): 0 only when cut over with nothing pending, else 3; one line either way.
  if (o.require === 'cutover') {
    if (s.upgrade.missing !== null) lastExitCode.value = EXIT.BLOCKED;
    if (o.json) return json(out, s);
    if (s.upgrade.missing !== null) err(`mlmd-bridge: not ready for KFP 3: ${s.upgrade.missing}\n`);
    else {
      // A database migrated one-shot was never cut over: say which happened.
      const how = s.upgrade.cutoverAt ? `cut over at ${s.upgrade.cutoverAt}` : `migrated${s.finishedAt ? ` at ${s.finishedAt}` : ''}`;
      out(`ready for KFP 3: ${how}${s.upgrade.pending ? ', nothing pending' : ''}\n`);
    }
    return;
  }
  if (o.json) return json(out, s);
  const lines = [
    `KFP database ${s.target}: ${s.state}`,
    s.startedAt
      ? `last migration started ${s.startedAt}${s.finishedAt ? `, finished ${s.finishedAt}` : ', not finished'}`
      : s.upgrade.phase === 'staged'
        ? 'a staged upgrade is under way (below); no migration has finished here'
        : 'no migration has run here',
  ];
  if (s.source) lines.push(`source ${s.source} (MLMD schema v${s.sourceSchemaVersion}), by mlmd-bridge ${s.toolVersions.join(', ') || s.currentToolVersion}`);
  if (s.state !== 'never-migrated') {
    lines.push(
      '',
      table(['what', 'count'], [
        ['runs migrated', s.runs],
        ['tasks rows', s.rows.tasks],
        ['artifacts rows', s.rows.artifacts],
        ['artifact_tasks rows', s.rows.artifact_tasks],
        ['rejected or adjusted records', s.rejects.total],
      ]),
    );
  }
  if (s.fingerprints) {
    lines.push(
      '',
      s.fingerprints.fingerprints === 'kfp3'
        ? `tasks.Fingerprint holds KFP 3 cache keys for a deployment with PUBLISH_LOGS=${s.fingerprints.publishLogs} (--fingerprints kfp3 --publish-logs ${s.fingerprints.publishLogs})`
        : 'tasks.Fingerprint holds the MLMD fingerprints, copied (--fingerprints mlmd)',
    );
  }
  if (s.v1TasksBackup) lines.push('', 'tasks_v1_backup holds the KFP 2.x tasks table (rollback restores it)');
  lines.push('', ...upgradeLines(s.upgrade));
  if (s.state === 'interrupted') lines.push('', 'The last migration did not finish: run migrate again to resume.');
  out(`${lines.join('\n')}\n`);
}

function upgradeLines(u: Status['upgrade']): string[] {
  const phase = {
    kfp2: "upgrade: not staged (tasks is KFP 2.x's table)",
    staged: `upgrade: staged, not cut over (${fmtInt(u.stagedRuns)} runs in tasks_kfp3_staged, artifacts, artifact_tasks)`,
    kfp3: `upgrade: tasks is KFP 3's table${u.cutoverAt ? ` (cut over ${u.cutoverAt})` : ' already'}`,
    other: 'upgrade: no tasks table (neither KFP 2.x\'s nor KFP 3\'s)',
  }[u.phase];
  const lines = [phase];
  if (u.lastTrueUp) lines.push(`last ${u.lastTrueUp.kind === 'full' ? 'stage' : 'true-up'} finished ${u.lastTrueUp.at}: ${fmtInt(u.lastTrueUp.runs)} runs read in ${fmtSeconds(u.lastTrueUp.seconds)}`);
  if (u.pending) {
    lines.push(`pending: ${fmtInt(u.pending.runs)} runs changed since then (${fmtInt(u.pending.deleted)} deleted)`);
    if (u.expectedOutageSeconds !== null && u.phase === 'staged') lines.push(`expected cut-over outage: about ${fmtSeconds(u.expectedOutageSeconds)}`);
  } else if (u.lastTrueUp) lines.push('pending changes: give --mlmd to count them');
  lines.push(u.missing === null ? 'ready for KFP 3 (status --require cutover exits 0)' : `not ready for KFP 3: ${u.missing}`);
  return lines;
}

export async function rollbackCommand(o: { kfp: string; json?: boolean }, out: Out): Promise<void> {
  const { rollback } = await import('../migrate/rollback.ts');
  const r = await rollback(o.kfp);
  if (o.json) return json(out, r);
  out(
    `Rolled back: dropped ${r.droppedTables.join(', ') || 'no tables'}; deleted ${fmtInt(r.deletedRows.tasks)} tasks and ${fmtInt(r.deletedRows.artifacts)} artifacts rows; ` +
      `${{ restored: 'the KFP 2.x tasks table is back', 'in-place': "KFP 2.x's tasks table was never moved and is as it was", absent: 'there was no KFP 2.x tasks table to restore' }[r.v1Tasks]}.\n`,
  );
}

export async function seedCommand(o: { mlmd: string; kfp: string; runs: number; seed: number; schemaVersion: string; hostile?: boolean; json?: boolean }, out: Out): Promise<void> {
  const [{ openDb }, { seedDatabases }, { MLMD_IDENTIFIERS }] = await Promise.all([
    import('../db/connection.ts'),
    import('../seed/index.ts'),
    import('../extract/schema-version.ts'),
  ]);
  const mlmd = await openDb(o.mlmd, { ...MLMD_IDENTIFIERS, create: true, role: 'MLMD database' });
  try {
    const kfp = await openDb(o.kfp, { create: true, role: 'KFP database' });
    try {
      const r = await seedDatabases(mlmd, kfp, { runs: o.runs, seed: o.seed, schemaVersion: Number(o.schemaVersion) as 8 | 9 | 10, hostile: o.hostile ?? false });
      if (o.json) return json(out, r);
      out(`Seeded ${fmtInt(r.runs.length)} runs: ${fmtInt(r.executions)} executions, ${fmtInt(r.artifacts)} artifacts, ${fmtInt(r.events)} events` + (r.hostile.length > 0 ? `, ${r.hostile.length} hostile records` : '') + '.\n');
    } finally {
      await kfp.close();
    }
  } finally {
    await mlmd.close();
  }
}

export async function demoCommand(o: { dir: string; runs: number; json?: boolean }, out: Out, err: Out): Promise<void> {
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  for (const f of ['mlmd.db', 'kfp.db']) for (const suffix of ['', '-wal', '-shm', '.mlmd-bridge.lock']) rmSync(join(dir, f + suffix), { force: true });
  const mlmdUrl = `sqlite:${join(dir, 'mlmd.db')}`;
  const kfpUrl = `sqlite:${join(dir, 'kfp.db')}`;
  if (!o.json) out(`1/3  seeding ${o.runs} KFP 2.x runs into ${mlmdUrl} and ${kfpUrl}\n`);
  await seedCommand({ mlmd: mlmdUrl, kfp: kfpUrl, runs: o.runs, seed: 1, schemaVersion: '10', json: false }, o.json ? () => undefined : (s) => out(`     ${s}`));
  if (!o.json) out('2/3  migrating\n\n');
  await migrateCommand({ mlmd: mlmdUrl, kfp: kfpUrl, batchSize: 100, concurrency: 1, rejects: join(dir, 'rejects.ndjson'), json: o.json }, out, err);
  const migrated = lastExitCode.value;
  if (!o.json) out('\n3/3  verifying\n\n');
  await verifyCommand({ mlmd: mlmdUrl, kfp: kfpUrl, batchSize: 100, report: join(dir, 'verify.xml'), json: o.json }, out);
  lastExitCode.value = Math.max(migrated, lastExitCode.value);
  if (!o.json) {
    out(`\nFiles: ${dir}/{mlmd.db,kfp.db,rejects.ndjson,verify.xml}\n`);
    out(`Try:   mlmd-bridge status --kfp ${kfpUrl}\n       mlmd-bridge shim --kfp ${kfpUrl} --mlmd ${mlmdUrl}\n`);
  }
}

/** Serves until SIGTERM/SIGINT; the promise settles once the shim has shut down. */
export async function shimCommand(
  o: {
    kfp?: string;
    mlmd?: string;
    host: string;
    port: number;
    grpcWebPort: number;
    logFormat: string;
    maxRequestBytes: number;
    maxIds: number;
    maxPageSize: number;
    maxWork: number;
    corsOrigin?: string[];
    shutdownTimeout: number;
    metricsPort?: number;
  },
  out: Out,
): Promise<void> {
  const { closeOnSignals, startShim } = await import('../shim/server.ts');
  const { createLogger } = await import('../log/logger.ts');
  const logger = createLogger(o.logFormat === 'text' ? 'text' : 'json');
  const shutdownTimeoutMs = o.shutdownTimeout * 1000;
  const shim = await startShim({
    kfpUrl: o.kfp,
    mlmdUrl: o.mlmd,
    host: o.host,
    port: o.port,
    grpcWebPort: o.grpcWebPort,
    logger,
    limits: { maxRequestBytes: o.maxRequestBytes, maxIdsPerRequest: o.maxIds, maxPageSize: o.maxPageSize, maxWorkSteps: o.maxWork },
    corsOrigins: o.corsOrigin ?? [],
    shutdownTimeoutMs,
    metricsPort: o.metricsPort,
  });
  const backend = o.kfp && o.mlmd ? 'the KFP tables, then the MLMD archive' : o.kfp ? 'the KFP tables' : 'the MLMD archive';
  // The signal handlers go in before the line that tells a supervisor (or a test) the shim serves:
  // a SIGTERM sent on reading it must find them, not Node's default of dying by the signal.
  const closed = new Promise<void>((done) => {
    closeOnSignals(shim, done, shutdownTimeoutMs);
  });
  const metricsAt = shim.metricsPort === undefined ? '' : `, metrics on ${o.host}:${shim.metricsPort}/metrics`;
  out(`Serving ${backend}: gRPC on ${o.host}:${shim.port}, gRPC-Web on ${o.host}:${shim.grpcWebPort}${metricsAt}. Stop with SIGTERM or Ctrl-C.\n`);
  await closed;
}
