// Joins log lines to traces: a pino child whose every line carries `trace_id` and `span_id` of
// the span current when it is written. Only when tracing is on; otherwise the logger is unchanged.
import type { Logger } from 'pino';
import type { Tracer } from '../ports/tracer.ts';

export function withTraceFields(logger: Logger, tracer: Tracer): Logger {
  if (!tracer.enabled && !tracer.mayEnable) return logger;
  return logger.child({}, {
    formatters: {
      log(object: object) {
        const ids = tracer.logFields();
        return ids ? { ...object, ...ids } : object;
      },
    },
  });
}
