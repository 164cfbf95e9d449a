// Small display helpers shared by the pages: dates, token counts, costs, JSON.
export function when(iso: unknown): string {
  if (typeof iso !== 'string' || !iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function time(iso: unknown): string {
  if (typeof iso !== 'string' || !iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function tokens(n: unknown): string {
  const v = Number(n ?? 0);
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : String(v);
}

/** `{amount:"123", currency:"USD"}` in cents → "$1.23"; numbers are dollars. */
export function cost(c: unknown): string {
  if (c === null || c === undefined) return '—';
  if (typeof c === 'number') return `$${c.toFixed(4)}`;
  const o = c as { amount?: string | number; currency?: string };
  if (o.amount === undefined) return '—';
  const cents = Number(o.amount);
  return Number.isFinite(cents) ? `${(cents / 100).toFixed(2)} ${o.currency ?? 'USD'}` : String(o.amount);
}

export function pretty(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}
