// Keyset pagination shared by the SQLite repos: fetch limit+1 rows in `order` after a sort key,
// and report the key to continue after (null at the end).
import type { Page, PageQuery } from '../../ports/store.ts';

export type Row = Record<string, unknown>;

export function pageOf<T>(rows: Row[], q: PageQuery, map: (r: Row) => T): Page<T> {
  const more = rows.length > q.limit;
  const taken = more ? rows.slice(0, q.limit) : rows;
  return { data: taken.map(map), next: more ? Number(taken[taken.length - 1].seq) : null };
}

/** SQL fragments continuing after `q.after` on `column` (aliased as `seq` in the select). */
export function keyset(q: PageQuery, column = 'seq'): { where: string; params: number[]; orderBy: string } {
  const cmp = q.order === 'asc' ? '>' : '<';
  return {
    where: q.after === undefined ? '' : ` AND ${column} ${cmp} ?`,
    params: q.after === undefined ? [] : [q.after],
    orderBy: ` ORDER BY ${column} ${q.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
  };
}
