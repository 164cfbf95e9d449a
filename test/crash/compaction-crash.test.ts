// Compaction across kill -9 (issue 14): a real server process is killed while its summarizing
// request is in flight, and again right after a compaction finished (while the next agent request is
// in flight). A fresh process on the same data dir loses nothing: the cut-short compaction is redone
// once, the finished one is never redone, every turn completes and the log stays whole.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeReply, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startChildServer, type ChildServer } from '../kit/child-server.ts';

const WINDOW = 4_000;
const CHILD_ENV = { HANGAR_LEASE_TTL_MS: '1000', HANGAR_CONTEXT_WINDOW_TOKENS: String(WINDOW) };
type Ev = { id: string; type: string; [k: string]: any };

const isSummarizing = (r: RecordedRequest) => JSON.stringify(r.body?.system ?? '').includes('You compact the conversation');
const startsFromSummary = (r: RecordedRequest) => !isSummarizing(r) && JSON.stringify(r.body?.messages?.[0] ?? '').includes('<conversation_summary>');

let up: FakeUpstream;
let dataDir: string;
let apiKey: string;
const children: ChildServer[] = [];
/** Which kind of request hangs next (its process is then killed). */
let hangNext: ((r: RecordedRequest) => boolean) | undefined;

beforeAll(async () => {
  up = await startFakeUpstream();
  up.setResponder((req): FakeReply => {
    const hang = hangNext?.(req) === true;
    if (hang) hangNext = undefined;
    if (isSummarizing(req)) return { content: [{ type: 'text', text: `Summary of the numbered messages so far. ${'s'.repeat(200)}` }], hang };
    return { content: [{ type: 'text', text: `answer ${'a'.repeat(1200)}` }], hang };
  });
  dataDir = mkdtempSync(join(tmpdir(), 'hangar-compaction-crash-'));
  apiKey = `sk-crash-${randomBytes(16).toString('hex')}`;
});
afterAll(async () => {
  await up.close();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
});

async function startChild(): Promise<ChildServer> {
  const child = await startChildServer({ dataDir, apiKey, upstreamUrl: up.url, env: CHILD_ENV });
  children.push(child);
  return child;
}

async function listEvents(client: Anthropic, sessionId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of client.beta.sessions.events.list(sessionId, { limit: 100 })) out.push(e as unknown as Ev);
  return out;
}

function isSettled(log: Ev[]): boolean {
  const lastInput = log.findLastIndex((e) => e.type === 'user.message');
  const lastIdle = log.findLastIndex((e) => e.type === 'session.status_idle');
  const lastRunning = log.findLastIndex((e) => e.type === 'session.status_running');
  return lastIdle > lastInput && lastIdle > lastRunning && log[lastIdle].stop_reason?.type === 'end_turn' && !log.some((e) => e.processed_at === null);
}

/** Polls until the turn ends (every input processed, an end_turn idle last) or `stop()` holds. */
async function settled(client: Anthropic, sessionId: string, stop: () => boolean = () => false): Promise<Ev[]> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (stop()) return [];
    const log = await listEvents(client, sessionId);
    if (isSettled(log)) return log;
    if (Date.now() > deadline) throw new Error(`session did not settle; last events ${log.slice(-5).map((e) => e.type).join(', ')}`);
    await sleep(50);
  }
}

async function waitFor(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const say = (i: number) => ({ events: [{ type: 'user.message' as const, content: [{ type: 'text' as const, text: `message ${i} ${'u'.repeat(800)}` }] }] });

describe('compaction across kill -9 (real server processes)', () => {
  it('redoes a compaction cut short by a kill once, never redoes a finished one, and every turn completes', async () => {
    let child = await startChild();
    const agent = await child.client.beta.agents.create({ name: `compact-${randomBytes(3).toString('hex')}`, model: 'claude-sonnet-4-6' });
    const env = await child.client.beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
    const sessionId = (await child.client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    let turn = 0;

    // Phase 1: the first summarizing request hangs; the process is killed while it is in flight.
    hangNext = isSummarizing;
    while (!up.requests.some(isSummarizing)) {
      await child.client.beta.sessions.events.send(sessionId, say(turn++));
      await settled(child.client, sessionId, () => up.requests.some(isSummarizing));
    }
    await child.kill('SIGKILL');
    const cutShort = up.requests.filter(isSummarizing).length;
    expect(cutShort).toBe(1);

    child = await startChild();
    let log = await settled(child.client, sessionId);
    // Redone once by the new process: two summarizing requests in all, one compaction recorded.
    expect(up.requests.filter(isSummarizing)).toHaveLength(2);
    expect(log.filter((e) => e.type === 'agent.thread_context_compacted')).toHaveLength(1);

    // Phase 2: the next compaction finishes, then the agent request built on it hangs and the process is killed.
    const summariesBefore = up.requests.filter(isSummarizing).length;
    const fromSummaryBefore = up.requests.filter(startsFromSummary).length;
    hangNext = (r) => up.requests.filter(isSummarizing).length > summariesBefore && startsFromSummary(r);
    while (hangNext) {
      await child.client.beta.sessions.events.send(sessionId, say(turn++));
      await settled(child.client, sessionId, () => !hangNext);
    }
    await waitFor(() => up.requests.filter(startsFromSummary).length > fromSummaryBefore, 'the hanging agent request');
    // Its compaction is committed (the agent request is built from it) when the process dies.
    const summariesAtKill = up.requests.filter(isSummarizing).length;
    await child.kill('SIGKILL');

    child = await startChild();
    log = await settled(child.client, sessionId);
    // The finished compaction is not redone: no summarizing request after the restart.
    expect(up.requests.filter(isSummarizing)).toHaveLength(summariesAtKill);
    expect(log.filter((e) => e.type === 'agent.thread_context_compacted')).toHaveLength(summariesAtKill - 1);

    // Nothing lost, nothing doubled: one user and one agent message per turn, every span closed once.
    expect(log.filter((e) => e.type === 'user.message')).toHaveLength(turn);
    expect(log.filter((e) => e.type === 'agent.message')).toHaveLength(turn);
    expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
    const starts = log.filter((e) => e.type === 'span.model_request_start').map((e) => e.id);
    for (const id of starts) expect(log.filter((e) => e.type === 'span.model_request_end' && e.model_request_start_id === id)).toHaveLength(1);
    expect(log.filter((e) => e.type === 'session.status_terminated')).toEqual([]);
    // One more turn still works on the restarted server.
    await child.client.beta.sessions.events.send(sessionId, say(turn++));
    log = await settled(child.client, sessionId);
    expect(log.filter((e) => e.type === 'agent.message')).toHaveLength(turn);
  }, 180_000);
});
