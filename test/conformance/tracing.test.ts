// OpenTelemetry traces of a tool-using turn, exported over OTLP/HTTP to a real receiver (test kit)
// in both protocols: the span tree (turn root, model requests, the tool call and its sandbox
// provisioning, the HTTP request linked from the turn), GenAI attributes, the resource and export
// headers, content left out by default and exported (scrubbed of vault secrets) with
// HANGAR_OTEL_CAPTURE_CONTENT=true, and trace ids in the log lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeUpstream } from '../kit/fake-upstream.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../kit/otlp-receiver.ts';
import { MODEL, TOOL_WAIT_MS, newSession, toolTurn, toolUse, toolset, type Rig } from './helpers.ts';

interface TracedRig extends Rig {
  receiver: OtlpReceiver;
  logLines: () => Array<Record<string, any>>;
}

async function startTracedRig(env: Record<string, string>): Promise<TracedRig> {
  const receiver = await startOtlpReceiver();
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const up: FakeUpstream = await startFakeUpstream();
  const h: TestHangar = await startHangar({
    upstreamUrl: up.url,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'hangar-test', ...env },
    overrides: { logger },
  });
  const environment = await h.client.beta.environments.create({ name: `env-${randomBytes(4).toString('hex')}` });
  return {
    h, up, client: h.client, envId: environment.id, receiver,
    logLines: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
    async close() {
      await h.close();
      await up.close();
      await receiver.close();
    },
  };
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const found = byName(spans, name);
  if (found.length !== 1) throw new Error(`expected one ${name} span, saw ${found.length}: ${JSON.stringify(spans.map((s) => s.name))}`);
  return found[0];
};

/** Runs a turn whose model calls bash once, then answers; returns the turn's trace. */
async function tracedToolTurn(rig: TracedRig, command: string, prompt: string, sessionOpts = {}) {
  const s = await newSession(rig, { tools: [toolset()], ...sessionOpts });
  const t = await toolTurn(rig, s.id, [[toolUse('bash', { command })]], { prompt, final: 'All done.', timeoutMs: TOOL_WAIT_MS });
  await rig.h.hangar.tracer.flush();
  const spans = await rig.receiver.waitFor((all) => all.some((x) => x.name === 'invoke_agent' && x.attributes['gen_ai.conversation.id'] === s.id)
    && all.some((x) => x.name === 'POST /v1/sessions/:id/events'), 10_000, 'the turn root span');
  const root = spans.find((x) => x.name === 'invoke_agent' && x.attributes['gen_ai.conversation.id'] === s.id)!;
  return { session: s, turn: t, root, trace: spans.filter((x) => x.traceId === root.traceId), all: spans };
}

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`traces over OTLP ${protocol}`, () => {
    let rig: TracedRig;
    const marker = `tool-marker-${randomBytes(6).toString('hex')}`;
    const promptMarker = `prompt-marker-${randomBytes(6).toString('hex')}`;
    let result: Awaited<ReturnType<typeof tracedToolTurn>>;

    beforeAll(async () => {
      rig = await startTracedRig({
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=tok%2Fen-123,x-tenant=hangar',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=agents',
      });
      result = await tracedToolTurn(rig, `echo ${marker}`, `please run it ${promptMarker}`);
    });
    afterAll(async () => {
      await rig?.close();
    });

    it('exports one trace for the turn: a root span with the model requests and the tool call as children', () => {
      const { root, trace, session } = result;
      expect(root.parentSpanId).toBe('');
      expect(root.kind).toBe(1);
      expect(root.attributes).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent', 'gen_ai.conversation.id': session.id, 'hangar.session.id': session.id,
        'hangar.turn.stop_reason': 'end_turn',
      });
      const chats = byName(trace, `chat ${MODEL}`).sort((a, b) => Number(a.startNs - b.startNs));
      expect(chats).toHaveLength(2);
      const tool = one(trace, 'execute_tool bash');
      for (const child of [...chats, tool]) {
        expect(child.parentSpanId).toBe(root.spanId);
        expect(child.startNs >= root.startNs && child.endNs <= root.endNs).toBe(true);
      }
      // In order: the request that asked for the tool, the tool call, the request that answered.
      expect(chats[0].endNs <= tool.startNs && tool.endNs <= chats[1].startNs).toBe(true);
      expect(trace.every((x) => x.traceId === root.traceId)).toBe(true);
    });

    it('gives model request spans the GenAI attributes: provider, models, token usage and finish reasons', () => {
      const chats = byName(result.trace, `chat ${MODEL}`).sort((a, b) => Number(a.startNs - b.startNs));
      for (const chat of chats) {
        expect(chat.kind).toBe(3); // client
        expect(chat.attributes).toMatchObject({
          'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.system': 'anthropic',
          'gen_ai.request.model': MODEL, 'gen_ai.response.model': MODEL,
          'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5, 'hangar.model.provider': 'anthropic',
          'server.address': '127.0.0.1',
        });
        expect(chat.status.code).toBe(0);
      }
      expect(chats.map((c) => c.attributes['gen_ai.response.finish_reasons'])).toEqual([['tool_use'], ['end_turn']]);
    });

    it('gives the tool call its name, permission and outcome, with sandbox provisioning nested under it', () => {
      const tool = one(result.trace, 'execute_tool bash');
      expect(tool.attributes).toMatchObject({
        'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'bash', 'gen_ai.tool.call.id': result.turn.uses[0].id,
        'hangar.tool.kind': 'builtin', 'hangar.tool.permission': 'allow', 'hangar.tool.outcome': 'ok',
      });
      expect(tool.status.code).toBe(0);
      const provision = one(result.trace, 'sandbox.provision');
      expect(provision.parentSpanId).toBe(tool.spanId);
      expect(provision.attributes).toMatchObject({ 'hangar.session.id': result.session.id, 'hangar.sandbox.network': expect.any(String) });
    });

    it('links the turn to the HTTP request that sent the message (a server span of its own trace)', () => {
      const { root, all } = result;
      const posts = byName(all, 'POST /v1/sessions/:id/events');
      const linked = posts.filter((p) => root.links.some((l) => l.traceId === p.traceId && l.spanId === p.spanId));
      expect(linked).toHaveLength(1);
      const [http] = linked;
      expect(http.traceId).not.toBe(root.traceId);
      expect(http.kind).toBe(2); // server
      expect(http.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/sessions/:id/events', 'http.response.status_code': 200 });
    });

    it(`exports with the ${protocol} content type, the configured headers and the resource attributes`, () => {
      const types = new Set(rig.receiver.exports.map((e) => e.contentType));
      expect([...types]).toEqual([protocol === 'http/json' ? 'application/json' : 'application/x-protobuf']);
      for (const e of rig.receiver.exports) expect(e.headers).toMatchObject({ 'x-collector-token': 'tok/en-123', 'x-tenant': 'hangar' });
      expect(result.root.resource).toMatchObject({
        'service.name': 'hangar-test', 'service.version': expect.any(String), 'deployment.environment.name': 'test', team: 'agents',
        'telemetry.sdk.name': 'opentelemetry', 'service.instance.id': expect.stringMatching(/^[^#]+#[0-9a-f]+$/),
      });
      expect(result.root.scope).toBe('hangar');
    });

    it('exports no content by default: neither the prompt, the command nor its output', () => {
      const exported = JSON.stringify(rig.receiver.spans().map((s) => ({ a: s.attributes, st: s.status })));
      expect(exported).not.toContain(marker);
      expect(exported).not.toContain(promptMarker);
      for (const s of rig.receiver.spans()) {
        expect(Object.keys(s.attributes).filter((k) => k.startsWith('gen_ai.input') || k.startsWith('gen_ai.output') || k.startsWith('gen_ai.tool.call.a') || k.startsWith('gen_ai.tool.call.r'))).toEqual([]);
      }
    });

    it('carries the trace and span ids into the log lines written during the turn', () => {
      const { root, trace } = result;
      const toolLine = rig.logLines().find((l) => l.msg === 'tool call' && l.sessionId === result.session.id);
      expect(toolLine).toMatchObject({ trace_id: root.traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(trace.map((s) => s.spanId)).toContain(toolLine!.span_id);
      const ended = rig.logLines().find((l) => l.msg === 'turn ended' && l.sessionId === result.session.id);
      expect(ended?.trace_id).toBe(root.traceId);
      const request = rig.logLines().find((l) => l.msg === 'request' && l.route === '/v1/sessions/:id/events' && l.method === 'POST');
      expect(request?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(request?.trace_id).not.toBe(root.traceId);
    });
  });
}

describe('content capture (HANGAR_OTEL_CAPTURE_CONTENT=true)', () => {
  let rig: TracedRig;
  beforeAll(async () => {
    rig = await startTracedRig({ HANGAR_OTEL_CAPTURE_CONTENT: 'true' });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('exports the prompt, the model output, the tool input and output', async () => {
    const marker = `tool-marker-${randomBytes(6).toString('hex')}`;
    const promptMarker = `prompt-marker-${randomBytes(6).toString('hex')}`;
    const { trace } = await tracedToolTurn(rig, `echo ${marker}`, `please run it ${promptMarker}`);
    const tool = one(trace, 'execute_tool bash');
    expect(String(tool.attributes['gen_ai.tool.call.arguments'])).toContain(`echo ${marker}`);
    expect(String(tool.attributes['gen_ai.tool.call.result'])).toContain(marker);
    const chats = byName(trace, `chat ${MODEL}`).sort((a, b) => Number(a.startNs - b.startNs));
    expect(String(chats[0].attributes['gen_ai.input.messages'])).toContain(promptMarker);
    expect(String(chats[0].attributes['gen_ai.output.messages'])).toContain('bash');
    expect(String(chats[1].attributes['gen_ai.output.messages'])).toContain('All done.');
  });

  it("scrubs the session's vault secrets out of captured content", async () => {
    const secret = `vault-secret-${randomBytes(12).toString('hex')}`;
    const vault = await rig.client.beta.vaults.create({ display_name: 'trace vault' });
    await rig.client.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token: secret } });
    // The command holds the secret in two halves, so only its output carries it whole.
    const half = secret.length / 2;
    const { trace } = await tracedToolTurn(rig, `echo ${secret.slice(0, half)}""${secret.slice(half)}`, 'go', { vault_ids: [vault.id] });
    const tool = one(trace, 'execute_tool bash');
    expect(String(tool.attributes['gen_ai.tool.call.result'])).toContain('[redacted:vault_credential]');
    expect(JSON.stringify(rig.receiver.spans().map((s) => s.attributes))).not.toContain(secret);
  });
});
