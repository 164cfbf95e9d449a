// The harness's hooks for team sessions: the tool catalog with the coordinator's tools (agents that
// may delegate) and the advisor tool (agents with an advisor) added, which threads have work to
// plan, running a coordinator call, and the team loop's final pending-wake check.
import { isoAt } from '../../ports/clock.ts';
import { newId } from '../../protocol/ids.ts';
import type { CommitPlan, SessionRow, StoredEvent } from '../../ports/store.ts';
import { planStep } from '../planner.ts';
import type { LogStateOptions } from '../log-state.ts';
import { virtualRow } from './thread-log.ts';
import type { ToolRunner } from '../tool-runner.ts';
import type { AgentSnapshot } from '../context.ts';
import type { SessionLog } from '../session-log.ts';
import { COORDINATOR_TOOL_NAMES, coordinatorToolDefinitions, planCoordinatorCall, rosterOf } from './coordinator-tools.ts';
import { ADVISOR_TOOL, isAdvisorThread, ownerOf, plannerView, primaryThreadId, threadsOf } from './thread-model.ts';
import { advisorModelOf, advisorToolDefinition } from './advisor.ts';

/** The tool runner with `list_agents` / `send_to_agent` offered to agents that have a roster. */
export function teamToolRunner(inner: ToolRunner): ToolRunner {
  return {
    ...inner,
    catalog(agent: AgentSnapshot) {
      const base = inner.catalog(agent);
      const roster = rosterOf(agent as unknown as Record<string, unknown>);
      const advisor = advisorModelOf(agent as unknown as Record<string, unknown>) ? [advisorToolDefinition()] : [];
      return [...base, ...(roster ? coordinatorToolDefinitions(roster) : []), ...advisor];
    },
    run: (session, call, opts) => inner.run(session, call, opts),
  };
}

export function isCoordinatorCall(agent: AgentSnapshot, use: { type: string; name: string }): boolean {
  return use.type === 'agent.tool_use' && COORDINATOR_TOOL_NAMES.has(use.name) && rosterOf(agent as unknown as Record<string, unknown>) !== undefined;
}

/** The advisor model when this is a call of the primary's `advisor` tool. */
export function advisorCallModel(agent: AgentSnapshot, use: { type: string; name: string }): string | undefined {
  return use.type === 'agent.tool_use' && use.name === ADVISOR_TOOL ? advisorModelOf(agent as unknown as Record<string, unknown>) : undefined;
}

export async function runCoordinatorCall(log: SessionLog, sessionId: string, use: { id: string; name: string }, input: Record<string, unknown>, nowMs: number): Promise<void> {
  await log.commit(sessionId, (row, readLog) => planCoordinatorCall(row, readLog(), { id: use.id, name: use.name, input }, isoAt(nowMs)));
}

/**
 * Threads worth planning: the primary always; a child when it works, waits on a human or a
 * budget, or has input it has not taken yet. Idle children with nothing new are skipped, so a
 * wide fan-out does not re-plan every finished thread after each step.
 */
export function threadsWithWork(row: SessionRow | undefined, log: StoredEvent[]): string[] {
  if (!row) return [];
  const primaryId = primaryThreadId(String(row.session.id));
  const threads = threadsOf(row.session);
  const pending = new Set<string>();
  for (const { event: e } of log) if (e.processed_at === null) pending.add(ownerOf(e, primaryId));
  return Object.values(threads).filter((t) => !t.archived_at && !isAdvisorThread(t) && (
    t.id === primaryId || t.status === 'running' || t.status === 'rescheduling' || pending.has(t.id) ||
    t.stop_reason?.type === 'requires_action' || t.stop_reason?.type === 'budget_reached'
  )).map((t) => t.id);
}

/**
 * The team loop's last commit: clears the session's pending wake only when no thread would do
 * anything if planned now (checked in the same transaction, so input committed meanwhile is never
 * forgotten). `quiet: false` means some thread has work: the caller drives the session again.
 */
export function planTeamQuiet(row: SessionRow, log: StoredEvent[], nowMs: number, opts: LogStateOptions = {}): CommitPlan & { quiet: boolean } {
  const now = isoAt(nowMs);
  const primaryId = primaryThreadId(String(row.session.id));
  const threads = threadsOf(row.session);
  for (const id of threadsWithWork(row, log)) {
    const plan = planStep(virtualRow(row, threads[id]), plannerView(log, id, primaryId), () => newId('sevt'), nowMs, opts);
    if (plan.action.type !== 'none') return { now, quiet: false };
  }
  return { now, quiet: true, patch: { pendingWake: false } };
}
