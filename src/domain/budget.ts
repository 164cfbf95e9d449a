// Budgets: the gate that runs before every model request. Spend is tracked in micro-USD on the
// session (`_cost_micros`); requests in flight reserve their worst case (`_reserved`) so parallel
// requests of one session cannot jointly overshoot the cap.
import { centsToMicros, microsToCents } from './pricing.ts';

export interface BudgetFields {
  budget?: { type: 'limit'; max_list_cost: { amount: string; currency: string } } | null;
  _cost_micros?: number;
  _reserved?: Record<string, number>;
}

export function spentMicros(s: BudgetFields): number {
  return s._cost_micros ?? 0;
}

export function reservedMicros(s: BudgetFields, exclude?: string): number {
  return Object.entries(s._reserved ?? {}).reduce((sum, [id, micros]) => (id === exclude ? sum : sum + micros), 0);
}

/**
 * True when the session has a budget and what is spent plus what other requests reserved reached
 * it. `resuming` names a request being redone, whose own old reservation does not count.
 */
export function budgetBlocks(s: BudgetFields, resuming?: string): boolean {
  if (!s.budget) return false;
  return spentMicros(s) + reservedMicros(s, resuming) >= centsToMicros(s.budget.max_list_cost.amount);
}

export function listCost(micros: number | undefined): { amount: string; currency: 'USD' } | null {
  return micros === undefined ? null : { amount: microsToCents(micros), currency: 'USD' };
}
