/**
 * Results that must wait for something slower before they are passed on, in the order they came:
 * run verdicts wait for the whole-database checks, whose findings join them. Only a bounded number
 * wait; past it, whoever pushes waits instead, so memory stays flat however late the other side is.
 */
export class HeldResults<T> {
  private readonly held: T[] = [];
  private heldSize = 0;
  private ready = false;

  constructor(
    private readonly until: Promise<unknown>,
    private readonly limit: number,
    private readonly sizeOf: (item: T) => number,
    private readonly release: (item: T) => void,
  ) {
    // Settled either way: a failure reaches the next push, which awaits `until` and throws it.
    const settled = () => {
      this.ready = true;
    };
    until.then(settled, settled);
  }

  /** Takes the next result; passes on everything held once `until` has settled, or waits for it when the limit is reached. */
  async push(item: T): Promise<void> {
    this.held.push(item);
    this.heldSize += this.sizeOf(item);
    if (!this.ready && this.heldSize < this.limit) return;
    await this.drain();
  }

  /** Waits for `until`, then passes on every held result. */
  async drain(): Promise<void> {
    await this.until;
    this.ready = true;
    const items = this.held.splice(0);
    this.heldSize = 0;
    for (const item of items) this.release(item);
  }
}
