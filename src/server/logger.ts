// The process logger: pino, writing JSON lines (for machines, the default) or, with
// HANGAR_LOG_FORMAT=pretty, pino-pretty's coloured one-line-per-event text (for people).
// pino-pretty runs in this thread (sync) so the last lines before an exit are never lost.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
}

/** Never log these, wherever they appear in a log object (defence in depth; nothing should pass them). */
const REDACT = ['authorization', 'headers.authorization', 'headers["x-api-key"]', 'apiKey', 'api_key', 'password', 'token', 'secret'];

export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (opts.format === 'pretty') {
    return pino(base, pretty({ sync: true, colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true }));
  }
  return pino(base);
}
