/** A shim logger that keeps every line, for tests that check what the shim logged and in what order. */
import type { LogFields, ShimLogger } from '../../src/shim/logger.ts';

export interface LoggedLine extends LogFields {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

export function capturingLogger(): { logger: ShimLogger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: LoggedLine['level']) => (fields: LogFields, msg: string) => {
    lines.push({ ...fields, level, msg });
  };
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** Resolves once `lines` holds a line `match` accepts (the shim logs a call when it has ended). */
export async function loggedLine(lines: LoggedLine[], match: (l: LoggedLine) => boolean): Promise<LoggedLine> {
  for (;;) {
    const found = lines.find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}
