/**
 * Structured logs: one JSON object per line on stderr, so that log collectors in the cluster can
 * index fields (rpc, code, ms) without parsing prose. Callers may pass any object with the same
 * three methods (pino's logger fits).
 *
 * Lines are written once per turn of the event loop, all together: stderr on a pipe (a container's
 * log) is written synchronously, and one write per call took a fifth of the shim's busy time.
 */

export type LogFields = Record<string, unknown>;

export interface ShimLogger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  /** Writes out what is buffered (before the process exits). */
  flush?(): Promise<void>;
}

/** Lines held before they are written regardless of the event loop. */
const MAX_BUFFERED_LINES = 1_000;

/** Every writer's flush, run when the process exits (one listener for all). */
const flushAtExit = new Set<() => void>();
let exitHooked = false;

/** Collects lines and writes them in one go on the next turn of the event loop (and at exit). */
function batchedWriter(write: (text: string) => void): { push(line: string): void; flush(): void } {
  let lines: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    write(text);
  };
  flushAtExit.add(flush);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const f of flushAtExit) f();
    });
  }
  return {
    push(line) {
      lines.push(line);
      if (lines.length >= MAX_BUFFERED_LINES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): ShimLogger {
  const out = batchedWriter(write);
  const emit = (level: string) => (fields: LogFields, message: string) => {
    out.push(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error'), flush: async () => out.flush() };
}

/** For tests and embedding: drops everything. */
export const silentLogger: ShimLogger = { info() {}, warn() {}, error() {} };

/** For people at a terminal: `time level message key=value …`. */
export function textLogger(write: (line: string) => void = (l) => process.stderr.write(l)): ShimLogger {
  const out = batchedWriter(write);
  const emit = (level: string) => (fields: LogFields, message: string) => {
    const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    out.push(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error'), flush: async () => out.flush() };
}
