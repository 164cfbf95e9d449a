// Team-session bookkeeping without I/O: a thread with nothing to do must not clear the session's
// pending wake while another thread still has input waiting (a crash would then forget it), the
// team loop's final check clears it only when every thread is quiet, and archiving refuses a
// thread that waits on a human.
import { describe, expect, it } from 'vitest';
import type { SessionRow, StoredEvent } from '../../src/ports/store.ts';
import { translate } from '../../src/harness/threads/thread-log.ts';
import { planTeamQuiet } from '../../src/harness/threads/team-harness.ts';
import { archiveThread } from '../../src/harness/threads/thread-objects.ts';
import { primaryThreadId, type ThreadState } from '../../src/harness/threads/thread-model.ts';
import { planCoordinatorCall } from '../../src/harness/threads/coordinator-tools.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const SID = 'sesn_unit';
const PRIMARY = primaryThreadId(SID);
const CHILD = 'sthr_child';

function thread(id: string, extra: Partial<ThreadState> = {}): ThreadState {
  return {
    id, agent_name: id === PRIMARY ? 'lead' : 'helper', agent: { name: id, model: { id: 'm' }, tools: [], mcp_servers: [], skills: [] },
    parent_thread_id: id === PRIMARY ? null : PRIMARY, status: 'idle', running_since: null, retry_count: 0, active_seconds: 0,
    stop_reason: { type: 'end_turn' }, created_at: NOW, updated_at: NOW, archived_at: null, ...extra,
  };
}

function row(threads: ThreadState[]): SessionRow {
  return {
    session: {
      id: SID, status: 'idle', created_at: NOW, updated_at: NOW, budget: null, usage: { input_tokens: 0, output_tokens: 0 },
      agent: { name: 'lead', model: { id: 'm' }, tools: [], mcp_servers: [], skills: [], multiagent: { type: 'coordinator', agents: [] } },
      _threads: Object.fromEntries(threads.map((t) => [t.id, t])),
    },
    runningSince: null, retryCount: 0,
  } as unknown as SessionRow;
}

let seq = 0;
const stored = (event: Record<string, unknown>): StoredEvent => ({ seq: ++seq, event: { id: `sevt_${seq}`, processed_at: NOW, ...event } as StoredEvent['event'], processedSeq: null });

/** A child that finished one turn and has a follow-up from the coordinator it has not taken yet. */
function childWithQueuedFollowUp(): StoredEvent[] {
  return [
    stored({ type: 'user.message', content: [{ type: 'text', text: 'go' }] }),
    stored({ type: 'agent.message', content: [{ type: 'text', text: 'ok' }] }),
    stored({ type: 'session.thread_status_idle', session_thread_id: PRIMARY, stop_reason: { type: 'end_turn' } }),
    stored({ type: 'agent.thread_message_received', session_thread_id: CHILD, from_session_thread_id: PRIMARY, from_agent_name: 'lead', content: [{ type: 'text', text: 'more' }], processed_at: null }),
  ];
}

describe('pending wake in team sessions', () => {
  it('a quiet thread does not clear the pending wake another thread still needs', () => {
    const r = row([thread(PRIMARY), thread(CHILD)]);
    const log = childWithQueuedFollowUp();
    const out = translate({ now: NOW, patch: { pendingWake: false } }, r, () => log, PRIMARY);
    expect(out.patch).not.toHaveProperty('pendingWake');
    // A pending wake a thread asks for still goes through.
    expect(translate({ now: NOW, patch: { pendingWake: true } }, r, () => log, PRIMARY).patch?.pendingWake).toBe(true);
  });

  it('the team loop clears it only when no thread would act', () => {
    const r = row([thread(PRIMARY), thread(CHILD)]);
    const busy = planTeamQuiet(r, childWithQueuedFollowUp(), Date.parse(NOW));
    expect(busy.quiet).toBe(false);
    expect(busy.patch).toBeUndefined();
    const settled: StoredEvent[] = childWithQueuedFollowUp().map((e) => ({ ...e, event: { ...e.event, processed_at: NOW } }));
    settled.push(stored({ type: 'agent.message', session_thread_id: CHILD, content: [{ type: 'text', text: 'done' }] }));
    const quiet = planTeamQuiet(r, settled, Date.parse(NOW));
    expect(quiet.quiet).toBe(true);
    expect(quiet.patch).toEqual({ pendingWake: false });
  });
});

describe('archiving a thread', () => {
  it('refuses one that waits on a human (400) and archives an idle one', () => {
    const waiting = thread(CHILD, { stop_reason: { type: 'requires_action', event_ids: ['sevt_use'] } });
    const refused = archiveThread(row([thread(PRIMARY), waiting]), CHILD, Date.parse(NOW));
    expect(refused).toMatchObject({ ok: false, status: 400 });
    if (!refused.ok) expect(refused.message).toContain('sevt_use');
    const ok = archiveThread(row([thread(PRIMARY), thread(CHILD)]), CHILD, Date.parse(NOW));
    expect(ok.ok && ok.threads[CHILD].archived_at).toBe(NOW);
  });
});

describe('send_to_agent', () => {
  it('refuses the advisor\'s reserved name for an inline agent, creating nothing', () => {
    const r = row([thread(PRIMARY)]);
    (r.session.agent as any).multiagent = { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: [], inline_agents: { type: 'enabled' } } };
    const plan = planCoordinatorCall(r, [], { id: 'sevt_use', name: 'send_to_agent', input: { agent: { name: 'anthropic.advisor' }, message: 'hi' } }, NOW);
    expect(plan.events).toHaveLength(1);
    expect(plan.events![0]).toMatchObject({ type: 'agent.tool_result', is_error: true });
    expect(JSON.stringify(plan.events![0].content)).toContain('reserved');
    expect(plan.patch?.fields).toBeUndefined();
  });
});
