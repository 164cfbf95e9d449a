// Log lines that let an operator follow a session through the log: turn started, turn ended (with
// its stop reason), rescheduled, terminated. Read off the status events a commit just stored, so
// they say exactly what the session log says and nothing else (never event contents). Called by
// SessionLog.commit, which every status change goes through.
import type { StoredEvent } from '../ports/store.ts';

/** The slice of the process logger these lines need (the core names no logging library). */
export interface InfoLogger {
  info(obj: object, msg: string): void;
}

export function logTransitions(logger: InfoLogger, sessionId: string, stored: StoredEvent[] | undefined): void {
  for (const { event } of stored ?? []) {
    switch (event.type) {
      case 'session.status_running':
        logger.info({ sessionId }, 'turn started');
        break;
      case 'session.status_idle':
        logger.info({ sessionId, stopReason: (event.stop_reason as { type?: string } | undefined)?.type ?? null }, 'turn ended');
        break;
      case 'session.status_rescheduled':
        logger.info({ sessionId }, 'turn rescheduled after a failed model request');
        break;
      case 'session.status_terminated':
        logger.info({ sessionId }, 'session terminated');
        break;
    }
  }
}
