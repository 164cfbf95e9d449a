// The timeline's state: persisted events merged from the history listing and the live stream
// (deduped by id, history first), streamed previews of agent messages (event_start/event_delta,
// dropped when the final event arrives), and what is derived from them: each tool call's result and
// confirmation, the calls still waiting for a person, and the session's current status.
import type { Json } from './api.ts';

export interface Preview {
  id: string;
  type: string;
  text: string;
}

export interface TimelineState {
  /** Persisted events in order (history, then live). */
  events: Json[];
  ids: Set<string>;
  /** In-flight agent messages by event id. */
  previews: Map<string, Preview>;
}

export type TimelineAction =
  | { type: 'history'; events: Json[] }
  | { type: 'event'; event: Json }
  /** Several live events at once (the page batches what arrives within one animation frame). */
  | { type: 'events'; events: Json[] }
  | { type: 'reset' };

export const emptyTimeline = (): TimelineState => ({ events: [], ids: new Set(), previews: new Map() });

export function timelineReducer(state: TimelineState, action: TimelineAction): TimelineState {
  switch (action.type) {
    case 'reset':
      return emptyTimeline();
    case 'history': {
      const seen = new Set<string>();
      const history: Json[] = [];
      for (const e of action.events) {
        if (typeof e?.id !== 'string' || seen.has(e.id)) continue;
        seen.add(e.id);
        history.push(e);
      }
      const live = state.events.filter((e) => !seen.has(e.id));
      const events = [...history, ...live];
      const previews = new Map(state.previews);
      for (const e of events) previews.delete(e.id);
      return { events, ids: new Set(events.map((e) => e.id)), previews };
    }
    case 'events':
      return applyLive(state, action.events);
    case 'event':
      return applyLive(state, [action.event]);
  }
}

/** Applies live events in order, copying the state's collections at most once. */
function applyLive(state: TimelineState, incoming: Json[]): TimelineState {
  let events: Json[] | undefined;
  let ids: Set<string> | undefined;
  let previews: Map<string, Preview> | undefined;
  const prev = () => (previews ??= new Map(state.previews));
  for (const e of incoming) {
    if (!e || typeof e.type !== 'string') continue;
    const seen = ids ?? state.ids;
    const pv = previews ?? state.previews;
    if (e.type === 'event_start') {
      const inner = e.event as Json | undefined;
      if (!inner?.id || seen.has(inner.id) || pv.has(inner.id)) continue;
      prev().set(inner.id, { id: inner.id, type: String(inner.type), text: '' });
      continue;
    }
    if (e.type === 'event_delta') {
      const p = pv.get(String(e.event_id));
      const text = e.delta?.content?.text;
      if (!p || typeof text !== 'string') continue;
      prev().set(p.id, { ...p, text: p.text + text });
      continue;
    }
    // Frames without an id (not persisted events) are ignored; persisted ones are deduped.
    if (typeof e.id !== 'string') continue;
    if (e.id !== '' && seen.has(e.id)) continue;
    (ids ??= new Set(state.ids)).add(e.id);
    (events ??= [...state.events]).push(e);
    if (pv.has(e.id)) prev().delete(e.id);
  }
  if (!events && !previews) return state;
  return { events: events ?? state.events, ids: ids ?? state.ids, previews: previews ?? state.previews };
}

const TOOL_USES = new Set(['agent.tool_use', 'agent.mcp_tool_use', 'agent.custom_tool_use']);

export interface Derived {
  /** Result event by tool-use id (agent.tool_result, agent.mcp_tool_result, user.custom_tool_result, user.tool_result). */
  results: Map<string, Json>;
  /** user.tool_confirmation by tool-use id. */
  confirmations: Map<string, Json>;
  /** Tool uses waiting for a person: `ask` calls without confirmation, custom calls without a result. */
  pending: Json[];
  /** Latest status from the status events (`idle`, `running`, `rescheduling`, `terminated`), if any. */
  status: string | undefined;
  /** The last idle's stop reason type. */
  stopReason: string | undefined;
}

export function derive(events: Json[]): Derived {
  const results = new Map<string, Json>();
  const confirmations = new Map<string, Json>();
  let status: string | undefined;
  let stopReason: string | undefined;
  for (const e of events) {
    switch (e.type) {
      case 'agent.tool_result':
      case 'user.tool_result':
        results.set(String(e.tool_use_id), e);
        break;
      case 'agent.mcp_tool_result':
        results.set(String(e.mcp_tool_use_id), e);
        break;
      case 'user.custom_tool_result':
        results.set(String(e.custom_tool_use_id), e);
        break;
      case 'user.tool_confirmation':
        confirmations.set(String(e.tool_use_id), e);
        break;
      case 'session.status_running':
        status = 'running';
        break;
      case 'session.status_idle':
        status = 'idle';
        stopReason = e.stop_reason?.type;
        break;
      case 'session.status_rescheduled':
        status = 'rescheduling';
        break;
      case 'session.status_terminated':
        status = 'terminated';
        break;
    }
  }
  const pending = status === 'terminated' ? [] : events.filter((e) => {
    if (!TOOL_USES.has(e.type) || results.has(e.id)) return false;
    if (e.type === 'agent.custom_tool_use') return true;
    return e.evaluated_permission === 'ask' && !confirmations.has(e.id);
  });
  return { results, confirmations, pending, status, stopReason };
}

/** Events shown as their own rows (in order): results and confirmations are shown inside their tool call's row. */
export function rows(events: Json[]): Json[] {
  const uses = new Set(events.filter((e) => TOOL_USES.has(e.type)).map((e) => e.id));
  return events.filter((e) => {
    switch (e.type) {
      case 'agent.tool_result':
      case 'user.tool_result':
        return !uses.has(e.tool_use_id);
      case 'agent.mcp_tool_result':
        return !uses.has(e.mcp_tool_use_id);
      case 'user.custom_tool_result':
        return !uses.has(e.custom_tool_use_id);
      case 'user.tool_confirmation':
        return !uses.has(e.tool_use_id);
      default:
        return true;
    }
  });
}

/** The text of content blocks (text blocks joined; other blocks named). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  return content.map((b: Json) => {
    if (b?.type === 'text') return String(b.text ?? '');
    if (b?.type === 'redacted') return '[redacted]';
    if (b?.type === 'image') return '[image]';
    if (b?.type === 'document') return `[document${b.title ? `: ${b.title}` : ''}]`;
    if (b?.type === 'search_result') return `[search result: ${b.title ?? b.source ?? ''}]\n${contentText(b.content)}`;
    return JSON.stringify(b);
  }).join('\n');
}
