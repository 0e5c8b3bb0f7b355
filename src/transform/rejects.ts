import type { Reject, RejectEntity } from './model.ts';
import { REJECT_CODES, type RejectCode } from './reject-codes.ts';

/** Collects the rejects of one run; the disposition always comes from the code's catalogue entry. */
export class RejectLog {
  readonly items: Reject[] = [];
  constructor(private readonly runUuid: string | null) {}

  add(code: RejectCode, entity: RejectEntity, mlmdId: number, reason: string): void {
    this.items.push({ code, disposition: REJECT_CODES[code].disposition, entity, mlmdId, runUuid: this.runUuid, reason });
  }
}
