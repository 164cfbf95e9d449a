// Context overflow (issue 14): when the provider refuses a request as longer than its context (the
// session's estimate was wrong: here the provider's real window is smaller than the one Hangar is
// configured with), the session compacts and retries instead of terminating — on the Anthropic
// provider (the fake's "prompt is too long" 400) and on an OpenAI-compatible one
// (`context_length_exceeded`). A conversation compaction cannot shorten enough ends the turn with
// `compaction_limit_reached_error` and an idle `retries_exhausted`, never a terminal failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startFakeOpenAIUpstream, type FakeOpenAIUpstream } from '../kit/fake-openai-upstream.ts';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { EventTap, isIdle, newAgent, text, type Ev } from './helpers.ts';

const HANGAR_WINDOW = 6_000;
const TURNS = 12;
const isSummarizing = (r: RecordedRequest) => JSON.stringify(r.body?.system ?? '').includes('You compact the conversation');
const startsFromSummary = (r: RecordedRequest) => JSON.stringify(r.body?.messages?.[0] ?? '').includes('<conversation_summary>');
const summary = { content: [{ type: 'text' as const, text: 'Summary: numbered messages, each answered.' }] };
const answer = { content: [{ type: 'text' as const, text: `answer ${'a'.repeat(1200)}` }] };

async function runTurns(h: TestHangar, turns: number, size = 800): Promise<{ sessionId: string; events: Ev[] }> {
  const agent = await newAgent(h.client, { model: 'claude-sonnet-4-6' });
  const env = await h.client.beta.environments.create({ name: `ovf-${Math.random().toString(36).slice(2)}` });
  const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  const tap = await EventTap.open(h.client, session.id);
  for (let i = 0; i < turns; i++) {
    await h.client.beta.sessions.events.send(session.id, { events: [text(`message ${i} ${'u'.repeat(size)}`)] });
    const turn = await tap.until(isIdle, 30_000);
    expect((turn.at(-1) as Ev).stop_reason.type, `turn ${i}`).toBe('end_turn');
  }
  tap.close?.();
  const events: Ev[] = [];
  for await (const e of h.client.beta.sessions.events.list(session.id, { limit: 1000 })) events.push(e as unknown as Ev);
  return { sessionId: session.id, events };
}

/** After each refused request: a summarizing request, then the agent's request again, from the summary. */
function expectCompactedRetries(requests: RecordedRequest[], refused: (r: RecordedRequest, i: number) => boolean): void {
  const at = requests.map((r, i) => (refused(r, i) ? i : -1)).filter((i) => i >= 0);
  expect(at.length).toBeGreaterThan(0);
  for (const i of at) {
    expect(isSummarizing(requests[i + 1]), `request ${i + 1} summarizes`).toBe(true);
    const retry = requests.slice(i + 2).find((r) => !isSummarizing(r))!;
    expect(startsFromSummary(retry)).toBe(true);
  }
}

function expectRetryingErrors(events: Ev[], pattern: RegExp): void {
  const errors = events.filter((e) => e.type === 'session.error');
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) {
    expect(e.error.retry_status.type).toBe('retrying');
    expect(e.error.message).toMatch(pattern);
  }
  expect(events.filter((e) => e.type === 'session.status_terminated')).toEqual([]);
}

describe('context overflow on the Anthropic provider', () => {
  let up: FakeUpstream;
  let h: TestHangar;
  beforeAll(async () => {
    // The provider's real window is smaller than the one Hangar is told: its estimates let requests through that the provider refuses.
    up = await startFakeUpstream({ contextWindow: 3_500 });
    up.setResponder((req) => (isSummarizing(req) ? summary : answer));
    h = await startHangar({ upstreamUrl: up.url, env: { HANGAR_CONTEXT_WINDOW_TOKENS: String(HANGAR_WINDOW) } });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it('compacts and retries a request refused as "prompt is too long"; every turn completes', async () => {
    const { events } = await runTurns(h, TURNS);
    expect(up.tokenTotals().overflows).toBeGreaterThan(0);
    const fits = (r: RecordedRequest) => up.promptTokens(r.body) + r.body.max_tokens <= 3_500;
    expectCompactedRetries(up.requests, (r) => !isSummarizing(r) && !fits(r));
    expectRetryingErrors(events, /prompt is too long|exceed context limit/);
    expect(events.filter((e) => e.type === 'agent.message')).toHaveLength(TURNS);
  }, 120_000);

  it('ends the turn with compaction_limit_reached_error and idles retries_exhausted when compaction cannot shorten the conversation', async () => {
    const agent = await newAgent(h.client, { model: 'claude-sonnet-4-6' });
    const env = await h.client.beta.environments.create({ name: `limit-${Math.random().toString(36).slice(2)}` });
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    const tap = await EventTap.open(h.client, session.id);
    const before = up.requests.length;
    // One message alone is over the window: there is nothing to cut.
    await h.client.beta.sessions.events.send(session.id, { events: [text('x'.repeat(HANGAR_WINDOW * 5))] });
    const turn = await tap.until(isIdle, 30_000);
    tap.close?.();
    const error = turn.find((e) => e.type === 'session.error')!;
    expect(error.error.type).toBe('compaction_limit_reached_error');
    expect(error.error.retry_status.type).toBe('exhausted');
    expect((turn.at(-1) as Ev).stop_reason.type).toBe('retries_exhausted');
    expect(up.requests.length).toBe(before); // nothing over the window was sent
    expect((await h.client.beta.sessions.retrieve(session.id)).status).toBe('idle');
  });
});

describe('context overflow on an OpenAI-compatible provider', () => {
  let up: FakeOpenAIUpstream;
  let h: TestHangar;
  let dir: string;
  let refusedAt = -1;
  beforeAll(async () => {
    up = await startFakeOpenAIUpstream({ view: 'anthropic' });
    dir = mkdtempSync(join(tmpdir(), 'hangar-ovf-models-'));
    writeFileSync(join(dir, 'models.yaml'), `providers:\n  anthropic:\n    type: openai\n    base_url: ${up.url}\n    api_key_env: ANTHROPIC_API_KEY\n`);
    up.setResponder((req) => {
      if (isSummarizing(req)) return summary;
      // The fourth turn's first request is refused as too long for the model's context.
      if (refusedAt < 0 && JSON.stringify(req.body.messages.at(-1)).includes('message 3 ')) {
        refusedAt = up.requests.length - 1;
        return { kind: 'error', status: 400, type: 'invalid_request_error', code: 'context_length_exceeded', message: "This model's maximum context length is 3000 tokens." };
      }
      return answer;
    });
    h = await startHangar({ env: { HANGAR_MODELS: join(dir, 'models.yaml'), HANGAR_CONTEXT_WINDOW_TOKENS: String(HANGAR_WINDOW) } });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('compacts and retries a request refused with context_length_exceeded; every turn completes', async () => {
    const { events } = await runTurns(h, 6);
    expect(refusedAt).toBeGreaterThan(0);
    expectCompactedRetries(up.requests, (_r, i) => i === refusedAt);
    expectRetryingErrors(events, /maximum context length/);
    expect(events.filter((e) => e.type === 'agent.message')).toHaveLength(6);
  }, 120_000);
});
