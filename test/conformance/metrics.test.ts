// `GET /metrics`: the Prometheus exposition scraped over HTTP and parsed with a Prometheus
// text-format parser — the hangar_* series move for a tool-using turn, a failed model request, an
// open event stream and a self-hosted work pickup; the endpoint needs an API key or
// HANGAR_METRICS_KEY (bearer or x-api-key), and that key opens nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { createEnvKey } from '../worker/work-kit.ts';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import {
  EventTap, MODEL, TOOL_WAIT_MS, eventually, isTerminalStatus, newSession, rejection, sendEvents, startRig, text, toolTurn, toolUse, toolset, type Rig,
} from './helpers.ts';

const METRICS_KEY = `mk-${randomBytes(16).toString('hex')}`;
let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ HANGAR_METRICS_KEY: METRICS_KEY });
});
afterAll(async () => {
  await rig?.close();
});

async function scrapeRaw(headers: Record<string, string | undefined>): Promise<Response> {
  return fetch(`${rig.h.url}/metrics`, { headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string> });
}

/**
 * The parsed exposition. parse-prometheus-text-format folds a histogram with labels into one
 * unlabeled sample, so each histogram is also read without its TYPE line: its `_count` series then
 * parses as a family of its own, labels kept (`count()` reads it).
 */
async function scrape(): Promise<PromFamily[]> {
  const res = await scrapeRaw({ authorization: `Bearer ${rig.h.apiKey}` });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const body = await res.text();
  const typed = parsePrometheusTextFormat(body);
  const histograms = typed.filter((f) => f.type === 'HISTOGRAM').map((f) => f.name);
  const untyped = parsePrometheusTextFormat(body.replace(/^# (TYPE|HELP) (\S+)_seconds .*$/gm, ''))
    .filter((f) => histograms.some((h) => f.name === `${h}_count`));
  return [...typed, ...untyped];
}

const matches = (labels: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => labels?.[k] === v);

/** Sum of a counter's or gauge's samples whose labels include `want` (0 when none). */
function value(families: PromFamily[], name: string, want: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  if (!family) return 0;
  return family.metrics.filter((m) => matches(m.labels, want)).reduce((n, m) => n + Number(m.value), 0);
}

/** A histogram's observation count (its `_count` series) over samples whose labels include `want`. */
function count(families: PromFamily[], name: string, want: Record<string, string> = {}): number {
  expect(families.find((f) => f.name === name)?.type).toBe('HISTOGRAM');
  return value(families, `${name}_count`, want);
}

describe('GET /metrics', () => {
  it('declares every hangar_ series with its type', async () => {
    const families = await scrape();
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      hangar_sessions: 'GAUGE', hangar_turns_started_total: 'COUNTER', hangar_turns_ended_total: 'COUNTER',
      hangar_model_requests_total: 'COUNTER', hangar_model_request_errors_total: 'COUNTER', hangar_model_request_duration_seconds: 'HISTOGRAM',
      hangar_model_tokens_total: 'COUNTER', hangar_model_list_cost_usd_total: 'COUNTER', hangar_tool_calls_total: 'COUNTER',
      hangar_tool_call_duration_seconds: 'HISTOGRAM', hangar_sandbox_provision_duration_seconds: 'HISTOGRAM',
      hangar_work_queue_depth: 'GAUGE', hangar_work_pickup_latency_seconds: 'HISTOGRAM', hangar_sse_connections: 'GAUGE',
      hangar_event_log_append_duration_seconds: 'HISTOGRAM', hangar_lease_takeovers_total: 'COUNTER', hangar_grader_evaluations_total: 'COUNTER',
      hangar_sessions_terminated_total: 'COUNTER', hangar_process_cpu_seconds_total: 'COUNTER',
    });
    expect(families.every((f) => f.name.startsWith('hangar_'))).toBe(true);
  });

  it('moves the turn, model, token, cost, tool, sandbox and event-log series for a tool-using turn', async () => {
    const before = await scrape();
    const s = await newSession(rig, { tools: [toolset()] });
    await toolTurn(rig, s.id, [[toolUse('bash', { command: 'echo metrics' })]], { timeoutMs: TOOL_WAIT_MS });
    const after = await scrape();
    const delta = (name: string, want: Record<string, string> = {}) => value(after, name, want) - value(before, name, want);
    const deltaCount = (name: string, want: Record<string, string> = {}) => count(after, name, want) - count(before, name, want);
    const model = { provider: 'anthropic', model: MODEL };
    expect(delta('hangar_turns_started_total')).toBe(1);
    expect(delta('hangar_turns_ended_total', { stop_reason: 'end_turn' })).toBe(1);
    expect(delta('hangar_model_requests_total', { ...model, outcome: 'ok' })).toBe(2);
    expect(deltaCount('hangar_model_request_duration_seconds', model)).toBe(2);
    expect(delta('hangar_model_tokens_total', { ...model, type: 'input' })).toBe(20);
    expect(delta('hangar_model_tokens_total', { ...model, type: 'output' })).toBe(10);
    expect(delta('hangar_model_list_cost_usd_total', model)).toBeGreaterThan(0);
    expect(delta('hangar_tool_calls_total', { tool: 'bash', kind: 'builtin', outcome: 'ok' })).toBe(1);
    expect(deltaCount('hangar_tool_call_duration_seconds', { tool: 'bash' })).toBe(1);
    expect(deltaCount('hangar_sandbox_provision_duration_seconds', { outcome: 'ok' })).toBe(1);
    expect(deltaCount('hangar_event_log_append_duration_seconds')).toBeGreaterThanOrEqual(4);
    expect(value(after, 'hangar_sessions', { status: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(value(after, 'hangar_sessions', { status: 'running' })).toBe(0);
  });

  it('counts a failed model request by its error kind', async () => {
    const before = await scrape();
    const s = await newSession(rig);
    rig.up.script({ kind: 'error', status: 400, type: 'invalid_request_error', message: 'bad request' });
    const tap = await EventTap.open(rig.client, s.id);
    await sendEvents(rig.client, s.id, text('fail please'));
    await tap.until(isTerminalStatus);
    tap.close();
    const after = await scrape();
    const want = { provider: 'anthropic', model: MODEL, kind: 'request_failed' };
    expect(value(after, 'hangar_model_request_errors_total', want) - value(before, 'hangar_model_request_errors_total', want)).toBe(1);
    expect(value(after, 'hangar_model_requests_total', { outcome: 'request_failed' }) - value(before, 'hangar_model_requests_total', { outcome: 'request_failed' })).toBe(1);
    // A request the provider refuses as invalid ends the session.
    expect(value(after, 'hangar_sessions_terminated_total') - value(before, 'hangar_sessions_terminated_total')).toBe(1);
  });

  it('counts open event streams', async () => {
    const s = await newSession(rig);
    const base = value(await scrape(), 'hangar_sse_connections');
    const tap = await EventTap.open(rig.client, s.id);
    expect(value(await scrape(), 'hangar_sse_connections')).toBe(base + 1);
    tap.close();
    await eventually(async () => value(await scrape(), 'hangar_sse_connections'), (n) => n === base, 5_000, 'the stream gauge back down');
  });

  it('shows self-hosted work waiting in the queue and the pickup latency once a worker takes it', async () => {
    const env = await rig.client.beta.environments.create({ name: `sh-${randomBytes(4).toString('hex')}`, config: { type: 'self_hosted' } });
    const key = await createEnvKey(rig.client, env.id);
    const agent = await rig.client.beta.agents.create({ name: `sh-${randomBytes(3).toString('hex')}`, model: MODEL });
    const before = await scrape();
    const session = await rig.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    rig.up.script({ content: [{ type: 'text', text: 'hello' }] });
    await sendEvents(rig.client, session.id, text('hi'));
    await eventually(async () => value(await scrape(), 'hangar_work_queue_depth'), (n) => n >= value(before, 'hangar_work_queue_depth') + 1, 5_000, 'queued work');
    const worker = new Anthropic({ baseURL: rig.h.url, apiKey: key.key, maxRetries: 0 });
    expect(await worker.beta.environments.work.poll(env.id)).not.toBeNull();
    const after = await scrape();
    expect(count(after, 'hangar_work_pickup_latency_seconds') - count(before, 'hangar_work_pickup_latency_seconds')).toBe(1);
    expect(value(after, 'hangar_work_queue_depth')).toBe(value(before, 'hangar_work_queue_depth'));
  });
});

describe('GET /metrics authentication', () => {
  it('answers 401 authentication_error without a key or with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer sk-not-a-key-0000000000000000' }, { 'x-api-key': `${METRICS_KEY}x` }]) {
      const res = await scrapeRaw(headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    }
  });

  it('accepts HANGAR_METRICS_KEY as a bearer token or x-api-key', async () => {
    for (const headers of [{ authorization: `Bearer ${METRICS_KEY}` }, { 'x-api-key': METRICS_KEY }]) {
      const res = await scrapeRaw(headers);
      expect(res.status).toBe(200);
      expect(parsePrometheusTextFormat(await res.text()).some((f) => f.name === 'hangar_turns_started_total')).toBe(true);
    }
  });

  it('opens nothing else with the metrics key', async () => {
    const client = new Anthropic({ baseURL: rig.h.url, apiKey: METRICS_KEY, maxRetries: 0 });
    expect(await rejection(client.beta.agents.list())).toBeInstanceOf(Anthropic.AuthenticationError);
  });
});
