// Spend limits as a use case (issue 11): set, read, list and delete limits, the effective report
// (period-to-date spend against each limit), and the resumption of sessions paused by a limit —
// when the limit is raised or removed, when the month rolls over (a periodic sweep), and right after
// a pause whose limit changed while it was being recorded.
import { newId } from '../protocol/ids.ts';
import { notFound } from '../protocol/errors.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import type { AuditEvent, Page, PageQuery, SpendLimitObject, SpendLimitRow, Store } from '../ports/store.ts';
import {
  ORGANIZATION_SCOPE, centsString, monthOf, spendWaitOf, spentIn, waitIsOver, workspaceScope,
} from '../domain/spend.ts';
import type { SessionLog } from './session-log.ts';

export interface SetSpendLimit {
  amount: string | null;
  scope: SpendLimitObject['scope'];
}

export interface SpendSummary {
  actor: { type: 'scoped_api_key_actor'; scoped_api_key_id: string };
  amount: string | null;
  currency: 'USD';
  period: 'monthly';
  period_to_date_spend: string;
  /** Extension: what requests in flight have reserved against the limit (cents, up to three decimals). */
  period_to_date_reserved: string;
  scope: SpendLimitObject['scope'];
  source: SpendLimitObject['scope'];
  spend_limit_id: string;
}

/** A workspace's month on its wire object (Hangar's extension field `spend`). */
export interface WorkspaceSpend {
  /** The UTC calendar month reported, `YYYY-MM`. */
  month: string;
  currency: 'USD';
  /** List-price spend this month, cents (up to three decimals). */
  spent_cents: string;
  /** Worst-case reservations of model requests in flight, cents; 0 when none is in flight. */
  reserved_cents: string;
  /** The workspace's monthly spend limit, if one is set (an organization limit is not shown here). */
  limit_id: string | null;
  /** That limit's amount in cents; null when none is set or the limit is an explicit no-limit. */
  limit_amount: string | null;
}

export interface SpendServiceDeps {
  store: Store;
  log: Pick<SessionLog, 'commit'>;
  clock: Clock;
  /** Drives a session whose wait is over (the harness's wake). */
  wake(sessionId: string): void;
}

export const scopeKeyOf = (scope: SpendLimitObject['scope']) =>
  (scope.type === 'workspace' ? workspaceScope(scope.workspace_id) : ORGANIZATION_SCOPE);

export class SpendService {
  private readonly deps: SpendServiceDeps;
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: SpendServiceDeps) {
    this.deps = deps;
  }

  private now(): string {
    return isoAt(this.deps.clock.now());
  }

  /** Upsert on (scope, monthly); sessions waiting on that scope are looked at again. */
  /** `audit`: the change's audit record, appended in the same transaction. */
  async set(params: SetSpendLimit, audit?: (id: string) => AuditEvent): Promise<SpendLimitObject> {
    const now = this.now();
    const limit: SpendLimitObject = {
      type: 'spend_limit', id: newId('spl'), amount: params.amount, currency: 'USD', is_enabled: true, period: 'monthly',
      scope: params.scope, created_at: now, updated_at: now,
    };
    const stored = await this.deps.store.spend.putLimit({ limit, scopeKey: scopeKeyOf(params.scope) }, audit && ((s) => audit(s.limit.id)));
    await this.resumeWaiting(stored.scopeKey);
    return stored.limit;
  }

  async get(id: string): Promise<SpendLimitRow> {
    const row = await this.deps.store.spend.getLimit(id);
    if (!row) throw notFound(`no spend limit with id ${id}`);
    return row;
  }

  async delete(id: string, audit?: AuditEvent): Promise<{ id: string; type: 'spend_limit_deleted' }> {
    const row = await this.get(id);
    if (!(await this.deps.store.spend.deleteLimit(id, audit))) throw notFound(`no spend limit with id ${id}`);
    await this.resumeWaiting(row.scopeKey);
    return { id, type: 'spend_limit_deleted' };
  }

  list(q: PageQuery & { scopeTypes?: string[]; workspaceId?: string }): Promise<Page<SpendLimitRow>> {
    return this.deps.store.spend.listLimits(q);
  }

  /** One row per limit of the page: its amount, this month's spend and what is reserved against it. */
  async effective(q: PageQuery & { workspaceId?: string }, actorKeyId: string): Promise<Page<SpendSummary>> {
    const page = await this.deps.store.spend.listLimits(q);
    const ledger = await this.deps.store.spend.ledger([...new Set(page.data.map((l) => l.scopeKey))]);
    const month = monthOf(this.now());
    return {
      next: page.next,
      data: page.data.map(({ limit, scopeKey }) => {
        const row = ledger.find((r) => r.scope === scopeKey);
        return {
          actor: { type: 'scoped_api_key_actor', scoped_api_key_id: actorKeyId },
          amount: limit.amount, currency: 'USD', period: 'monthly',
          period_to_date_spend: centsString(spentIn(row, month)),
          period_to_date_reserved: centsString(row?.reservedMicros ?? 0),
          scope: limit.scope, source: limit.scope, spend_limit_id: limit.id,
        };
      }),
    };
  }

  /**
   * The `spend` extension of workspace objects (`GET /v1/organizations/workspaces[/:id]`): this
   * month's spend and what requests in flight have reserved, in cents as strings like the SDK's
   * amounts, and the workspace's own limit (id and amount; null when none is set). One ledger read
   * and one limit read for all the ids.
   */
  async workspacesSpend(workspaceIds: string[]): Promise<Map<string, WorkspaceSpend>> {
    const month = monthOf(this.now());
    const scopes = workspaceIds.map(workspaceScope);
    const [ledger, limits] = scopes.length
      ? await Promise.all([this.deps.store.spend.ledger(scopes), this.deps.store.spend.limitsFor(scopes)])
      : [[], []];
    const out = new Map<string, WorkspaceSpend>();
    for (const id of workspaceIds) {
      const scope = workspaceScope(id);
      const row = ledger.find((r) => r.scope === scope);
      const limit = limits.find((l) => l.scopeKey === scope)?.limit;
      out.set(id, {
        month, currency: 'USD', spent_cents: centsString(spentIn(row, month)), reserved_cents: centsString(row?.reservedMicros ?? 0),
        limit_id: limit?.id ?? null, limit_amount: limit?.amount ?? null,
      });
    }
    return out;
  }

  /**
   * Resumes the sessions waiting on `scope` (every waiting session when undefined) whose next
   * request now fits, whose limit is gone, or whose month is over.
   */
  async resumeWaiting(scope?: string): Promise<number> {
    let resumed = 0;
    for (const id of await this.deps.store.spend.waiting(scope)) if (await this.resumeIfRoom(id)) resumed++;
    return resumed;
  }

  /**
   * Clears the session's wait when its next request fits now (called after each pause too: a limit
   * raised while the pause was being recorded found no waiting session to resume).
   */
  async resumeIfRoom(sessionId: string): Promise<boolean> {
    const row = await this.deps.store.sessions.get(sessionId);
    const wait = row && spendWaitOf(row.session);
    if (!wait) {
      if (!row) await this.deps.store.spend.deleteWait(sessionId);
      return false;
    }
    const month = monthOf(this.now());
    const scopes = [wait.scope];
    if (!waitIsOver(wait, await this.deps.store.spend.ledger(scopes), await this.deps.store.spend.limitsFor(scopes), month)) return false;
    const done = await this.deps.log.commit(sessionId, (current) => {
      const now = this.now();
      if (!spendWaitOf(current.session)) return { now, cleared: false };
      return { now, cleared: true, patch: { pendingWake: true, fields: { _spend_wait: null } } };
    });
    if (done?.plan.cleared) this.deps.wake(sessionId);
    return done?.plan.cleared === true;
  }

  /** Looks at every waiting session every `intervalMs` (month rollover; waits a crash left behind). */
  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.resumeWaiting().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
