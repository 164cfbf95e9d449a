// Spend limits across sessions (issue 11): the organization and each workspace may cap their monthly
// list-price spend. The ledger is kept in the store beside each session's own budget bookkeeping:
// whatever a commit adds to or removes from a session's `_reserved` map (worst-case reservations of
// model requests in flight) and `_cost_micros` (what was spent) is applied to the ledger rows of the
// session's scopes in the same transaction, and a new reservation that would take a limited scope
// over its limit aborts that transaction (`SpendLimitReached`). So no number of concurrent sessions
// on any number of nodes can spend past a limit: every request's worst case is admitted first.
import { DEFAULT_WORKSPACE_ID } from './workspace.ts';
import type { SpendLedgerRow, SpendLimitObject, SpendLimitRow } from '../ports/store.ts';

export type { SpendLedgerRow, SpendLimitObject, SpendLimitRow };

/** The ledger key of the whole installation. */
export const ORGANIZATION_SCOPE = 'organization';
/** Periods a limit may have; only `monthly` is enforced (daily/weekly are refused with a 400). */
export const SPEND_PERIODS = ['monthly'] as const;

export const workspaceScope = (workspaceId: string) => `workspace:${workspaceId}`;

/**
 * The workspace a session belongs to. Sessions record it at creation (`_workspace_id`, hidden like
 * every `_` field); a wire `workspace_id`, when the workspaces work adds one, is honored too.
 */
export function sessionWorkspaceId(session: Record<string, unknown>): string {
  const id = session._workspace_id ?? session.workspace_id;
  return typeof id === 'string' && id ? id : DEFAULT_WORKSPACE_ID;
}

/** The ledger rows a session's spend counts against, in lock order. */
export function spendScopesOf(session: Record<string, unknown>): string[] {
  return [ORGANIZATION_SCOPE, workspaceScope(sessionWorkspaceId(session))].sort();
}

/** The calendar month (UTC) an instant falls in: `YYYY-MM`, the window of a monthly limit. */
export function monthOf(iso: string): string {
  return iso.slice(0, 7);
}

/** What one commit changes in the ledger of the session's scopes. */
export interface SpendDelta {
  /** Micro-USD newly reserved by this commit (the admission check applies to it). */
  reserve: number;
  /** Micro-USD of reservations this commit dropped. */
  release: number;
  /** Micro-USD spent by this commit. */
  spent: number;
}

const reservations = (s: Record<string, unknown>) => (s._reserved as Record<string, number> | undefined) ?? {};

/**
 * The ledger change between a session's stored fields and what a commit writes (`after` undefined:
 * the session is deleted, releasing whatever it still had reserved). Undefined when nothing changes.
 */
export function spendDelta(before: Record<string, unknown>, after: Record<string, unknown> | undefined): SpendDelta | undefined {
  const was = reservations(before);
  const now = after ? reservations(after) : {};
  let reserve = 0;
  let release = 0;
  if (was !== now) {
    for (const [id, micros] of Object.entries(now)) if (was[id] !== micros) reserve += micros;
    for (const [id, micros] of Object.entries(was)) if (now[id] !== micros) release += micros;
  }
  const spent = after ? Math.max(0, Number(after._cost_micros ?? 0) - Number(before._cost_micros ?? 0)) : 0;
  if (!reserve && !release && !spent) return undefined;
  return { reserve, release, spent };
}

/** Spend of `row` in `month` (a row last written in an earlier month has spent nothing in this one). */
export function spentIn(row: SpendLedgerRow | undefined, month: string): number {
  return row && row.month === month ? row.spentMicros : 0;
}

export const centsOf = (amount: string) => Number(amount) * 10_000;

/**
 * Thrown inside a commit (rolling it back) when a new reservation does not fit a limited scope.
 * Carries what the pause must say and what the session needs to go on.
 */
export class SpendLimitReached extends Error {
  readonly limitId: string;
  readonly scope: SpendLimitObject['scope'];
  readonly limitMicros: number;
  readonly spentMicros: number;
  readonly reservedMicros: number;
  readonly neededMicros: number;
  readonly month: string;

  constructor(f: { limit: SpendLimitObject; spentMicros: number; reservedMicros: number; neededMicros: number; month: string }) {
    const where = f.limit.scope.type === 'workspace' ? `workspace ${f.limit.scope.workspace_id}` : 'the organization';
    super(`the monthly spend limit ${f.limit.id} of ${where} (${dollars(centsOf(f.limit.amount ?? '0'))}) is reached: `
      + `${dollars(f.spentMicros)} spent in ${f.month} and ${dollars(f.reservedMicros)} reserved by requests in flight leave no room `
      + `for the next model request's worst case of ${dollars(f.neededMicros)}; the session resumes when the limit is raised or removed, or the month rolls over`);
    this.name = new.target.name;
    this.limitId = f.limit.id;
    this.scope = f.limit.scope;
    this.limitMicros = centsOf(f.limit.amount ?? '0');
    this.spentMicros = f.spentMicros;
    this.reservedMicros = f.reservedMicros;
    this.neededMicros = f.neededMicros;
    this.month = f.month;
  }
}

function dollars(micros: number): string {
  return `$${(micros / 1_000_000).toFixed(4)}`;
}

/**
 * The admission check of a commit that reserves `delta.reserve`: throws `SpendLimitReached` for the
 * first limited scope the reservation does not fit (spent this month + reserved + new ≤ limit).
 */
export function admit(delta: SpendDelta, ledger: SpendLedgerRow[], limits: SpendLimitRow[], month: string): void {
  if (delta.reserve <= 0) return;
  for (const l of limits) {
    if (l.limit.amount === null) continue;
    const row = ledger.find((r) => r.scope === l.scopeKey);
    const spent = spentIn(row, month);
    const reserved = Math.max(0, (row?.reservedMicros ?? 0) - delta.release);
    if (spent + reserved + delta.reserve > centsOf(l.limit.amount)) {
      throw new SpendLimitReached({ limit: l.limit, spentMicros: spent, reservedMicros: reserved, neededMicros: delta.reserve, month });
    }
  }
}

/** What a session paused by a spend limit waits for (`_spend_wait`, cleared when it may go on). */
export interface SpendWait {
  limit_id: string;
  scope: string;
  month: string;
  needed_micros: number;
}

export function spendWaitOf(session: Record<string, unknown>): SpendWait | undefined {
  return (session._spend_wait as SpendWait | null | undefined) ?? undefined;
}

/** Whether a paused session's next request fits now (or its limit is gone, or the month rolled over). */
export function waitIsOver(wait: SpendWait, ledger: SpendLedgerRow[], limits: SpendLimitRow[], month: string): boolean {
  if (wait.month !== month) return true;
  try {
    admit({ reserve: wait.needed_micros, release: 0, spent: 0 }, ledger, limits, month);
    return true;
  } catch (err) {
    if (err instanceof SpendLimitReached) return false;
    throw err;
  }
}

/** Period-to-date spend in cents as the SDK reads it: a decimal string with up to three decimals. */
export function centsString(micros: number): string {
  const tenths = Math.floor(micros / 10); // thousandths of a cent
  const whole = Math.floor(tenths / 1000);
  const frac = tenths % 1000;
  return frac ? `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}` : String(whole);
}
