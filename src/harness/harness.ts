// The brain: `wake(sessionId)` drives a session from its log until it has nothing to do. It holds
// a lease so one harness drives a session at a time, renews it while working, and keeps nothing in
// memory that the log lacks — the map below only tracks which loops this process is running.
import type { Logger } from 'pino';
import { newId } from '../protocol/ids.ts';
import { EventFactory } from '../domain/session-events.ts';
import { LeaseLost, type Store } from '../ports/store.ts';
import type { ModelClient } from '../ports/model.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import { SessionLog } from './session-log.ts';
import { planStep, planFromState, idlePatch, withoutReservation, withoutStarted, type StepAction } from './planner.ts';
import { runModelStep, recordInterruptedCall, type ModelStepDeps } from './model-step.ts';
import { backoffMs, failureStatus, sessionErrorType, sleep, type RetryPolicy } from './retry.ts';
import type { ServerToolRunner, ToolOutcome, ToolRunner, ToolSession } from './tool-runner.ts';
import type { SessionErrorBody } from '../domain/session-events.ts';
import type { PriceTable } from '../domain/pricing.ts';
import type { ModelError } from '../ports/model.ts';
import { runEvaluation, type GraderDeps } from './grader.ts';
import type { OpenToolUse } from './log-state.ts';
import type { AgentSnapshot } from './context.ts';
import { deriveLogState, resultTarget, type LogStateOptions } from './log-state.ts';
import { SANDBOX_TOOL_NAMES } from '../domain/builtin-tools.ts';
import { NO_TRACER, inSpan } from '../ports/tracer.ts';
import { ToolCallTrace, type ToolCallTelemetry } from './telemetry/tool-call-trace.ts';
import { sessionScope, threadScope, type StepScope } from './threads/thread-log.ts';
import { runThreadLoops, INTERRUPT as THREAD_INTERRUPT } from './threads/thread-scheduler.ts';
import { isTeamSession } from './threads/thread-model.ts';
import { teamToolRunner, threadsWithWork, runCoordinatorCall, isCoordinatorCall, planTeamQuiet, advisorCallModel } from './threads/team-harness.ts';
import { hasOpenAdvisorThread, planAdvisorRecovery, runAdvisorCall } from './threads/advisor.ts';
import type { ContextLimitsLookup } from './context-window.ts';
import { ORGANIZATION_SCOPE, SpendLimitReached, workspaceScope, type SpendWait } from '../domain/spend.ts';

export interface HarnessOptions {
  /** Model for outcome grading; undefined = the agent's model. */
  graderModel?: string;
  ongoingIntervalMs?: number;
  /** Identifies this process as a lease owner. */
  owner: string;
  leaseTtlMs: number;
  sweepIntervalMs: number;
  maxTokens: number;
  retry: RetryPolicy;
  /** Each model's context window, output limit and compaction threshold. */
  contextLimits?: ContextLimitsLookup;
}

export interface HarnessDeps {
  /** A self-hosted session went idle (possibly waiting on worker-side tool calls). */
  onAwaitingWorker?: (sessionId: string) => Promise<void>;
  prices: PriceTable;
  serverTools: ServerToolRunner;
  readRubricFile(fileId: string): Promise<string>;
  producedFiles(sessionId: string): Promise<string[]>;
  store: Store;
  log: SessionLog;
  model: ModelClient;
  tools: ToolRunner;
  clock: Clock;
  logger: Logger;
  /** The model API's host, named in the log line of a failed model request. */
  modelHost?: string;
  /** Spans (turn, tool calls, grading) and tool/lease metrics; none = not observed. */
  telemetry?: ToolCallTelemetry;
  /**
   * Another owner holds the session's lease while it has something to do: tell the node driving it
   * (a "wants driving" node signal) so it looks again. Not called for wakes that came from such a hint.
   */
  onLeaseBusy?: (sessionId: string, interrupt?: true | string[]) => void;
  /** A session was paused by a spend limit: look again at once (the limit may have changed meanwhile). */
  onSpendPaused?: (sessionId: string) => Promise<unknown>;
}

interface ActiveLoop {
  /** Aborted by `user.interrupt`; replaced after each interrupt is handled. */
  step: AbortController;
  /** Input arrived while the loop was deciding to stop: plan once more. */
  poked: boolean;
  /** Team sessions: their threads run under `runThreadLoops`, which interrupts and pokes them. */
  team?: boolean;
  onPoke?: () => void;
  threadAborts?: Map<string, AbortController>;
  /** Woken by another node's hint: a busy lease is not signalled back (no ping-pong). */
  quiet?: boolean;
  /** An interrupt arrived for it (true: the whole session; else these threads), passed on when another node drives it. */
  interrupt?: true | string[];
}

const nextEventId = () => newId('sevt');

export function toolSession(s: Record<string, unknown>): ToolSession {
  return { id: String(s.id), environment_id: String(s.environment_id), resources: (s.resources as Array<Record<string, unknown>>) ?? [] };
}
const INTERRUPT = 'interrupt';
const SHUTDOWN = 'shutdown';

/** Interrupts asked of one loop, combined: the whole session wins over named threads. */
function mergeInterrupt(had: true | string[] | undefined, threadIds: string[] | undefined): true | string[] {
  if (had === true || !threadIds) return true;
  return [...new Set([...(had ?? []), ...threadIds])];
}

export class Harness {
  private readonly deps: HarnessDeps;
  private readonly opts: HarnessOptions;
  private readonly active = new Map<string, ActiveLoop>();
  /** Environment type never changes, so whether a session's sandbox is remote is cached. */
  private readonly remote = new Map<string, boolean>();
  private readonly running = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(deps: HarnessDeps, opts: HarnessOptions) {
    this.deps = deps;
    this.opts = opts;
  }

  /** Starts the periodic sweep that re-wakes sessions whose harness died (and runs one now). */
  start(): void {
    const sweep = () => void this.sweep().catch((err) => this.deps.logger.error({ err }, 'sweep failed'));
    sweep();
    this.sweeper = setInterval(sweep, this.opts.sweepIntervalMs);
    this.sweeper.unref();
  }

  async sweep(): Promise<void> {
    // Also takes back what an earlier boot of this node left leased (its owner is `<node>#<boot>`).
    const ids = await this.deps.store.sessions.orphaned(this.deps.clock.now(), 500, this.opts.owner);
    for (const id of ids) {
      if (this.active.has(id)) continue;
      this.deps.telemetry?.metrics?.leaseTakeover();
      this.wake(id);
    }
  }

  /**
   * Drive the session if no loop is doing so; otherwise make the running loop look again.
   * `quiet`: the wake came from another node's hint, so a lease held elsewhere is not signalled.
   */
  wake(sessionId: string, opts: { quiet?: boolean; interrupt?: true | string[] } = {}): void {
    if (this.stopped) return;
    const loop = this.active.get(sessionId);
    if (loop) {
      loop.poked = true;
      loop.onPoke?.();
      return;
    }
    // Registered synchronously so a second wake in the same tick pokes this loop instead of racing it.
    const entry: ActiveLoop = { step: new AbortController(), poked: false, quiet: opts.quiet, interrupt: opts.interrupt };
    this.active.set(sessionId, entry);
    const task = (this.deps.telemetry?.tracer ?? NO_TRACER).turn(sessionId, () => this.run(sessionId, entry)).catch((err) => this.deps.logger.error({ err, sessionId }, 'harness loop failed'));
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /**
   * Abort whatever the session's loop is doing right now (model call, tool, backoff). Driven by
   * another node: that node is told to (`quiet`: the interrupt came from such a hint).
   */
  interrupt(sessionId: string, threadIds?: string[], opts: { quiet?: boolean } = {}): void {
    const loop = this.active.get(sessionId);
    if (loop) loop.interrupt = mergeInterrupt(loop.interrupt, threadIds);
    if (loop?.team) {
      // Only the named threads stop (all of them without names); the others keep working.
      for (const [id, ctrl] of loop.threadAborts ?? []) if (!threadIds || threadIds.includes(id)) ctrl.abort(THREAD_INTERRUPT);
      loop.poked = true;
      loop.onPoke?.();
    } else if (loop) {
      loop.poked = true;
      loop.step.abort(INTERRUPT);
    } else {
      this.wake(sessionId, { quiet: opts.quiet, interrupt: threadIds ?? true });
    }
  }

  isDriving(sessionId: string): boolean {
    return this.active.has(sessionId);
  }

  /** Stops sweeping, aborts every loop without writing, and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const loop of this.active.values()) loop.step.abort(SHUTDOWN);
    await Promise.allSettled([...this.running]);
  }

  private async run(sessionId: string, loop: ActiveLoop): Promise<void> {
    const { store, clock } = this.deps;
    let held = false;
    try {
      held = await store.sessions.acquireLease(sessionId, this.opts.owner, this.opts.leaseTtlMs, clock.now());
    } finally {
      if (!held) this.active.delete(sessionId);
    }
    if (!held) {
      // Another process drives it: make sure it heard of the input (a local poke meanwhile counts too).
      if (!loop.quiet || loop.poked) this.deps.onLeaseBusy?.(sessionId, loop.interrupt);
      return;
    }
    let renewing: Promise<void> | undefined;
    const renew = setInterval(() => {
      renewing = store.sessions.acquireLease(sessionId, this.opts.owner, this.opts.leaseTtlMs, clock.now()).then((held) => {
        if (!held) loop.step.abort(SHUTDOWN); // another process took over: stop touching the session
      }, (err: unknown) => {
        // The store is unreachable: the next renewal tries again; if the lease lapses meanwhile,
        // the sweeper (here or on another node) picks the session up once the store answers.
        this.deps.logger.warn({ err: String(err), sessionId }, 'renewing the session lease failed');
      });
    }, Math.max(50, Math.floor(this.opts.leaseTtlMs / 3)));
    // From here every write of this loop is fenced by the lease: should it lapse and another node
    // take over (this process stalled past the TTL), the next write fails instead of racing that node.
    this.deps.log.fence(sessionId, this.opts.owner);
    try {
      if (await this.isTeam(sessionId)) {
        loop.team = true;
        // Advisor consults a dead process left open are closed before the threads resume.
        const current = await store.sessions.get(sessionId);
        if (current && hasOpenAdvisorThread(current)) {
          await this.deps.log.commit(sessionId, (row, log) => planAdvisorRecovery(row, log(), this.deps.clock.now()) ?? { now: isoAt(this.deps.clock.now()) });
        }
        await runThreadLoops({
          step: (id, threadId, signal) => this.step(id, signal, threadScope(this.deps.store, this.deps.log, threadId)),
          threadIds: async (id) => threadsWithWork(await this.deps.store.sessions.get(id), await this.deps.store.sessions.log(id)),
        }, sessionId, Object.assign(loop, { shutdown: loop.step.signal }));
        if (loop.step.signal.aborted) return; // shutdown: the pending wake stays for the next process
        const opts = await this.planOptions(sessionId);
        const quiet = await this.deps.log.commit(sessionId, (row, log) => planTeamQuiet(row, log(), this.deps.clock.now(), opts));
        if (quiet && !quiet.plan.quiet) loop.poked = true;
      }
      else for (;;) {
        if (loop.step.signal.aborted) {
          if (loop.step.signal.reason === SHUTDOWN) return;
          loop.step = new AbortController();
        }
        loop.poked = false;
        const action = await this.step(sessionId, loop.step.signal);
        if (action.type === 'none' && !loop.poked) break;
      }
      await this.settle(sessionId);
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      this.deps.logger.warn({ sessionId }, 'lost the session lease to another node; it drives the session now');
      loop.step.abort(SHUTDOWN);
    } finally {
      this.deps.log.fence(sessionId, undefined);
      clearInterval(renew);
      // Release while still registered: a wake meanwhile pokes this loop (and restarts it below)
      // instead of starting a second loop whose lease this release would then free. A renewal in
      // flight is awaited so it cannot re-take the lease after the release.
      await renewing;
      await store.sessions.releaseLease(sessionId, this.opts.owner)
        .catch((err: unknown) => this.deps.logger.warn({ err, sessionId }, 'releasing the session lease failed'));
      this.active.delete(sessionId);
      if (loop.poked && !this.stopped) this.wake(sessionId);
    }
  }

  /** After a loop ends with the session idle, let the tool runner hand back outputs. */
  private async settle(sessionId: string): Promise<void> {
    const row = await this.deps.store.sessions.get(sessionId);
    if (!row || row.session.status !== 'idle') return;
    // Parked on a self-hosted worker's tool calls: make sure a work item is there to pick them up
    // (the previous worker may have stopped its item just before this turn's calls appeared).
    const parked = this.remote.get(sessionId) && deriveLogState(await this.deps.store.sessions.log(sessionId)).lastIdleReason === 'requires_action';
    if (parked && this.deps.onAwaitingWorker) {
      await this.deps.onAwaitingWorker(sessionId).catch((err) => this.deps.logger.error({ err, sessionId }, 'queueing work failed'));
    }
    if (!this.deps.tools.settle) return;
    try {
      await this.deps.tools.settle(toolSession(row.session));
    } catch (err) {
      this.deps.logger.error({ err, sessionId }, 'capturing session outputs failed');
    }
  }

  private readonly teams = new Map<string, boolean>();

  /** Whether the session's agent works as a team (its threads run concurrently). Never changes. */
  private async isTeam(sessionId: string): Promise<boolean> {
    let team = this.teams.get(sessionId);
    if (team === undefined) {
      const row = await this.deps.store.sessions.get(sessionId);
      team = row ? isTeamSession(row.session) : false;
      if (this.teams.size > 10_000) this.teams.clear();
      this.teams.set(sessionId, team);
    }
    return team;
  }

  /** In self-hosted environments sandbox tools run on the user's worker, not here. */
  private async planOptions(sessionId: string): Promise<LogStateOptions> {
    let remote = this.remote.get(sessionId);
    if (remote === undefined) {
      const row = await this.deps.store.sessions.get(sessionId);
      const env = row ? await this.deps.store.environments.get(String(row.session.environment_id)) : undefined;
      remote = (env?.config as { type?: string } | undefined)?.type === 'self_hosted';
      if (this.remote.size > 10_000) this.remote.clear();
      this.remote.set(sessionId, remote);
    }
    return remote ? { remoteTools: SANDBOX_TOOL_NAMES } : {};
  }

  /** Plans and performs one step (of the whole session, or of one thread of a team). Returns the action taken. */
  private async step(sessionId: string, signal: AbortSignal, scope: StepScope = this.rootScope): Promise<StepAction & { queued?: boolean }> {
    const opts = await this.planOptions(sessionId);
    // The session's own scope plans from its log view (current without re-reading the log); a
    // thread's scope gives no view and plans from its filtered log.
    const committed = await scope.log.commit(sessionId, (row, log, view) => view
      ? planFromState(row, view(opts).state(), log, nextEventId, this.deps.clock.now())
      : planStep(row, log(), nextEventId, this.deps.clock.now(), opts));
    if (!committed) return { type: 'none' };
    const action = committed.plan.action;
    // Nothing to do, but input went in (a child's final idle carries its unprocessed report to the
    // parent): the team loop pokes the other threads.
    if (action.type === 'none') return committed.stored.some((e) => e.event.processed_at === null) ? { type: 'none', queued: true } : action;
    try {
      if (action.type === 'model') await this.modelStep(sessionId, signal, scope);
      else if (action.type === 'evaluate') await this.evaluateStep(sessionId, action, signal, scope);
      else if (action.type === 'tools') await this.toolStep(sessionId, action.uses, signal, scope);
    } catch (err) {
      // A model request's reservation did not fit a spend limit: nothing was sent or recorded.
      if (!(err instanceof SpendLimitReached)) throw err;
      await this.pauseForSpend(sessionId, err, scope);
    }
    return action;
  }

  /**
   * Pauses the session the way a budget does (`session.usage`, `session.status_idle{budget_reached}`),
   * after a `session.error` naming the limit; `_spend_wait` holds it until the limit leaves room.
   */
  private async pauseForSpend(sessionId: string, err: SpendLimitReached, scope: StepScope): Promise<void> {
    this.deps.logger.info({ sessionId, spendLimit: err.limitId, month: err.month }, 'session paused by a spend limit');
    const paused = await scope.log.commit(sessionId, (current) => {
      const nowMs = this.deps.clock.now();
      const now = isoAt(nowMs);
      if (current.session.status !== 'running') return { now, paused: false };
      const f = new EventFactory(nextEventId, now);
      const wait: SpendWait = {
        limit_id: err.limitId, scope: err.scope.type === 'workspace' ? workspaceScope(err.scope.workspace_id) : ORGANIZATION_SCOPE,
        month: err.month, needed_micros: err.neededMicros,
      };
      const idle = idlePatch(current, nowMs);
      const budget = (current.session.budget as Record<string, unknown> | null | undefined) ?? null;
      return {
        now, paused: true,
        events: [
          f.error({ type: 'billing_error', message: err.message, retry_status: { type: 'exhausted' } }),
          f.sessionUsage(current.session.usage as Record<string, unknown>, budget),
          f.statusIdle({ type: 'budget_reached' }),
        ],
        patch: { ...idle, pendingWake: false, fields: { ...idle.fields, _spend_wait: wait } },
      };
    });
    if (paused?.plan.paused) await this.deps.onSpendPaused?.(sessionId);
  }

  private get rootScope(): StepScope {
    return (this.root ??= sessionScope(this.deps.store, this.deps.log));
  }

  private root: StepScope | undefined;

  private modelDeps(scope: StepScope = this.rootScope): ModelStepDeps {
    return {
      log: scope.log, model: this.deps.model, tools: teamToolRunner(this.deps.tools), clock: this.deps.clock,
      maxTokens: this.opts.maxTokens, prices: this.deps.prices, serverTools: this.deps.serverTools, limits: this.opts.contextLimits,
    };
  }

  private graderDeps(scope: StepScope): GraderDeps {
    return {
      ...this.modelDeps(scope), graderModel: this.opts.graderModel, readRubricFile: this.deps.readRubricFile,
      producedFiles: this.deps.producedFiles, ongoingIntervalMs: this.opts.ongoingIntervalMs ?? 10_000,
    };
  }

  private async evaluateStep(sessionId: string, action: { outcomeId: string; iteration: number; startId: string | null }, signal: AbortSignal, scope: StepScope): Promise<void> {
    const row = await scope.get(sessionId);
    if (!row) return;
    const log = await scope.read(sessionId);
    const outcome = await inSpan(this.deps.telemetry?.tracer ?? NO_TRACER, 'hangar.outcome.evaluate', {
      attributes: { 'hangar.outcome.id': action.outcomeId, 'hangar.outcome.iteration': action.iteration },
    }, () => runEvaluation(this.graderDeps(scope), sessionId, row, log, action, signal));
    if (outcome.type === 'failed' && outcome.error.kind !== 'aborted') {
      await this.recordFailure(sessionId, row.retryCount, outcome.error, null, signal, scope, outcome.evaluation);
    }
  }

  private async modelStep(sessionId: string, signal: AbortSignal, scope: StepScope): Promise<void> {
    const row = await scope.get(sessionId);
    if (!row) return;
    // The session's own conversation renders from its log view, only what is new since the last request.
    const view = scope.threadId === null ? await this.deps.log.view(sessionId, row, await this.planOptions(sessionId)) : undefined;
    const log = view ? view.events : await scope.read(sessionId);
    const outcome = await runModelStep(this.modelDeps(scope), sessionId, row, log, signal, view);
    if (outcome.type === 'ok') return;
    const { error, startId } = outcome;
    if (error.kind === 'aborted') {
      if (!startId) return; // interrupted before the request started
      // On shutdown the dangling span is closed by whoever resumes the session.
      if (signal.reason !== SHUTDOWN) await recordInterruptedCall(this.modelDeps(scope), sessionId, startId, error.partial);
      return;
    }
    await this.recordFailure(sessionId, row.retryCount, error, startId, signal, scope);
  }

  /**
   * A failed model request (agent or grader): retry with backoff while the policy allows
   * (`session.error{retrying}` + rescheduling), else end the turn (`exhausted`) or the session
   * (`terminal`). `spanStartId` is the agent request's span to close, if any.
   */
  private async recordFailure(
    sessionId: string, retryCount: number, error: ModelError, spanStartId: string | null, signal: AbortSignal, scope: StepScope,
    evaluation?: { startId: string; outcomeId: string; iteration: number },
  ): Promise<void> {
    this.deps.logger.warn({ sessionId, kind: error.kind, status: error.status, cause: error.message, upstream: error.upstream ?? this.deps.modelHost }, 'model call failed');
    const attempt = retryCount + 1;
    const retrying = error.retryable && attempt <= this.opts.retry.maxRetries;
    await scope.log.commit(sessionId, (current, readLog) => {
      const nowMs = this.deps.clock.now();
      const f = new EventFactory(nextEventId, isoAt(nowMs));
      const zero = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
      const retryStatus = failureStatus(error, retrying);
      const events = spanStartId ? [f.modelRequestEnd(spanStartId, true, zero)] : [];
      events.push(f.error({ type: sessionErrorType(error), message: error.message, retry_status: { type: retryStatus } }));
      const releasedId = spanStartId ?? evaluation?.startId;
      const released = releasedId ? { _reserved: withoutReservation(current.session, releasedId) } : {};
      // A grader that cannot be reached for good ends its evaluation as failed, not left open.
      if (evaluation && !retrying) {
        events.push(f.outcomeEvaluationEnd(evaluation.startId, evaluation.outcomeId, evaluation.iteration, 'failed',
          `The grader could not be reached: ${error.message}`, zero));
      }
      if (retrying) {
        events.push(f.statusRescheduled());
        return { now: isoAt(nowMs), events, patch: { status: 'rescheduling' as const, retryCount: attempt, fields: released } };
      }
      if (retryStatus === 'exhausted') {
        // Queued input is flushed into the conversation; the next message starts a fresh turn.
        events.push(f.statusIdle({ type: 'retries_exhausted' }));
        const queued = readLog()
          .filter((e) => e.event.processed_at === null && (e.event.type === 'user.message' || e.event.type === 'system.message'))
          .map((e) => e.event.id);
        const idle = idlePatch(current, nowMs);
        return { now: isoAt(nowMs), events, markProcessed: queued, patch: { ...idle, pendingWake: false, fields: { ...idle.fields, ...released } } };
      }
      events.push(f.statusTerminated());
      const patch = idlePatch(current, nowMs);
      return { now: isoAt(nowMs), events, patch: { ...patch, status: 'terminated' as const, pendingWake: false, fields: { ...patch.fields, ...released } } };
    });
    if (retrying) {
      await sleep(backoffMs(this.opts.retry, attempt, error), signal);
      if (signal.aborted) return; // the planner resumes (interrupt → idle; shutdown → next process)
      await scope.log.commit(sessionId, (current) => {
        if (current.session.status !== 'rescheduling') return { now: isoAt(this.deps.clock.now()) };
        const f = new EventFactory(nextEventId, isoAt(this.deps.clock.now()));
        return { now: isoAt(this.deps.clock.now()), events: [f.statusRunning()], patch: { status: 'running' as const } };
      });
    }
  }

  private async toolStep(sessionId: string, uses: OpenToolUse[], signal: AbortSignal, scope: StepScope): Promise<void> {
    for (const use of uses) {
      if (signal.aborted) return;
      const event = (await scope.findEvent(sessionId, use.id))?.event;
      const row = await scope.get(sessionId);
      if (!event || !row) continue;
      const input = (event.input as Record<string, unknown>) ?? {};
      const agent = row.session.agent as unknown as AgentSnapshot;
      let outcome: ToolOutcome;
      let error: SessionErrorBody | undefined;
      let webCall: 'web_fetch_requests' | 'web_search_requests' | undefined;
      const toolStarted = Date.now();
      const traced = new ToolCallTrace(this.deps.telemetry ?? {}, use, event, input);
      if (use.denied) {
        const reason = use.denied.message ? ` Reason: ${use.denied.message}` : '';
        outcome = { content: [{ type: 'text', text: `Permission to use ${use.name} has been denied by the user.${reason}` }], isError: true };
      } else if (isCoordinatorCall(agent, use)) {
        // Answered in the commit that performs it, so a crash never runs it twice: no start marker.
        await runCoordinatorCall(this.deps.log, sessionId, use, input, this.deps.clock.now());
        continue;
      } else if (advisorCallModel(agent, use)) {
        // Opens its own thread and marks itself started (see threads/advisor.ts).
        await runAdvisorCall({ ...this.modelDeps(), log: this.deps.log }, sessionId, use, input, advisorCallModel(agent, use)!, signal, () => signal.reason === SHUTDOWN);
        continue;
      } else if (!(await this.markStarted(sessionId, use.id, scope))) {
        continue; // answered meanwhile, or the session stopped running: nothing to run
      } else if (use.type === 'agent.mcp_tool_use') {
        ({ outcome, error } = await traced.run(() => this.deps.serverTools.runMcp({ id: sessionId }, agent, String(event.mcp_server_name), use.name, input, signal)));
      } else if (use.name === 'web_fetch' || use.name === 'web_search') {
        outcome = await traced.run(() => this.deps.serverTools.runWeb(use.name, input, agent, signal));
        webCall = use.name === 'web_fetch' ? 'web_fetch_requests' : 'web_search_requests';
      } else {
        outcome = await traced.run(() => this.deps.tools.run(toolSession(row.session), { id: use.id, name: use.name, input }, { signal }));
      }
      this.deps.logger.info({ sessionId, tool: use.name, durationMs: Date.now() - toolStarted, isError: outcome.isError }, 'tool call');
      traced.end(outcome, error);
      // Aborted: an interrupt answers this call, or (shutdown) the next process finds it started.
      if (signal.aborted) return;
      await scope.log.commit(sessionId, (current, log) => {
        const now = isoAt(this.deps.clock.now());
        const finished = { fields: { _tools_started: withoutStarted(current.session, [use.id]) } };
        // Someone (an interrupt) may have answered the call meanwhile: never answer twice.
        if (log().some((e) => resultTarget(e.event) === use.id)) return { now, patch: finished };
        const f = new EventFactory(nextEventId, now);
        const events = [...(outcome.errors ?? []).map((e) => f.error(e)), ...(error ? [f.error(error)] : [])];
        events.push(use.type === 'agent.mcp_tool_use'
          ? { id: nextEventId(), type: 'agent.mcp_tool_result', mcp_tool_use_id: use.id, content: outcome.content, is_error: outcome.isError, processed_at: now }
          : { id: nextEventId(), type: 'agent.tool_result', tool_use_id: use.id, content: outcome.content, is_error: outcome.isError, processed_at: now });
        if (!webCall) return { now, events, patch: finished };
        const usage = { ...(current.session.usage as Record<string, unknown>) };
        const counts = { web_search_requests: 0, web_fetch_requests: 0, ...((usage.server_tool_use as Record<string, number> | null) ?? {}) };
        counts[webCall] += 1;
        usage.server_tool_use = counts;
        return { now, events, patch: { fields: { ...finished.fields, usage } } };
      });
    }
  }

  /**
   * Side effects are marked before they happen: durably records that the call is starting (a
   * store-side marker, see `startedTools`), so a crash during the call can never lead to running
   * it twice. False when the call must not run (already answered, or the session is not running).
   */
  private async markStarted(sessionId: string, useId: string, scope: StepScope): Promise<boolean> {
    const committed = await scope.log.commit(sessionId, (current, log) => {
      const now = isoAt(this.deps.clock.now());
      if (current.session.status !== 'running' || log().some((e) => resultTarget(e.event) === useId)) return { now, start: false };
      return { now, start: true, patch: { fields: { _tools_started: [...withoutStarted(current.session, [useId]), useId] } } };
    });
    return committed?.plan.start === true;
  }
}
