// Plain-text tables for people: left-aligned columns sized to their widest cell, a header row,
// two spaces between columns, long cells cut with an ellipsis. Scripts use --json instead.
export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Longest a cell may be before it is cut (default 48). */
  max?: number;
}

function cell(v: string | number | null | undefined, max: number): string {
  const s = v === null || v === undefined || v === '' ? '-' : String(v).replace(/\s+/g, ' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r), c.max ?? 48)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** `2500` minor units of USD → `$25.00`; finer amounts keep their digits. */
export function money(amount: { amount: string; currency: string } | null | undefined): string {
  if (!amount) return '-';
  const minor = Number(amount.amount);
  if (!Number.isFinite(minor)) return `${amount.amount} ${amount.currency}`;
  const major = (minor / 100).toFixed(2);
  return amount.currency === 'USD' ? `$${major}` : `${major} ${amount.currency}`;
}
