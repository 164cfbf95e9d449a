// Shared helpers for the session conformance suites: a live Hangar wired to a scripted upstream,
// a buffering tap over the SDK's event stream, and small assertions used across files.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { startFakeUpstream, type FakeBlock, type FakeReply, type FakeUpstream, type RecordedRequest } from '../kit/fake-upstream.ts';
import { startFakeOpenAIUpstream } from '../kit/fake-openai-upstream.ts';

export const MODEL = 'claude-sonnet-4-6';
export const DEFAULT_WAIT_MS = 10_000;

/** Wire events are asserted field by field; the SDK's union types would only get in the way. */
export type Ev = Record<string, any> & { type: string };
export type StreamParams = Anthropic.Beta.Sessions.Events.EventStreamParams;

export interface Rig {
  h: TestHangar;
  up: FakeUpstream;
  /** startHangar options that point another Hangar at this rig's upstream (restarts). */
  hangarOptions?: { upstreamUrl?: string; env?: Record<string, string> };
  client: Anthropic;
  envId: string;
  close(): Promise<void>;
}

/**
 * The provider suites run against: `anthropic` (the Anthropic adapter and fake), or `openai` (the
 * OpenAI-compatible adapter and its fake, which reads Anthropic-fake replies and records requests
 * translated back to the Messages shape). Set before a suite is imported (test/conformance/openai/).
 */
let rigProvider: 'anthropic' | 'openai' = 'anthropic';
export function useModelProvider(p: 'anthropic' | 'openai'): void {
  rigProvider = p;
}
export const modelProvider = () => rigProvider;
/**
 * For `it.skipIf`: true when the suite runs on `provider`, which lacks what the test checks. The
 * reason is required so every skipped case says why (it is the provider's limit, not Hangar's).
 */
export const lacks = (provider: 'anthropic' | 'openai', reason: string): boolean => reason.length > 0 && rigProvider === provider;

/** A Hangar whose default `anthropic` provider is an OpenAI-compatible server: every test model id goes there. */
async function startOpenAIRig(env: Record<string, string>): Promise<{ up: FakeUpstream; h: TestHangar; models: string; cleanup: () => void }> {
  const up = await startFakeOpenAIUpstream({ view: 'anthropic' });
  const dir = mkdtempSync(join(tmpdir(), 'hangar-rig-models-'));
  writeFileSync(join(dir, 'models.yaml'), `providers:\n  anthropic:\n    type: openai\n    base_url: ${up.url}\n    api_key_env: ANTHROPIC_API_KEY\n`);
  const h = await startHangar({ env: { HANGAR_MODELS: join(dir, 'models.yaml'), ...env } });
  return { up: up as unknown as FakeUpstream, h, models: join(dir, 'models.yaml'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One fake upstream + one Hangar pointed at it, plus an environment every session can use. */
export async function startRig(env: Record<string, string> = {}): Promise<Rig> {
  if (rigProvider === 'openai') {
    const { up, h, models, cleanup } = await startOpenAIRig(env);
    const environment = await h.client.beta.environments.create({ name: `env-${Math.random().toString(36).slice(2)}` });
    return {
      h, up, client: h.client, envId: environment.id, hangarOptions: { env: { HANGAR_MODELS: models } },
      async close() {
        await h.close();
        await up.close();
        cleanup();
      },
    };
  }
  const up = await startFakeUpstream();
  const h = await startHangar({ upstreamUrl: up.url, env });
  const environment = await h.client.beta.environments.create({ name: `env-${Math.random().toString(36).slice(2)}` });
  return {
    h, up, client: h.client, envId: environment.id,
    async close() {
      await h.close();
      await up.close();
    },
  };
}

export const text = (t: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text: t }] });
export const interrupt = () => ({ type: 'user.interrupt' as const });

export function customTool(name: string, properties: Record<string, unknown> = { q: { type: 'string' } }) {
  return { type: 'custom' as const, name, description: `the ${name} tool`, input_schema: { type: 'object' as const, properties } };
}

export async function newAgent(client: Anthropic, extra: Partial<Anthropic.Beta.Agents.AgentCreateParams> = {}) {
  return client.beta.agents.create({ name: `agent-${Math.random().toString(36).slice(2)}`, model: MODEL, ...extra });
}

/** A fresh agent (unless one is given) and a fresh idle session on the rig's environment. */
export async function newSession(rig: Rig, opts: { agent?: Anthropic.Beta.Sessions.SessionCreateParams['agent']; tools?: any[] } & Partial<Anthropic.Beta.Sessions.SessionCreateParams> = {}) {
  const { tools, agent, ...rest } = opts;
  const ref = agent ?? (await newAgent(rig.client, tools ? { tools } : {})).id;
  return rig.client.beta.sessions.create({ agent: ref, environment_id: rig.envId, ...rest });
}

/** Awaits a request that must fail and returns the SDK's APIError for inspection. */
export async function rejection(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof APIError) return e;
    throw e;
  }
  throw new Error('expected the request to fail');
}

export const isType = (...types: string[]) => (e: Ev) => types.includes(e.type);
export const isIdle = isType('session.status_idle');
export const isTerminalStatus = isType('session.status_idle', 'session.status_terminated');
export const types = (events: Ev[]) => events.map((e) => e.type);
/** The events that are persisted (stream-only previews and keep-alives removed). */
export const persisted = (events: Ev[]) => events.filter((e) => e.type !== 'event_start' && e.type !== 'event_delta');

/**
 * Buffers everything an SDK event stream yields, so a test can wait for successive milestones on
 * one connection: each `until()` resumes after the event the previous one matched.
 */
export class EventTap {
  readonly events: Ev[] = [];
  closed = false;
  error: unknown;
  private cursor = 0;
  private readonly stream: Awaited<ReturnType<Anthropic['beta']['sessions']['events']['stream']>>;
  private listeners = new Set<() => void>();
  readonly done: Promise<void>;

  private constructor(stream: EventTap['stream']) {
    this.stream = stream;
    this.done = this.pump();
  }

  static async open(client: Anthropic, sessionId: string, params: StreamParams = {}): Promise<EventTap> {
    return new EventTap(await client.beta.sessions.events.stream(sessionId, params));
  }

  private async pump(): Promise<void> {
    try {
      for await (const e of this.stream) {
        this.events.push(e as unknown as Ev);
        this.notify();
      }
    } catch (err) {
      if (!(err instanceof Anthropic.APIUserAbortError)) this.error = err;
    } finally {
      this.closed = true;
      this.notify();
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /**
   * Resolves with the events from the current position up to and including the first one matching
   * `pred`, and moves the position past it. Rejects if the stream ends or `timeoutMs` passes first.
   */
  until(pred: (e: Ev) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<Ev[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = this.cursor; i < this.events.length; i++) {
          if (pred(this.events[i])) {
            const slice = this.events.slice(this.cursor, i + 1);
            this.cursor = i + 1;
            resolve(slice);
            return true;
          }
        }
        if (this.closed) {
          reject(new Error(`stream ended before the awaited event; saw ${JSON.stringify(types(this.events.slice(this.cursor)))}${this.error ? ` (error: ${String(this.error)})` : ''}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs}ms; saw ${JSON.stringify(types(this.events.slice(this.cursor)))}`));
      }, timeoutMs);
      const listener = () => {
        if (check()) {
          clearTimeout(timer);
          this.listeners.delete(listener);
        }
      };
      this.listeners.add(listener);
    });
  }

  /** Resolves once the server has closed the stream. */
  async ended(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`stream still open after ${timeoutMs}ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.stream.controller.abort();
  }
}

/** Reads a stream until `pred` matches, then closes it; returns everything up to the match. */
export async function collectUntil(client: Anthropic, sessionId: string, start: () => Promise<unknown>, pred: (e: Ev) => boolean, params: StreamParams = {}, timeoutMs = DEFAULT_WAIT_MS): Promise<Ev[]> {
  const tap = await EventTap.open(client, sessionId, params);
  try {
    await start();
    return await tap.until(pred, timeoutMs);
  } finally {
    tap.close();
  }
}

/** Every persisted event of a session, paging with the SDK's auto-pagination. */
export async function listEvents(client: Anthropic, sessionId: string, params: Anthropic.Beta.Sessions.Events.EventListParams = {}): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of client.beta.sessions.events.list(sessionId, params)) out.push(e as unknown as Ev);
  return out;
}

/** Polls until `check` passes (no timing is asserted; this only bounds how long a test may wait). */
export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs}ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function waitForStatus(client: Anthropic, sessionId: string, status: string, timeoutMs = DEFAULT_WAIT_MS) {
  return eventually(() => client.beta.sessions.retrieve(sessionId), (s) => s.status === status, timeoutMs, `session status ${status}`);
}

/** A gate for upstream responders: the reply is held until the test opens it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

/** The text blocks of a recorded Messages API request, flattened per message. */
export function messageTexts(req: RecordedRequest): Array<{ role: string; texts: string[] }> {
  return (req.body.messages as Array<{ role: string; content: Array<Record<string, any>> | string }>).map((m) => ({
    role: m.role,
    texts: typeof m.content === 'string' ? [m.content] : m.content.filter((b) => b.type === 'text').map((b) => String(b.text)),
  }));
}

export function toolResults(req: RecordedRequest): Array<Record<string, any>> {
  return (req.body.messages as Array<{ content: Array<Record<string, any>> | string }>).flatMap((m) =>
    typeof m.content === 'string' ? [] : m.content.filter((b) => b.type === 'tool_result'));
}

// ---------------------------------------------------------------------------------------------
// Built-in toolset ("hands") helpers: scripted tool calls, tool-result text, the on-disk sandbox
// directory of a session and the host's process table.

export const TOOLSET_TYPE = 'agent_toolset_20260401' as const;
/** The sandbox tools an `agent_toolset_20260401` offers today (web_fetch/web_search are not served yet). */
export const SANDBOX_TOOL_NAMES = ['bash', 'read', 'write', 'edit', 'glob', 'grep'] as const;
/** Waits for turns that run real sandboxed commands (provisioning included). */
export const TOOL_WAIT_MS = 20_000;

export type ToolsetConfig = {
  type: typeof TOOLSET_TYPE;
  default_config?: { enabled?: boolean; permission_policy?: { type: 'always_allow' | 'always_ask' | 'auto' } };
  configs?: Array<{ name: string; enabled?: boolean; permission_policy?: { type: 'always_allow' | 'always_ask' | 'auto' } }>;
};
export const toolset = (extra: Omit<ToolsetConfig, 'type'> = {}): ToolsetConfig => ({ type: TOOLSET_TYPE, ...extra });

export const toolUse = (name: string, input: Record<string, unknown>): FakeBlock => ({ type: 'tool_use', name, input });
export const say = (t: string): FakeReply => ({ content: [{ type: 'text', text: t }] });

/** Sends events through the SDK and returns their echoes. */
export async function sendEvents(client: Anthropic, sessionId: string, ...events: Anthropic.Beta.Sessions.Events.EventSendParams['events']): Promise<Ev[]> {
  const r = await client.beta.sessions.events.send(sessionId, { events });
  return (r.data ?? []) as Ev[];
}

/** The text of a tool result (event or Messages API block), text blocks joined by newlines. */
export function resultText(e: Record<string, any>): string {
  const c = e.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c.filter((b: any) => b?.type === 'text').map((b: any) => String(b.text)).join('\n');
}

/** Where Hangar keeps a session's sandbox on disk. */
export const sandboxDir = (rig: Rig, sessionId: string) => join(rig.h.dataDir, 'sandboxes', sessionId);

/**
 * Command lines of host processes whose command line or working directory contains `needle` (this
 * process excluded): a sandbox's host processes run in its workspace, their argv names no session.
 */
export function hostProcesses(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // exited meanwhile
    }
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // exited meanwhile, or not ours to read
    }
    if (cmd.includes(needle) || cwd.includes(needle)) out.push(`${pid}: ${cmd}`);
  }
  return out;
}

export interface ToolTurn {
  /** Every event of the turn, from the user.message echo through the final idle. */
  turn: Ev[];
  uses: Ev[];
  /** The agent.tool_result events, in order. */
  results: Ev[];
  /** The agent.tool_result answering each use, in the order of `uses` (undefined if none). */
  resultFor(use: Ev): Ev | undefined;
  /** Upstream requests made during this turn. */
  requests: RecordedRequest[];
}

/**
 * Runs one user turn in which the model makes the given rounds of tool calls (one model response
 * per round) and then answers `final`. The turn must end with an `end_turn` idle.
 */
export async function toolTurn(rig: Rig, sessionId: string, rounds: FakeBlock[][], opts: { prompt?: string; final?: string; timeoutMs?: number } = {}): Promise<ToolTurn> {
  rig.up.script(...rounds.map((blocks) => ({ content: blocks })), say(opts.final ?? 'Done.'));
  const before = rig.up.requests.length;
  const tap = await EventTap.open(rig.client, sessionId);
  let turn: Ev[];
  try {
    await sendEvents(rig.client, sessionId, text(opts.prompt ?? 'go'));
    turn = await tap.until(isIdle, opts.timeoutMs ?? TOOL_WAIT_MS);
  } finally {
    tap.close();
  }
  const uses = turn.filter(isType('agent.tool_use'));
  const results = turn.filter(isType('agent.tool_result'));
  return {
    turn, uses, results,
    resultFor: (use) => results.find((r) => r.tool_use_id === use.id),
    requests: rig.up.requests.slice(before),
  };
}

/** One tool call in its own turn; returns the tool_use and its result. */
export async function callTool(rig: Rig, sessionId: string, name: string, input: Record<string, unknown>, timeoutMs = TOOL_WAIT_MS): Promise<{ use: Ev; result: Ev; text: string; turn: ToolTurn }> {
  const t = await toolTurn(rig, sessionId, [[toolUse(name, input)]], { timeoutMs });
  if (t.uses.length !== 1) throw new Error(`expected one agent.tool_use, saw ${JSON.stringify(types(t.turn))}`);
  const result = t.resultFor(t.uses[0]);
  if (!result) throw new Error(`no agent.tool_result for the ${name} call; saw ${JSON.stringify(types(t.turn))}`);
  return { use: t.uses[0], result, text: resultText(result), turn: t };
}

// ---------------------------------------------------------------------------------------------
// Outcomes and budgets: the grader's model requests are told apart from the agent's by their
// forced `submit_verdict` tool; a responder routes each kind to its own script.

export const VERDICT_TOOL = 'submit_verdict';
export const isGraderRequest = (r: RecordedRequest): boolean => r.body?.tool_choice?.name === VERDICT_TOOL;
export const agentRequests = (reqs: RecordedRequest[]) => reqs.filter((r) => !isGraderRequest(r));
export const graderRequests = (reqs: RecordedRequest[]) => reqs.filter(isGraderRequest);

/** A grader reply carrying a verdict through the verdict tool. */
export function verdict(result: string, explanation: string, extra: Partial<Extract<FakeReply, { content: unknown }>> = {}): FakeReply {
  return { content: [{ type: 'tool_use', name: VERDICT_TOOL, input: { result, explanation } }], ...extra };
}

export type DefineOutcomeParams = Anthropic.Beta.Sessions.Events.BetaManagedAgentsUserDefineOutcomeEventParams;
export function defineOutcome(description: string, rubric: DefineOutcomeParams['rubric'] | string = 'The answer must be correct.', extra: Partial<DefineOutcomeParams> = {}): DefineOutcomeParams {
  return {
    type: 'user.define_outcome', description,
    rubric: typeof rubric === 'string' ? { type: 'text', content: rubric } : rubric,
    ...extra,
  };
}

type ScriptStep = FakeReply | ((req: RecordedRequest) => FakeReply | Promise<FakeReply>);

/**
 * Routes agent and grader requests to separate scripts (each consumed in order). A request with
 * nothing left in its script gets a non-retryable 400, so an unexpected model call ends the session
 * loudly instead of hanging the test.
 */
export function routeModelRequests(up: FakeUpstream, script: { agent?: ScriptStep[]; grader?: ScriptStep[] }): void {
  const agent = [...(script.agent ?? [])];
  const grader = [...(script.grader ?? [])];
  up.setResponder(async (req) => {
    const kind = isGraderRequest(req) ? 'grader' : 'agent';
    const step = (kind === 'grader' ? grader : agent).shift();
    if (!step) return { kind: 'error', status: 400, type: 'invalid_request_error', message: `test: unscripted ${kind} request` };
    return typeof step === 'function' ? step(req) : step;
  });
}

/** The whole Messages API request as one string (for "does the grader see X" checks). */
export const requestText = (r: RecordedRequest): string => JSON.stringify(r.body);

/** The text of the last user message of a recorded request. */
export function lastUserText(r: RecordedRequest): string {
  const msgs = messageTexts(r).filter((m) => m.role === 'user');
  return msgs.length ? msgs[msgs.length - 1].texts.join('\n') : '';
}
