// Reads what each session-log commit stored: turn starts and ends (by stop reason), terminations
// and grader verdicts become metrics and span attributes, and the commit's duration is the event-log
// append latency. Event types only, never contents.
import type { CommitObserver } from '../session-log.ts';
import type { Metrics } from '../../ports/metrics.ts';
import type { Tracer } from '../../ports/tracer.ts';

export function commitObserver(tracer: Tracer, metrics: Metrics): CommitObserver {
  return (_sessionId, stored, durationMs) => {
    metrics.eventLogAppend(durationMs);
    for (const { event } of stored) {
      switch (event.type) {
        case 'session.status_running':
          metrics.turnStarted();
          break;
        case 'session.status_idle': {
          const reason = (event.stop_reason as { type?: string } | undefined)?.type ?? 'unknown';
          metrics.turnEnded(reason);
          tracer.annotateTurn({ 'hangar.turn.stop_reason': reason });
          break;
        }
        case 'session.status_terminated':
          metrics.sessionTerminated();
          tracer.annotateTurn({ 'hangar.turn.stop_reason': 'terminated' });
          break;
        case 'span.outcome_evaluation_end':
          metrics.graderVerdict(String(event.result));
          tracer.annotate({ 'hangar.outcome.result': String(event.result) });
          break;
      }
    }
  };
}
