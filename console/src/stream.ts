// Live events of a session (or one of its threads) over SSE, read with fetch so the API key travels
// in a header (EventSource cannot send one). The stream has no replay: the history is listed again
// once it is open (a first listing runs meanwhile, to show something early), and the timeline
// reducer dedupes by event id. A dropped stream reconnects with
// backoff and lists the history again; it ends for good after session.status_terminated/deleted.
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { all, headers, type Json } from './api.ts';

export interface StreamHandlers {
  onHistory(events: Json[]): void;
  onEvent(event: Json): void;
  onState(state: 'connecting' | 'live' | 'reconnecting' | 'ended', error?: string): void;
}

export interface StreamTarget {
  sessionId: string;
  /** A child thread; none = the session's (primary thread's) stream. */
  threadId?: string;
}

function paths(t: StreamTarget): { stream: string; history: string } {
  const base = `/v1/sessions/${encodeURIComponent(t.sessionId)}`;
  if (!t.threadId) return { stream: `${base}/events/stream`, history: `${base}/events` };
  const th = `${base}/threads/${encodeURIComponent(t.threadId)}`;
  return { stream: `${th}/stream`, history: `${th}/events` };
}

const FINAL = new Set(['session.status_terminated', 'session.deleted']);
/** A stream whose headers take longer than this is dropped and retried. */
const CONNECT_TIMEOUT_MS = 5_000;
/** A stream silent for this long (the server pings every 15 s by default) is dropped and retried. */
const SILENCE_TIMEOUT_MS = 60_000;

/** Follows the target until `stop()`; returns `stop`. */
export function follow(target: StreamTarget, h: StreamHandlers): () => void {
  const ctrl = new AbortController();
  const p = paths(target);
  void (async () => {
    let attempt = 0;
    while (!ctrl.signal.aborted) {
      h.onState(attempt === 0 ? 'connecting' : 'reconnecting');
      let ended = false;
      const listHistory = () => all(p.history, { limit: 1000 }, 50).then((events) => {
        // A stopped follower (the page moved to another thread) reports nothing more.
        if (ctrl.signal.aborted) return events;
        h.onHistory(events);
        if (events.some((e) => FINAL.has(e.type))) ended = true;
        return events;
      });
      // The history is listed at once (shown while the stream connects) and again once the stream
      // is open, so nothing emitted between the two listings is missed; the reducer dedupes.
      const early = listHistory().catch(() => undefined);
      // This attempt's connection: aborted with the follower, or when it hangs or falls silent.
      const attemptCtrl = new AbortController();
      const onStop = () => attemptCtrl.abort();
      ctrl.signal.addEventListener('abort', onStop);
      let watchdog = setTimeout(() => attemptCtrl.abort(), CONNECT_TIMEOUT_MS);
      const heard = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => attemptCtrl.abort(), SILENCE_TIMEOUT_MS);
      };
      try {
        const res = await fetch(`${p.stream}?event_deltas[]=agent.message`, { headers: { ...headers(), accept: 'text/event-stream' }, signal: attemptCtrl.signal });
        heard();
        if (!res.ok || !res.body) {
          let message = `${res.status} ${res.statusText}`;
          try {
            message = String((await res.json())?.error?.message ?? message);
          } catch {
            /* keep the status */
          }
          // A refusal (bad key, no such session) is final; a server error or a closing server is retried.
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
            h.onState('ended', message);
            return;
          }
          throw new Error(message);
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
        const history = early.then(() => listHistory()).then(() => h.onState(ended ? 'ended' : 'live'));
        history.catch((err) => h.onState('reconnecting', String(err?.message ?? err)));
        attempt = 0;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          heard();
          if (value.event === 'ping' || !value.data) continue;
          let event: Json;
          try {
            event = JSON.parse(value.data);
          } catch {
            continue;
          }
          if (value.event === 'error') {
            h.onState('reconnecting', String(event?.error?.message ?? 'stream error'));
            break;
          }
          if (ctrl.signal.aborted) return;
          h.onEvent(event);
          if (FINAL.has(String(event.type))) ended = true;
        }
        await history.catch(() => {});
      } catch (err) {
        if (ctrl.signal.aborted) return;
        h.onState('reconnecting', String((err as Error)?.message ?? err));
      } finally {
        clearTimeout(watchdog);
        ctrl.signal.removeEventListener('abort', onStop);
      }
      if (ended) {
        h.onState('ended');
        return;
      }
      attempt++;
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
    }
  })();
  return () => ctrl.abort();
}
