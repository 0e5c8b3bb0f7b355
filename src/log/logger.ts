/**
 * Structured logs for the CLI and the shim, through pino: one JSON object per line on stderr
 * (`time` ISO-8601, `level` as a word, `msg`, then the caller's fields), so log collectors in the
 * cluster index fields (rpc, code, ms) without parsing prose; or, for people at a terminal, the
 * same record as `time LEVEL msg key=value …`.
 *
 * Lines go to stderr through pino's asynchronous destination (sonic-boom), which buffers and writes
 * in large chunks and flushes when the process exits: stderr on a pipe (a container's log) is
 * written synchronously, and one write per call took a fifth of the shim's busy time.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type LogFields = Record<string, unknown>;

/** What the shim and the CLI log through; tests may pass any object with these methods. */
export interface BridgeLogger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  /** Writes out what is buffered (before the process exits). */
  flush?(): Promise<void>;
}

export type LogFormat = 'json' | 'text';

/** A line writer; stderr (buffered) when none is given. */
export type LogWrite = (line: string) => void;

export function createLogger(format: LogFormat, write?: LogWrite): BridgeLogger {
  const stderr = write ? null : pino.destination({ fd: 2, sync: false, minLength: 4096 });
  const sink = write ?? ((line: string) => stderr!.write(line));
  const destination: DestinationStream = { write: format === 'text' ? (line) => sink(textLine(line)) : sink };
  const logger = pino(
    {
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Errors logged under `error` keep their message and stack (JSON.stringify would give {}).
      serializers: { error: pino.stdSerializers.err },
    },
    destination,
  );
  return wrap(logger, async () => {
    if (stderr) await new Promise<void>((resolve) => stderr.flush(() => resolve()));
  });
}

/** One JSON line per record on stderr. */
export const jsonLogger = (write?: LogWrite): BridgeLogger => createLogger('json', write);

/** `time LEVEL msg key=value …` on stderr. */
export const textLogger = (write?: LogWrite): BridgeLogger => createLogger('text', write);

/** For tests and embedding: drops everything. */
export const silentLogger: BridgeLogger = { info() {}, warn() {}, error() {} };

function wrap(logger: Logger, flush: () => Promise<void>): BridgeLogger {
  return {
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
    flush,
  };
}

/** pino's JSON record as a text line. */
function textLine(json: string): string {
  const { time, level, msg, ...fields } = JSON.parse(json) as LogFields;
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${String(time)} ${String(level).toUpperCase()} ${String(msg)}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}\n`;
}
