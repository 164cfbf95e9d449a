// Session use-cases behind the HTTP routes: create, send events, update, archive, delete. Each
// validates against the current log inside one store transaction, so a rejected request changes
// nothing, then wakes or interrupts the harness.
import { newId, hasPrefix } from '../protocol/ids.ts';
import { ApiError, conflict, invalidRequest, notFound } from '../protocol/errors.ts';
import type { CreateSessionParams, UpdateSessionParams } from '../protocol/session-schemas.ts';
import type { SendableEvent } from '../protocol/event-schemas.ts';
import { validateMetadata, applyMetadataPatch } from '../protocol/common-schemas.ts';
import {
  applySessionOverrides, multiagentRefs, resolveMcpServers, resolveTools, sessionAgentSnapshot,
  type AgentObject, type SessionAgent,
} from '../domain/agents.ts';
import { assertNotArchived } from '../domain/environments.ts';
import { EventFactory, type WireEvent } from '../domain/session-events.ts';
import type { SessionRow, Store, StoredEvent } from '../ports/store.ts';
import type { EventBus } from '../ports/event-bus.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import type { LogStateOptions } from './log-state.ts';
import { LogView } from './log-view.ts';
import { routeToThreads } from './threads/thread-routing.ts';
import { SANDBOX_TOOL_NAMES } from '../domain/builtin-tools.ts';
import { PriceTable, centsToMicros } from '../domain/pricing.ts';
import { spendWaitOf } from '../domain/spend.ts';
import { DEFAULT_WORKSPACE_ID } from '../domain/workspace.ts';
import { budgetBlocks, listCost, spentMicros, type BudgetFields } from '../domain/budget.ts';
import type { SessionLog } from './session-log.ts';

/** The part of the harness the service drives. */
export interface HarnessControl {
  wake(sessionId: string): void;
  interrupt(sessionId: string, threadIds?: string[]): void;
}

/** Stored resource objects, and hidden session fields (`_`-prefixed, never shown) that go with them. */
export interface ResolvedResources {
  resources: object[];
  fields?: Record<string, unknown>;
}

/** Resolves `resources` of a session create into stored resource objects (validating files). */
export type ResolveResources = (params: NonNullable<CreateSessionParams["resources"]>) => Promise<ResolvedResources>;

const NOT_YET = 'is not supported by this server yet';

export function emptyUsage() {
  return {
    input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    active_seconds: 0, list_cost: null, server_tool_use: null,
  };
}

/** The session as clients see it: live `stats` computed from the row. */
export function presentSession(row: SessionRow, nowMs: number): Record<string, unknown> {
  const s = Object.fromEntries(Object.entries(row.session).filter(([k]) => !k.startsWith('_'))) as SessionRow['session'];
  const usage = { ...(s.usage as Record<string, unknown>) };
  let active = Number(usage.active_seconds ?? 0);
  if (row.runningSince !== null) active += (nowMs - row.runningSince) / 1000;
  active = Math.round(active * 1000) / 1000;
  usage.active_seconds = active;
  const duration = Math.max(0, Math.round((nowMs - Date.parse(String(s.created_at)))) / 1000);
  return { ...s, usage, stats: { active_seconds: active, duration_seconds: duration } };
}

/** Events accepted during a budget pause: they settle pending work without starting more. */
const SETTLE_EVENTS = new Set(['user.tool_confirmation', 'user.tool_result', 'user.custom_tool_result', 'user.interrupt']);

type DefineOutcome = Extract<SendableEvent, { type: 'user.define_outcome' }>;

/** The echo of `user.define_outcome`: processed on receipt, with the server's `outcome_id`. */
export function defineOutcomeEcho(e: DefineOutcome, now: string): WireEvent {
  return {
    id: newId('sevt'), type: e.type, description: e.description, rubric: e.rubric,
    max_iterations: e.max_iterations ?? 3, outcome_id: newId('outc'), processed_at: now,
  };
}

function pendingEvaluation(e: WireEvent): Record<string, unknown> {
  return { type: 'outcome_evaluation', outcome_id: e.outcome_id, description: e.description, iteration: 0, result: 'pending', explanation: null, completed_at: null };
}

export class SessionService {
  private readonly store: Store;
  private readonly log: SessionLog;
  private readonly bus: EventBus;
  private readonly clock: Clock;
  private readonly harness: HarnessControl;

  private readonly resolveResources: ResolveResources;
  private readonly onDeleted: (sessionId: string) => Promise<void>;
  private readonly onArchived: (sessionId: string) => Promise<void>;
  private readonly onInput: (session: { id: string; environment_id: string }) => Promise<void>;
  private readonly prices: PriceTable;
  private readonly fileExists: (fileId: string) => Promise<boolean>;
  private readonly assertVaults: (vaultIds: string[]) => Promise<void>;
  private readonly assertModel: (modelId: string) => void;
  private readonly midConversationSystem: (modelId: string) => boolean;
  private readonly assertEnvironment: (env: Record<string, unknown>) => Promise<void>;
  private readonly onCreated: (session: { id: string; environment_id: string }) => void;

  constructor(deps: {
    store: Store; log: SessionLog; bus: EventBus; clock: Clock; harness: HarnessControl;
    resolveResources?: ResolveResources;
    /** Cleanup after a session is deleted (its sandbox, workspace and produced files). */
    onDeleted?: (sessionId: string) => Promise<void>;
    /** Cleanup after a session is archived (it will never run a tool again). */
    onArchived?: (sessionId: string) => Promise<void>;
    /** Input arrived for a session (e.g. to queue work for a self-hosted environment's worker). */
    onInput?: (session: { id: string; environment_id: string }) => Promise<void>;
    /** List prices, to refuse budgets on models without a price. */
    prices?: PriceTable;
    /** Whether a file exists (rubric files of outcomes). */
    fileExists?: (fileId: string) => Promise<boolean>;
    /** Rejects unknown (404) or archived (400) vaults named by `vault_ids`. */
    assertVaults?: (vaultIds: string[]) => Promise<void>;
    /** Rejects (400) a model id no provider serves: checked for `agent_with_overrides` models. */
    assertModel?: (modelId: string) => void;
    /** Whether a model takes mid-conversation system messages (`system.message` is refused otherwise). */
    midConversationSystem?: (modelId: string) => boolean;
    /** Rejects (400) an environment sessions cannot start in (e.g. its packages failed to build). */
    assertEnvironment?: (env: Record<string, unknown>) => Promise<void>;
    /** A session was created (stored): e.g. warm a sandbox for its first tool call. Not awaited. */
    onCreated?: (session: { id: string; environment_id: string }) => void;
  }) {
    this.onCreated = deps.onCreated ?? (() => {});
    this.assertEnvironment = deps.assertEnvironment ?? (async () => {});
    this.assertModel = deps.assertModel ?? (() => {});
    this.midConversationSystem = deps.midConversationSystem ?? (() => false);
    this.assertVaults = deps.assertVaults ?? (async (ids) => {
      if (ids.length) throw invalidRequest(`vault_ids ${NOT_YET}`);
    });
    this.prices = deps.prices ?? new PriceTable();
    this.fileExists = deps.fileExists ?? (async () => false);
    this.onInput = deps.onInput ?? (async () => {});
    this.resolveResources = deps.resolveResources ?? (async (r) => {
      if (r.length) throw invalidRequest(`resources ${NOT_YET}`);
      return { resources: [] };
    });
    this.onDeleted = deps.onDeleted ?? (async () => {});
    this.onArchived = deps.onArchived ?? (async () => {});
    this.store = deps.store;
    this.log = deps.log;
    this.bus = deps.bus;
    this.clock = deps.clock;
    this.harness = deps.harness;
  }

  async get(id: string): Promise<SessionRow> {
    const row = hasPrefix(id, 'sesn') ? await this.store.sessions.get(id) : undefined;
    if (!row) throw notFound(`session ${id} not found`);
    return row;
  }

  private async checkRubric(rubric: DefineOutcome['rubric']): Promise<void> {
    if (rubric.type === 'file' && !(hasPrefix(rubric.file_id, 'file') && (await this.fileExists(rubric.file_id)))) {
      throw invalidRequest(`rubric.file_id: file ${rubric.file_id} not found`);
    }
  }

  present(row: SessionRow): Record<string, unknown> {
    return presentSession(row, this.clock.now());
  }

  private async resolveAgent(ref: CreateSessionParams['agent']): Promise<SessionAgent> {
    const id = typeof ref === 'string' ? ref : ref.id;
    const version = typeof ref === 'string' ? undefined : ref.version;
    const agent = hasPrefix(id, 'agent') ? ((await this.store.agents.get(id, version)) as unknown as AgentObject | undefined) : undefined;
    if (!agent) throw notFound(version ? `agent ${id} version ${version} not found` : `agent ${id} not found`);
    if (agent.archived_at) throw invalidRequest(`agent ${id} is archived and cannot start new sessions`);
    const roster = new Map<string, AgentObject>();
    for (const r of multiagentRefs(agent.multiagent)) {
      const found = (await this.store.agents.get(r.id, r.version)) as unknown as AgentObject | undefined;
      if (found) roster.set(`${r.id}@${r.version}`, found);
    }
    let snapshot = sessionAgentSnapshot(agent, (rid, rv) => roster.get(`${rid}@${rv}`));
    if (typeof ref !== 'string' && ref.type === 'agent_with_overrides') {
      const { type: _t, id: _i, version: _v, ...overrides } = ref;
      snapshot = applySessionOverrides(snapshot, overrides);
      if (overrides.model != null) this.assertModel(snapshot.model.id);
    }
    return snapshot;
  }

  /** `workspaceId`: the workspace the session belongs to (its references were checked against it by the caller). */
  async create(params: CreateSessionParams, workspaceId?: string): Promise<SessionRow> {
    const agent = await this.resolveAgent(params.agent);
    const env = hasPrefix(params.environment_id, 'env') ? await this.store.environments.get(params.environment_id) : undefined;
    if (!env) throw new ApiError(404, 'not_found_error', `environment ${params.environment_id} not found`, { errorCode: 'environment_not_found' });
    assertNotArchived(env as { id: string; archived_at?: unknown });
    await this.assertEnvironment(env as Record<string, unknown>);
    const selfHosted = (env.config as { type?: string } | undefined)?.type === 'self_hosted';
    if (selfHosted && params.resources?.length) {
      throw invalidRequest('resources: sessions in self-hosted environments accept only memory_store resources');
    }
    const vaultIds = [...new Set(params.vault_ids ?? [])];
    await this.assertVaults(vaultIds);
    if (params.budget && !this.prices.priceOf(agent.model.id)) {
      throw invalidRequest(`model_not_budgetable: model ${agent.model.id} has no list price, so a budget cannot be enforced (add one to HANGAR_PRICING or its entry in HANGAR_MODELS)`);
    }
    const initial = params.initial_events ?? [];
    const outcomes = initial.filter((e) => e.type === 'user.define_outcome');
    if (outcomes.length > 1) throw invalidRequest('initial_events: at most one user.define_outcome');
    for (const o of outcomes) await this.checkRubric(o.rubric);
    const metadata = validateMetadata(params.metadata ?? {});
    const { resources, fields: hidden } = await this.resolveResources(params.resources ?? []);
    for (const key of Object.keys(hidden ?? {})) if (!key.startsWith('_')) throw new Error(`hidden session field ${key} must start with _`);

    const nowMs = this.clock.now();
    const now = isoAt(nowMs);
    const id = newId('sesn');
    const running = initial.length > 0;
    const session = {
      type: 'session', id, status: running ? 'running' : 'idle', title: params.title ?? null, agent,
      environment_id: params.environment_id, resources, vault_ids: vaultIds, metadata, budget: params.budget ?? null,
      usage: { ...emptyUsage(), list_cost: this.prices.priceOf(agent.model.id) ? listCost(0) : null }, outcome_evaluations: [], created_at: now, updated_at: now, archived_at: null,
      ...hidden,
      _workspace_id: workspaceId ?? DEFAULT_WORKSPACE_ID,
    } as SessionRow['session'];
    const f = new EventFactory(() => newId('sevt'), now);
    const events: WireEvent[] = initial.map((e) => (e.type === 'user.define_outcome' ? defineOutcomeEcho(e, now) : { id: newId('sevt'), ...e, processed_at: now }));
    session.outcome_evaluations = events.filter((e) => e.type === 'user.define_outcome').map((e) => pendingEvaluation(e));
    if (running) events.push(f.statusRunning());
    const row: SessionRow = { session, runningSince: running ? nowMs : null, retryCount: 0, workspaceId };
    await this.store.sessions.insert(row, events);
    if (!selfHosted) this.onCreated({ id, environment_id: params.environment_id });
    if (running) {
      this.harness.wake(id);
      await this.onInput({ id, environment_id: params.environment_id });
    }
    return row;
  }

  /** Validates and appends client events; returns their echoes. */
  async send(sessionId: string, events: SendableEvent[]): Promise<WireEvent[]> {
    const current = await this.get(sessionId);
    const env = await this.store.environments.get(String(current.session.environment_id));
    const selfHosted = (env?.config as { type?: string } | undefined)?.type === 'self_hosted';
    if (events.filter((e) => e.type === 'user.define_outcome').length > 1) throw invalidRequest('only one user.define_outcome can be active at a time');
    checkSystemMessagePlacement(events);
    const modelId = String((current.session.agent as { model?: { id?: string } }).model?.id ?? '');
    if (events.some((e) => e.type === 'system.message') && !this.midConversationSystem(modelId)) {
      throw invalidRequest(`model_does_not_support_mid_conversation_system: model ${modelId} does not accept mid-conversation system messages, so system.message cannot be sent to this session (set capabilities.mid_conversation_system for the model in HANGAR_MODELS if it does)`);
    }
    for (const e of events) {
      if (e.type === 'user.define_outcome') await this.checkRubric(e.rubric);
      if (e.type === 'user.tool_result' && !selfHosted) throw invalidRequest('user.tool_result is accepted only on sessions in self-hosted environments');
      if (e.type === 'user.tool_confirmation' && e.result === 'allow' && e.deny_message != null) {
        throw invalidRequest('deny_message is only allowed when result is "deny"');
      }
    }
    const nowMs = this.clock.now();
    const now = isoAt(nowMs);
    let ignored: WireEvent[] = [];
    let interruptThreads: string[] | undefined;
    const opts: LogStateOptions = selfHosted ? { remoteTools: SANDBOX_TOOL_NAMES } : {};
    const result = await this.log.commit(sessionId, (row, readLog, logView) => {
      if (row.session.archived_at) throw invalidRequest(`session ${sessionId} is archived`);
      if (row.session.status === 'terminated') throw invalidRequest(`session ${sessionId} is terminated`);
      // The session's log view: what the checks need without re-reading (or re-deriving) the log.
      const view = logView ? logView(opts) : new LogView(readLog(), undefined, opts);
      const log = view.events;
      const state = view.state();
      const budgetPause = row.session.status === 'idle' && state.lastIdleReason === 'budget_reached';
      const spendWait = budgetPause ? spendWaitOf(row.session) : undefined;
      const paused = budgetPause && (budgetBlocks(row.session as unknown as BudgetFields) || spendWait !== undefined);
      if (paused) {
        const unsettling = events.find((e) => !SETTLE_EVENTS.has(e.type));
        if (unsettling && spendWait) {
          throw invalidRequest(`${unsettling.type} is not accepted while the session is paused by the spend limit ${spendWait.limit_id} (${spendWait.scope}); raise or remove the limit (POST /v1/organizations/spend_limits), or settle pending tool calls`);
        }
        if (unsettling) throw invalidRequest(`${unsettling.type} is not accepted while the session is paused by its budget; raise the budget (POST /v1/sessions/${sessionId}) or settle pending tool calls`);
      }
      // An interrupt during a budget pause has nothing to stop and is not persisted.
      const persisted = paused ? events.filter((e) => e.type !== 'user.interrupt') : events;
      if (persisted.some((e) => e.type === 'user.define_outcome') && state.outcome) {
        throw invalidRequest('another outcome is still active; wait for its evaluation to finish or interrupt it');
      }
      const system = persisted.findIndex((e) => e.type === 'system.message');
      if (system > 0 && persisted[system - 1].type === 'user.message' && state.lastIdleReason === 'requires_action' && state.openToolUses.length) {
        throw invalidRequest('system.message: while the session awaits tool results (requires_action) it may only follow a user.tool_result or user.custom_tool_result');
      }
      const routed = routeToThreads(validateAgainstLog(persisted, view, now), row, log);
      const echoes = routed.echoes;
      interruptThreads = routed.interruptThreads;
      const defined = echoes.filter((e) => e.type === 'user.define_outcome').map((e) => pendingEvaluation(e));
      const fields = defined.length ? { outcome_evaluations: [...((row.session.outcome_evaluations as unknown[]) ?? []), ...defined] } : undefined;
      ignored = paused ? events.filter((e) => e.type === 'user.interrupt').map((e) => ({ id: newId('sevt'), ...e, processed_at: null })) : [];
      return { now, events: echoes, patch: { pendingWake: true, fields } };
    });
    if (!result) throw notFound(`session ${sessionId} not found`);
    if (result.stored.some((e) => e.event.type === 'user.interrupt')) this.harness.interrupt(sessionId, interruptThreads);
    else this.harness.wake(sessionId);
    await this.onInput({ id: sessionId, environment_id: String(current.session.environment_id) });
    // Interrupts fanned out to child threads are theirs: the reply shows what the client sent.
    const shown = result.stored.filter((s) => !(s.event.type === 'user.interrupt' && s.event.session_thread_id && !events.some((e) => e.type === 'user.interrupt' && e.session_thread_id)));
    return [...shown.map((s) => s.event), ...ignored];
  }

  async update(sessionId: string, params: UpdateSessionParams): Promise<SessionRow> {
    await this.get(sessionId);
    if (params.vault_ids !== undefined) throw invalidRequest('vault_ids can only be set when a session is created');

    const nowMs = this.clock.now();
    const now = isoAt(nowMs);
    const result = await this.log.commit(sessionId, (row) => {
      if (row.session.archived_at) throw invalidRequest(`session ${sessionId} is archived and read-only`);
      const changed: Record<string, unknown> = {};
      if (params.title !== undefined && params.title !== row.session.title) changed.title = params.title;
      if (params.metadata) {
        const next = applyMetadataPatch(row.session.metadata as Record<string, string>, params.metadata, { emptyStringDeletes: false });
        if (JSON.stringify(next) !== JSON.stringify(row.session.metadata)) changed.metadata = next;
      }
      if (params.agent && (params.agent.tools !== undefined || params.agent.mcp_servers !== undefined)) {
        if (row.session.status !== 'idle') throw conflict(`session ${sessionId} must be idle to change its agent tools`);
        const agent = row.session.agent as unknown as SessionAgent;
        const mcp = params.agent.mcp_servers !== undefined ? resolveMcpServers(params.agent.mcp_servers) : agent.mcp_servers;
        const tools = params.agent.tools !== undefined ? resolveTools(params.agent.tools, mcp) : resolveTools(agent.tools as never, mcp);
        const next = { ...agent, tools, mcp_servers: mcp };
        if (JSON.stringify(next) !== JSON.stringify(agent)) changed.agent = next;
      }
      if (params.budget !== undefined) {
        const current = row.session as unknown as BudgetFields;
        if (params.budget === null) {
          if (current.budget) changed.budget = null;
        } else if (!current.budget) {
          throw invalidRequest('budget_create_only: a session created without a budget (or whose budget was removed) cannot get one');
        } else if (JSON.stringify(params.budget) !== JSON.stringify(current.budget)) {
          if (centsToMicros(params.budget.max_list_cost.amount) <= spentMicros(current)) {
            throw invalidRequest(`budget_not_raised: the new budget must exceed the list cost already consumed (${listCost(spentMicros(current))!.amount} cents)`);
          }
          changed.budget = params.budget;
        }
      }
      if (!Object.keys(changed).length) return { now };
      const f = new EventFactory(() => newId('sevt'), now);
      // Per the SDK, `session.updated` omits metadata that was cleared to empty.
      const announced = { ...changed };
      if (announced.metadata && Object.keys(announced.metadata as object).length === 0) delete announced.metadata;
      // A budget change may end a budget pause: let the harness look again.
      return { now, events: [f.sessionUpdated(announced)], patch: { fields: { ...changed, updated_at: now }, pendingWake: 'budget' in changed ? true : undefined } };
    });
    if (params.budget !== undefined) this.harness.wake(sessionId);
    return result!.row;
  }

  async archive(sessionId: string): Promise<SessionRow> {
    await this.get(sessionId);
    const nowMs = this.clock.now();
    const now = isoAt(nowMs);
    const result = await this.log.commit(sessionId, (row) => {
      if (row.session.archived_at) return { now };
      if (row.session.status === 'running' || row.session.status === 'rescheduling') {
        throw conflict(`session ${sessionId} is ${row.session.status}; interrupt it or wait until it is idle before archiving`);
      }
      const f = new EventFactory(() => newId('sevt'), now);
      const events = row.session.status === 'terminated' ? [] : [f.statusTerminated()];
      return { now, events, patch: { status: 'terminated' as const, pendingWake: false, fields: { archived_at: now, updated_at: now } } };
    });
    await this.onArchived(sessionId);
    return result!.row;
  }

  async delete(sessionId: string): Promise<void> {
    const row = await this.get(sessionId);
    if (row.session.status === 'running' || row.session.status === 'rescheduling') {
      throw conflict(`session ${sessionId} is ${row.session.status}; interrupt it or wait until it is idle before deleting`);
    }
    await this.store.sessions.delete(sessionId);
    await this.onDeleted(sessionId);
    this.bus.publish(sessionId, { kind: 'event', payload: { id: newId('sevt'), type: 'session.deleted', processed_at: isoAt(this.clock.now()) } });
  }
}

/** What may carry a `system.message` (API-SPEC §4.5): it accompanies the turn it directly follows. */
const SYSTEM_MESSAGE_HOSTS = new Set(['user.message', 'user.tool_result', 'user.custom_tool_result']);

/** At most one `system.message` per request, last, directly after a user.message or tool result. Throws a 400. */
export function checkSystemMessagePlacement(events: Array<{ type: string }>): void {
  const at = events.flatMap((e, i) => (e.type === 'system.message' ? [i] : []));
  if (!at.length) return;
  if (at.length > 1) throw invalidRequest('system.message: at most one per request');
  const i = at[0];
  if (i !== events.length - 1) throw invalidRequest('system.message must be the last event of the request');
  if (i === 0 || !SYSTEM_MESSAGE_HOSTS.has(events[i - 1].type)) {
    throw invalidRequest('system.message must directly follow the user.message, user.tool_result or user.custom_tool_result it accompanies, in the same request');
  }
}

/**
 * Checks each sent event against the log (tool-use ids exist, are open, are not answered twice,
 * confirmations only for `ask` calls) and builds the echoes. Throws a 400 on the first problem.
 * `log`: the session's log, or its `LogView` (whose options then apply instead of `opts`).
 */
export function validateAgainstLog(events: SendableEvent[], log: StoredEvent[] | LogView, now: string, opts: LogStateOptions = {}): WireEvent[] {
  const view = Array.isArray(log) ? new LogView(log, undefined, opts) : log;
  const state = view.state();
  const open = new Map(state.openToolUses.map((u) => [u.id, u]));
  const answered = new Set<string>();
  const confirmed = { has: (id: string) => view.confirmed(id) };
  const echoes: WireEvent[] = [];
  for (const e of events) {
    const id = newId('sevt');
    switch (e.type) {
      case 'user.message':
      case 'user.interrupt':
      case 'system.message':
        echoes.push({ id, ...e, processed_at: null });
        break;
      case 'user.custom_tool_result': {
        const target = e.custom_tool_use_id;
        const use = open.get(target);
        const known = view.find(target)?.event.type === 'agent.custom_tool_use';
        if (!known) throw invalidRequest(`custom_tool_use_id ${target} does not name an agent.custom_tool_use event of this session`);
        if (!use || answered.has(target)) throw invalidRequest(`custom tool use ${target} already has a result`);
        answered.add(target);
        echoes.push({ id, ...e, processed_at: now });
        break;
      }
      case 'user.tool_confirmation': {
        const target = e.tool_use_id;
        const use = open.get(target);
        const found = view.find(target);
        const known = found && (found.event.type === 'agent.tool_use' || found.event.type === 'agent.mcp_tool_use') ? found : undefined;
        if (!known) throw invalidRequest(`tool_use_id ${target} does not name a tool use of this session`);
        if (known.event.evaluated_permission !== 'ask') throw invalidRequest(`tool use ${target} does not await confirmation (evaluated_permission is "${known.event.evaluated_permission}")`);
        if (!use || use.waitsFor !== 'confirmation' || confirmed.has(target) || answered.has(target)) {
          throw invalidRequest(`tool use ${target} was already confirmed or answered`);
        }
        answered.add(target);
        echoes.push({ id, ...e, processed_at: now });
        break;
      }
      case 'user.define_outcome':
        echoes.push(defineOutcomeEcho(e, now));
        break;
      case 'user.tool_result': {
        // Only a worker answers sandbox calls, and only in self-hosted sessions (checked by the caller).
        const target = e.tool_use_id;
        const known = view.find(target)?.event.type === 'agent.tool_use';
        if (!known) throw invalidRequest(`tool_use_id ${target} does not name an agent.tool_use event of this session`);
        const use = open.get(target);
        if (!use || answered.has(target)) throw invalidRequest(`tool use ${target} already has a result`);
        if (use.waitsFor !== 'client') throw invalidRequest(`tool use ${target} is not waiting for a worker result (it awaits ${use.waitsFor === 'confirmation' ? 'a user.tool_confirmation' : 'the server'})`);
        answered.add(target);
        echoes.push({ id, ...e, processed_at: now });
        break;
      }
      default:
        throw invalidRequest(`${(e as { type: string }).type} ${NOT_YET}`);
    }
  }
  return echoes;
}
