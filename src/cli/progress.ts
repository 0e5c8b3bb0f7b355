import cliProgress from 'cli-progress';

/**
 * A progress bar with rate and ETA on a terminal (stderr), nothing elsewhere: CI logs and
 * `--json` output stay clean.
 */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly enabled: boolean;

  constructor(private readonly label: string, opts: { enabled?: boolean } = {}) {
    this.enabled = (opts.enabled ?? true) && Boolean(process.stderr.isTTY);
  }

  update(done: number, total: number, payload: Record<string, unknown> = {}): void {
    if (!this.enabled) return;
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${this.label} [{bar}] {percentage}% | {value}/{total} runs | {rate} runs/s | ETA {eta_formatted}{extra}`,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { rate: '0', extra: '' });
      this.started = Date.now();
    }
    const secs = Math.max(0.001, (Date.now() - this.started) / 1000);
    this.bar.setTotal(total);
    this.bar.update(done, { rate: (done / secs).toFixed(1), extra: '', ...payload });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  private started = Date.now();
}
