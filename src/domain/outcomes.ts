// Outcomes read from the session log: which outcome is active, how many evaluations it has had,
// whether an evaluation is in flight, and the `outcome_evaluations[]` the session object shows.
// Pure; the log is the only input.
import type { StoredEvent } from '../ports/store.ts';

export const OUTCOME_TERMINAL = new Set(['satisfied', 'failed', 'max_iterations_reached', 'interrupted']);
/** Grader results that send the agent back to work (their explanation joins the conversation). */
export const OUTCOME_FEEDBACK = new Set(['needs_revision', 'max_iterations_reached']);

export interface OutcomeState {
  outcomeId: string;
  description: string;
  rubric: { type: 'text'; content: string } | { type: 'file'; file_id: string };
  maxIterations: number;
  definedSeq: number;
  /** Completed (non-interrupted) evaluations so far; the next one has this iteration number. */
  iteration: number;
  /** A `span.outcome_evaluation_start` with no end yet. */
  danglingStartId: string | null;
  lastEnd: { result: string; explanation: string; seq: number; processedAt: string | null } | null;
  terminal: boolean;
}

export function readOutcomes(log: StoredEvent[]): OutcomeState[] {
  const outcomes: OutcomeState[] = [];
  const byId = new Map<string, OutcomeState>();
  for (const { seq, event: e } of log) {
    if (e.type === 'user.define_outcome') {
      const o: OutcomeState = {
        outcomeId: String(e.outcome_id), description: String(e.description), rubric: e.rubric as OutcomeState['rubric'],
        maxIterations: Number(e.max_iterations ?? 3), definedSeq: seq, iteration: 0, danglingStartId: null, lastEnd: null, terminal: false,
      };
      outcomes.push(o);
      byId.set(o.outcomeId, o);
    } else if (e.type === 'span.outcome_evaluation_start') {
      const o = byId.get(String(e.outcome_id));
      if (o) o.danglingStartId = e.id;
    } else if (e.type === 'span.outcome_evaluation_end') {
      const o = byId.get(String(e.outcome_id));
      if (!o) continue;
      o.danglingStartId = null;
      const result = String(e.result);
      // The next evaluation's number; a finished outcome keeps the number of its last one.
      o.iteration = OUTCOME_TERMINAL.has(result) ? Number(e.iteration) : Number(e.iteration) + 1;
      o.lastEnd = { result, explanation: String(e.explanation ?? ''), seq, processedAt: e.processed_at };
      if (OUTCOME_TERMINAL.has(result)) o.terminal = true;
    }
  }
  return outcomes;
}

/** The outcome still in play (defined, not terminal), if any. */
export function activeOutcome(log: StoredEvent[]): OutcomeState | undefined {
  return readOutcomes(log).find((o) => !o.terminal);
}

/** The session's `outcome_evaluations[]` as of this log. `running` tells whether the agent is working. */
export function outcomeEvaluations(log: StoredEvent[], sessionRunning: boolean): Array<Record<string, unknown>> {
  return readOutcomes(log).map((o) => ({
    type: 'outcome_evaluation',
    outcome_id: o.outcomeId,
    description: o.description,
    iteration: o.iteration,
    result: o.terminal ? o.lastEnd!.result : o.danglingStartId ? 'evaluating' : sessionRunning ? 'running' : 'pending',
    explanation: o.lastEnd?.explanation ?? null,
    completed_at: o.terminal ? o.lastEnd!.processedAt : null,
  }));
}
