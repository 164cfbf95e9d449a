// Routes what a client sends on the session to the threads it concerns: tool confirmations and
// custom tool results to the thread of the tool use they answer (echoed with its
// `session_thread_id`), an interrupt naming a thread to that thread, and an interrupt without one
// to every thread of a team session (one echo per child thread, so each thread's log shows it).
import { newId } from '../../protocol/ids.ts';
import { ApiError, invalidRequest } from '../../protocol/errors.ts';
import type { SessionRow, StoredEvent } from '../../ports/store.ts';
import { isAdvisorThread, isTeamSession, primaryThreadId, threadsOf } from './thread-model.ts';

export interface Routed {
  echoes: Array<StoredEvent['event']>;
  /** Threads to interrupt now; undefined = all of them. */
  interruptThreads?: string[];
}

export function routeToThreads(echoes: Array<StoredEvent['event']>, row: SessionRow, log: StoredEvent[]): Routed {
  const sessionId = String(row.session.id);
  const primaryId = primaryThreadId(sessionId);
  const team = isTeamSession(row.session);
  const threads = team ? threadsOf(row.session) : undefined;
  const out: Array<StoredEvent['event']> = [];
  let targeted: string[] | undefined;
  let global = false;
  for (const e of echoes) {
    if (e.type === 'user.tool_confirmation' || e.type === 'user.custom_tool_result') {
      const target = String(e.type === 'user.tool_confirmation' ? e.tool_use_id : e.custom_tool_use_id);
      const owner = log.find((x) => x.event.id === target)?.event.session_thread_id as string | undefined;
      const { session_thread_id: _given, ...rest } = e;
      out.push(owner ? { ...rest, session_thread_id: owner } : rest);
      continue;
    }
    if (e.type !== 'user.interrupt') {
      out.push(e);
      continue;
    }
    const named = e.session_thread_id as string | null | undefined;
    if (named) {
      const t = threads?.[named];
      if (named !== primaryId && !t) throw new ApiError(404, 'not_found_error', `thread ${named} not found in session ${sessionId}`, { errorCode: 'thread_not_found' });
      if (t?.archived_at) throw invalidRequest(`thread ${named} is archived`);
      if (t && isAdvisorThread(t)) throw invalidRequest(`thread ${named} is an advisor consult; it stops with the primary thread (interrupt ${primaryId} or the whole session)`);
      // The primary's own events carry no thread id.
      const { session_thread_id: _s, ...rest } = e;
      out.push(named === primaryId ? rest : e);
      (targeted ??= []).push(named);
      continue;
    }
    global = true;
    const { session_thread_id: _s, ...rest } = e;
    out.push(rest);
    for (const t of Object.values(threads ?? {})) {
      // Terminated threads (finished advisor consults, failed children) have nothing to stop.
      if (t.id === primaryId || t.archived_at || t.status === 'terminated' || isAdvisorThread(t)) continue;
      out.push({ id: newId('sevt'), type: 'user.interrupt', session_thread_id: t.id, processed_at: null });
    }
  }
  return { echoes: out, interruptThreads: global ? undefined : targeted };
}
