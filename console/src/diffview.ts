// Side-by-side rows for the agent version diff: the two versions as stable, pretty JSON (keys
// sorted, timestamps left out) diffed line by line with the `diff` library; a removed run next to
// the added run that follows it shares rows, like a two-column diff tool.
import { diffLines } from 'diff';
import type { Json } from './api.ts';

export interface DiffRow {
  left?: string;
  right?: string;
  kind: 'same' | 'changed' | 'removed' | 'added';
  leftNo?: number;
  rightNo?: number;
}

const VOLATILE = new Set(['created_at', 'updated_at', 'archived_at']);

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as Json).sort().map((k) => [k, sorted((v as Json)[k])]));
  }
  return v;
}

export function versionText(version: Json): string {
  const copy = Object.fromEntries(Object.entries(version).filter(([k]) => !VOLATILE.has(k)));
  return `${JSON.stringify(sorted(copy), null, 2)}\n`;
}

function lines(value: string): string[] {
  const out = value.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

export function sideBySide(a: string, b: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let l = 1;
  let r = 1;
  const parts = diffLines(a, b);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!p.added && !p.removed) {
      for (const line of lines(p.value)) rows.push({ kind: 'same', left: line, right: line, leftNo: l++, rightNo: r++ });
      continue;
    }
    if (p.removed) {
      const removed = lines(p.value);
      const next = parts[i + 1];
      const added = next?.added ? lines(next.value) : [];
      if (next?.added) i++;
      const n = Math.max(removed.length, added.length);
      for (let k = 0; k < n; k++) {
        const left = removed[k];
        const right = added[k];
        rows.push({
          kind: left !== undefined && right !== undefined ? 'changed' : left !== undefined ? 'removed' : 'added',
          left, right,
          leftNo: left !== undefined ? l++ : undefined,
          rightNo: right !== undefined ? r++ : undefined,
        });
      }
      continue;
    }
    for (const line of lines(p.value)) rows.push({ kind: 'added', right: line, rightNo: r++ });
  }
  return rows;
}
