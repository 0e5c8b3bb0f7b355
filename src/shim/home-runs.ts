/**
 * Which run the shim shows an artifact from, remembered for a while. Finding it means aggregating
 * the artifact's rows in `artifact_tasks`, and the artifacts a run page asks about most are the ones
 * many runs share (an imported dataset, a cached output): thousands of link rows each, read again
 * for every run page that shows them. A remembered run may be stale — its links deleted, a new
 * producer written — so the backend asks again when the run no longer shows the artifact.
 */
export interface HomeRunOptions {
  /** Artifacts remembered at most (least recently used go first). */
  capacity?: number;
  /** How long an answer is trusted without asking the database again. */
  ttlMs?: number;
}

const DEFAULTS = { capacity: 50_000, ttlMs: 60_000 };

export class HomeRuns {
  private readonly entries = new Map<string, { run: string; expires: number }>();
  private readonly opts: Required<HomeRunOptions>;

  constructor(opts: HomeRunOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** The remembered run of an artifact row, if fresh. */
  get(artifactUuid: string, now = Date.now()): string | undefined {
    const e = this.entries.get(artifactUuid);
    if (!e) return undefined;
    this.entries.delete(artifactUuid);
    if (e.expires <= now) return undefined;
    this.entries.set(artifactUuid, e);
    return e.run;
  }

  set(artifactUuid: string, run: string, now = Date.now()): void {
    this.entries.delete(artifactUuid);
    this.entries.set(artifactUuid, { run, expires: now + this.opts.ttlMs });
    if (this.entries.size > this.opts.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
