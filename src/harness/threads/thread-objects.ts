// Session threads as the API shows them (`BetaManagedAgentsSessionThread`), and archiving one.
import type { SessionRow, StoredEvent } from '../../ports/store.ts';
import { isoAt } from '../../ports/clock.ts';
import { isTeamSession, ownerOf, primaryThreadId, threadsOf, type ThreadState } from './thread-model.ts';

type Usage = Record<string, unknown>;

/** Token usage per thread, summed from the model request spans of its log. */
function usageByThread(log: StoredEvent[], primaryId: string): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const { event: e } of log) {
    if (e.type !== 'span.model_request_end') continue;
    const owner = ownerOf(e, primaryId);
    const u = (e.model_usage as Record<string, number> | undefined) ?? {};
    const acc = (out.get(owner) ?? { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 } }) as Record<string, any>;
    acc.input_tokens += u.input_tokens ?? 0;
    acc.output_tokens += u.output_tokens ?? 0;
    acc.cache_read_input_tokens += u.cache_read_input_tokens ?? 0;
    acc.cache_creation.ephemeral_5m_input_tokens += u.cache_creation_input_tokens ?? 0;
    out.set(owner, acc);
  }
  return out;
}

function activeSeconds(t: ThreadState, nowMs: number): number {
  return Math.round((t.active_seconds * 1000 + (t.running_since !== null ? nowMs - t.running_since : 0))) / 1000;
}

function toWire(row: SessionRow, t: ThreadState, usage: Usage | undefined, nowMs: number) {
  const sessionId = String(row.session.id);
  const end = t.archived_at ? Date.parse(t.updated_at) : nowMs;
  const active = activeSeconds(t, nowMs);
  return {
    type: 'session_thread', id: t.id, session_id: sessionId, parent_thread_id: t.parent_thread_id, status: t.status,
    agent: t.agent, workflow_run_id: null,
    stats: { active_seconds: active, duration_seconds: Math.max(0, Math.round(end - Date.parse(t.created_at)) / 1000), startup_seconds: 0 },
    usage: usage || t.status === 'idle' ? { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, ...usage, active_seconds: active } : null,
    created_at: t.created_at, updated_at: t.updated_at, archived_at: t.archived_at,
  };
}

/** Every thread of the session, primary first, then children in creation order. */
export function listThreads(row: SessionRow, log: StoredEvent[], nowMs: number) {
  const primaryId = primaryThreadId(String(row.session.id));
  const threads = threadsOf(row.session);
  if (!isTeamSession(row.session)) {
    // A single-agent session's one thread is the session itself.
    const p = threads[primaryId];
    p.status = row.session.status as ThreadState['status'];
    p.updated_at = String(row.session.updated_at);
    p.active_seconds = Number((row.session.usage as Usage | undefined)?.active_seconds ?? 0);
    p.running_since = row.runningSince;
  }
  const usage = usageByThread(log, primaryId);
  const ordered = [threads[primaryId], ...Object.values(threads).filter((t) => t.id !== primaryId).sort((a, b) => a.created_at.localeCompare(b.created_at))];
  return ordered.map((t) => toWire(row, t, usage.get(t.id), nowMs));
}

export type ArchiveOutcome = { ok: true; threads: Record<string, ThreadState> } | { ok: false; status: number; message: string; code?: string };

/** Archives an idle child thread that waits on nobody (a thread waiting on a human: 400); the primary never. */
export function archiveThread(row: SessionRow, threadId: string, nowMs: number): ArchiveOutcome {
  const sessionId = String(row.session.id);
  const threads = threadsOf(row.session);
  const t = threads[threadId];
  if (!t) return { ok: false, status: 404, message: `thread ${threadId} not found in session ${sessionId}`, code: 'thread_not_found' };
  if (t.parent_thread_id === null) return { ok: false, status: 400, message: `thread ${threadId} is the session's primary thread and cannot be archived` };
  if (t.archived_at) return { ok: true, threads };
  if (t.status === 'running' || t.status === 'rescheduling') {
    return { ok: false, status: 400, message: `thread ${threadId} is ${t.status}; interrupt it or wait until it is idle before archiving` };
  }
  // Archiving would strand the calls it waits on (nobody could answer them any more).
  const waiting = t.stop_reason?.type === 'requires_action' ? t.stop_reason.event_ids ?? [] : [];
  if (waiting.length) {
    return {
      ok: false, status: 400,
      message: `thread ${threadId} is waiting on tool calls (${waiting.join(', ')}); answer them, or interrupt the thread (user.interrupt with session_thread_id), before archiving`,
    };
  }
  const now = isoAt(nowMs);
  return { ok: true, threads: { ...threads, [threadId]: { ...t, archived_at: now, updated_at: now } } };
}
