/**
 * Progress of a batch command (migrate, stage) as metrics, so a long Kubernetes Job can be watched
 * from Prometheus while it runs (docs/metrics.md): runs done of total, target rows written, the
 * rate of rows over the run so far, and rejected or adjusted records by reason code.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface JobProgress {
  phase: string;
  runsTotal: number;
  runsDone: number;
  rowsWritten: number;
  /** Records rejected or adjusted so far, by reason code. */
  rejectsByCode?: Readonly<Record<string, number>>;
}

export class JobMetrics {
  readonly registry = new Registry();
  private readonly runsTotal: Gauge;
  private readonly runsDone: Gauge;
  private readonly rowsWritten: Counter;
  private readonly rejects: Counter<'code'>;
  private readonly phase: Gauge<'phase'>;
  private readonly started = performance.now();
  private rows = 0;
  private readonly rejected = new Map<string, number>();

  constructor(readonly command: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ command });
    collectDefaultMetrics({ register: this.registry, prefix: 'mlmd_bridge_job_' });
    this.runsTotal = new Gauge({ name: 'mlmd_bridge_job_runs_total', help: 'KFP runs this command goes through (known once the source is counted)', registers });
    this.runsDone = new Gauge({ name: 'mlmd_bridge_job_runs_done', help: 'KFP runs done so far (migrated, or found unchanged)', registers });
    this.rowsWritten = new Counter({ name: 'mlmd_bridge_job_rows_written_total', help: 'Rows written into tasks, artifacts and artifact_tasks', registers });
    const rows = () => this.rows;
    const started = this.started;
    new Gauge({
      name: 'mlmd_bridge_job_rows_per_second',
      help: 'Rows written per second since the command started',
      registers,
      collect() {
        this.set(rows() / Math.max(0.001, (performance.now() - started) / 1000));
      },
    });
    this.rejects = new Counter({ name: 'mlmd_bridge_job_rejects_total', help: 'Records skipped, degraded or adjusted, by reason code (docs/mapping.md)', labelNames: ['code'], registers });
    this.phase = new Gauge({ name: 'mlmd_bridge_job_phase', help: 'The phase the command is in (1 for the current one)', labelNames: ['phase'], registers });
  }

  /** Takes a progress report (cumulative figures, as the migrator tells them). */
  update(p: JobProgress): void {
    this.runsTotal.set(p.runsTotal);
    this.runsDone.set(p.runsDone);
    if (p.rowsWritten > this.rows) this.rowsWritten.inc(p.rowsWritten - this.rows);
    this.rows = Math.max(this.rows, p.rowsWritten);
    for (const [code, n] of Object.entries(p.rejectsByCode ?? {})) {
      const before = this.rejected.get(code) ?? 0;
      if (n > before) this.rejects.inc({ code }, n - before);
      this.rejected.set(code, Math.max(before, n));
    }
    this.phase.reset();
    this.phase.set({ phase: p.phase }, 1);
  }
}
