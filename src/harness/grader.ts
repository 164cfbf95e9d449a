// The outcome grader: after a working turn, an independent model request judges the agent's work
// against the outcome's rubric. It gets its own context — the rubric, the outcome, and the evidence
// (the agent's final message, its tool calls and results, files it produced) — never the agent's
// system prompt, and must answer through one tool with a strict schema so a malformed verdict is
// detected and asked again.
import { newId } from '../protocol/ids.ts';
import { EventFactory } from '../domain/session-events.ts';
import { readOutcomes, type OutcomeState } from '../domain/outcomes.ts';
import { ModelError, type ModelRequest, type ModelResponse } from '../ports/model.ts';
import type { SessionRow, StoredEvent } from '../ports/store.ts';
import { isoAt } from '../ports/clock.ts';
import { accountCall, reserveCall, type ModelStepDeps } from './model-step.ts';
import { resultTarget } from './log-state.ts';

export const VERDICT_TOOL = 'submit_verdict';
const VERDICTS = new Set(['satisfied', 'needs_revision', 'failed']);
const MAX_VERDICT_ATTEMPTS = 3;
const EVIDENCE_ITEM_CHARS = 4_000;
const EVIDENCE_TOTAL_CHARS = 120_000;

const GRADER_SYSTEM = [
  'You are an independent grader. You judge whether an AI agent\'s work satisfies a stated outcome, using the rubric.',
  'Judge only from the evidence given. Be strict but fair: "satisfied" only when every rubric requirement is met;',
  '"needs_revision" when the work can still be fixed, with a concrete explanation of what is missing or wrong;',
  '"failed" only when the outcome cannot be achieved. Always answer by calling the submit_verdict tool.',
].join(' ');

export interface GraderDeps extends ModelStepDeps {
  /** Model id for grading; undefined = the agent's own model. */
  graderModel: string | undefined;
  /** Text of a rubric given as a file. */
  readRubricFile(fileId: string): Promise<string>;
  /** Names of files the session produced (its outputs), for the evidence. */
  producedFiles(sessionId: string): Promise<string[]>;
  /** Interval of `span.outcome_evaluation_ongoing` while grading. */
  ongoingIntervalMs: number;
}

export type GradeOutcome =
  | { type: 'ok' }
  /** The grader call failed; `evaluation` is the open evaluation span (its reservation must go). */
  | { type: 'failed'; error: ModelError; evaluation: { startId: string; outcomeId: string; iteration: number } };

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[... ${text.length - max} characters cut ...]`;
}

function blocksText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return (content as Array<Record<string, unknown>>).map((b) => (b.type === 'text' ? String(b.text) : `[${String(b.type)} block]`)).join('\n');
}

/** The evidence of the work done for an outcome since it was defined. */
export function evidenceOf(log: StoredEvent[], outcome: OutcomeState, files: string[]): string {
  const items: string[] = [];
  const uses = new Map<string, string>();
  let finalMessage = '';
  for (const { seq, event: e } of log) {
    if (seq <= outcome.definedSeq) continue;
    if (e.type === 'agent.message') {
      finalMessage = blocksText(e.content);
      items.push(`[agent message]\n${clip(finalMessage, EVIDENCE_ITEM_CHARS)}`);
    } else if (e.type === 'agent.tool_use' || e.type === 'agent.custom_tool_use' || e.type === 'agent.mcp_tool_use') {
      uses.set(e.id, String(e.name));
      items.push(`[tool call ${e.name}]\n${clip(JSON.stringify(e.input), EVIDENCE_ITEM_CHARS)}`);
    } else if (resultTarget(e)) {
      const name = uses.get(resultTarget(e)!) ?? 'tool';
      items.push(`[${name} result${e.is_error ? ' (error)' : ''}]\n${clip(blocksText(e.content), EVIDENCE_ITEM_CHARS)}`);
    } else if (e.type === 'span.outcome_evaluation_end' && e.outcome_id === outcome.outcomeId) {
      items.push(`[previous grader verdict: ${e.result}]\n${clip(String(e.explanation), EVIDENCE_ITEM_CHARS)}`);
    }
  }
  let transcript = items.join('\n\n');
  if (transcript.length > EVIDENCE_TOTAL_CHARS) transcript = `[... earlier work cut ...]\n${transcript.slice(-EVIDENCE_TOTAL_CHARS)}`;
  const produced = files.length ? files.map((f) => `- ${f}`).join('\n') : '(none)';
  return `<final_message>\n${clip(finalMessage, EVIDENCE_ITEM_CHARS * 4) || '(no message)'}\n</final_message>\n\n<work_transcript>\n${transcript || '(nothing)'}\n</work_transcript>\n\n<files_produced>\n${produced}\n</files_produced>`;
}

export function graderRequest(model: string, outcome: OutcomeState, rubric: string, evidence: string, maxTokens: number): ModelRequest {
  const prompt = [
    `<outcome>\n${outcome.description}\n</outcome>`,
    `<rubric>\n${rubric}\n</rubric>`,
    `This is evaluation ${outcome.iteration + 1} of at most ${outcome.maxIterations}.`,
    evidence,
    'Grade the work against the rubric and call submit_verdict.',
  ].join('\n\n');
  return {
    model: { id: model },
    system: [{ text: GRADER_SYSTEM }],
    tools: [{
      name: VERDICT_TOOL,
      description: 'Submit the verdict on whether the work satisfies the outcome.',
      input_schema: {
        type: 'object',
        properties: {
          result: { type: 'string', enum: ['satisfied', 'needs_revision', 'failed'] },
          explanation: { type: 'string', description: 'Why, citing the rubric; for needs_revision, what exactly to fix.' },
        },
        required: ['result', 'explanation'],
        additionalProperties: false,
      },
    }],
    toolChoice: { type: 'tool', name: VERDICT_TOOL },
    messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }],
    maxTokens: Math.min(maxTokens, 4096),
  };
}

/** The verdict in a grader answer, or undefined when it is missing or malformed. */
export function parseVerdict(response: ModelResponse): { result: string; explanation: string } | undefined {
  const call = response.content.find((b) => b.type === 'tool_use' && b.name === VERDICT_TOOL);
  if (!call || call.type !== 'tool_use') return undefined;
  const { result, explanation } = call.input as { result?: unknown; explanation?: unknown };
  if (typeof result !== 'string' || !VERDICTS.has(result) || typeof explanation !== 'string' || !explanation.trim()) return undefined;
  return { result, explanation };
}

const nextEventId = () => newId('sevt');

export async function runEvaluation(
  deps: GraderDeps, sessionId: string, row: SessionRow, log: StoredEvent[],
  action: { outcomeId: string; iteration: number; startId: string | null }, signal: AbortSignal,
): Promise<GradeOutcome> {
  const outcome = readOutcomes(log).find((o) => o.outcomeId === action.outcomeId);
  if (!outcome || outcome.terminal) return { type: 'ok' };
  const agentModel = String((row.session.agent as { model: { id: string } }).model.id);
  const model = deps.graderModel ?? agentModel;
  const rubric = outcome.rubric.type === 'text' ? outcome.rubric.content : await deps.readRubricFile(outcome.rubric.file_id);
  const request = graderRequest(model, outcome, rubric, evidenceOf(log, outcome, await deps.producedFiles(sessionId)), deps.maxTokens);

  // Open the evaluation span (or resume the one a crashed process opened), reserving its cost.
  let startId = action.startId;
  if (!startId) {
    const opened = await deps.log.commit(sessionId, (current) => {
      const f = new EventFactory(nextEventId, isoAt(deps.clock.now()));
      const start = f.outcomeEvaluationStart(outcome.outcomeId, outcome.iteration);
      const reserve = reserveCall(deps, current.session, model, request, start.id);
      const evaluations = (current.session.outcome_evaluations as Array<Record<string, unknown>> | undefined ?? [])
        .map((o) => (o.outcome_id === outcome.outcomeId ? { ...o, result: 'evaluating' } : o));
      return { now: isoAt(deps.clock.now()), events: [start], patch: { fields: { ...reserve, outcome_evaluations: evaluations } } };
    });
    if (!opened) return { type: 'ok' };
    startId = opened.stored[0].event.id;
  }
  const spanId = startId;

  // Heartbeats are chained and awaited before the span ends, so none lands after its end event.
  let beat: Promise<void> = Promise.resolve();
  const ongoing = setInterval(() => {
    // A heartbeat only: a failed one (the store is down, the lease moved to another node) is skipped.
    beat = beat.then(() => deps.log.commit(sessionId, () => {
      const f = new EventFactory(nextEventId, isoAt(deps.clock.now()));
      return { now: isoAt(deps.clock.now()), events: [f.outcomeEvaluationOngoing(outcome.outcomeId, outcome.iteration)] };
    })).then(() => {}, () => {});
  }, deps.ongoingIntervalMs);
  const stopBeats = async () => {
    clearInterval(ongoing);
    await beat;
  };
  const total = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, cache_creation_5m: 0, cache_creation_1h: 0 };
  try {
    let verdict: { result: string; explanation: string } | undefined;
    for (let attempt = 1; attempt <= MAX_VERDICT_ATTEMPTS && !verdict; attempt++) {
      let response: ModelResponse;
      try {
        response = await deps.model.stream(request, { signal });
      } catch (err) {
        const error = err instanceof ModelError ? err : new ModelError('request_failed', String(err), { retryable: true, cause: err });
        await stopBeats();
        return { type: 'failed', error, evaluation: { startId: spanId, outcomeId: outcome.outcomeId, iteration: outcome.iteration } };
      }
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += response.usage[k];
      // Each grader call is a model request: it counts in usage and list cost.
      await deps.log.commit(sessionId, (current) => ({
        now: isoAt(deps.clock.now()),
        patch: { fields: { ...accountCall(deps, current.session, model, response.usage, `${spanId}#${attempt}`), _reserved: current.session._reserved ?? {} } },
      }));
      verdict = parseVerdict(response);
    }
    const final = verdict ?? { result: 'failed', explanation: `The grader gave no valid verdict after ${MAX_VERDICT_ATTEMPTS} attempts.` };
    const result = final.result === 'needs_revision' && outcome.iteration + 1 >= outcome.maxIterations ? 'max_iterations_reached' : final.result;
    await stopBeats();
    await deps.log.commit(sessionId, (current) => {
      const f = new EventFactory(nextEventId, isoAt(deps.clock.now()));
      const reserved = { ...((current.session._reserved as Record<string, number> | undefined) ?? {}) };
      delete reserved[spanId];
      return {
        now: isoAt(deps.clock.now()),
        events: [f.outcomeEvaluationEnd(spanId, outcome.outcomeId, outcome.iteration, result, final.explanation, {
          input_tokens: total.input_tokens, output_tokens: total.output_tokens,
          cache_read_input_tokens: total.cache_read_input_tokens, cache_creation_input_tokens: total.cache_creation_input_tokens,
        })],
        patch: { fields: { _reserved: reserved } },
      };
    });
    return { type: 'ok' };
  } finally {
    clearInterval(ongoing);
  }
}
