/**
 * Structured logs: one JSON object per line on stderr, so that log collectors in the cluster can
 * index fields (rpc, code, ms) without parsing prose. Callers may pass any object with the same
 * three methods (pino's logger fits).
 */

export type LogFields = Record<string, unknown>;

export interface ShimLogger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): ShimLogger {
  const emit = (level: string) => (fields: LogFields, message: string) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** For tests and embedding: drops everything. */
export const silentLogger: ShimLogger = { info() {}, warn() {}, error() {} };

/** For people at a terminal: `time level message key=value …`. */
export function textLogger(write: (line: string) => void = (l) => process.stderr.write(l)): ShimLogger {
  const emit = (level: string) => (fields: LogFields, message: string) => {
    const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
