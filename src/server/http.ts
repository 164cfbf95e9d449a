// Edge helpers shared by route modules: body/query validation with zod into typed commands,
// bracketed query arrays, and PageCursor responses.
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { invalidRequest } from '../protocol/errors.ts';
import { decodeCursor, encodeCursor, type SortOrder } from '../protocol/cursor.ts';
import type { Page } from '../ports/store.ts';

/** Formats a zod failure as one clear client message naming the offending field. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  const path = issue.path.length ? issue.path.map(String).join('.') : 'body';
  return `${path}: ${issue.message}`;
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.output<S> {
  if (value === undefined || value === null) {
    if (what === 'body') throw invalidRequest('request body must be a JSON object');
  }
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw invalidRequest(describeZodError(result.error));
  return result.data;
}

type Query = Record<string, string | string[] | undefined>;

export function queryOf(req: FastifyRequest): Query {
  return (req.query ?? {}) as Query;
}

/** Reads a single query value; repeated values are a client error. */
export function queryString(q: Query, key: string): string | undefined {
  const v = q[key];
  if (Array.isArray(v)) throw invalidRequest(`${key}: expected a single value`);
  return v;
}

/** Most values any array query parameter may carry: each count is a distinct SQL statement shape. */
export const MAX_QUERY_ARRAY = 100;

/**
 * Reads `key[]=a&key[]=b` as well as `key=a&key=b` (the SDK sends the bracketed form). More than
 * `max` values is a 400, so no client can make the store prepare statements for unbounded shapes.
 */
export function queryArray(q: Query, key: string, max = MAX_QUERY_ARRAY): string[] | undefined {
  const values = [q[`${key}[]`], q[key]].flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
  if (values.length > max) throw invalidRequest(`${key}: at most ${max} values per request`);
  return values.length ? values : undefined;
}

export function queryBool(q: Query, key: string): boolean | undefined {
  const v = queryString(q, key);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidRequest(`${key}: expected true or false`);
}

export function queryInt(q: Query, key: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = queryString(q, key);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidRequest(`${key}: expected an integer`);
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) throw invalidRequest(`${key}: must be >= ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw invalidRequest(`${key}: must be <= ${opts.max}`);
  return n;
}

export function queryTimestamp(q: Query, key: string): string | undefined {
  const v = queryString(q, key);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidRequest(`${key}: expected an RFC 3339 timestamp`);
  return new Date(t).toISOString();
}

export function queryOrder(q: Query, fallback: SortOrder): SortOrder {
  const v = queryString(q, 'order');
  if (v === undefined) return fallback;
  if (v !== 'asc' && v !== 'desc') throw invalidRequest('order: expected "asc" or "desc"');
  return v;
}

/** Standard PageCursor parameters: `limit` (1..max, default) and the opaque `page` cursor. */
export function pageParams(q: Query, opts: { order: SortOrder; defaultLimit?: number; maxLimit?: number }) {
  const limit = queryInt(q, 'limit', { min: 1, max: opts.maxLimit ?? 100 }) ?? opts.defaultLimit ?? 20;
  const raw = queryString(q, 'page');
  let after: number | undefined;
  if (raw) {
    const c = decodeCursor(raw);
    if (c.order !== opts.order) throw invalidRequest('page: this cursor was issued for a different order');
    after = c.after;
  }
  return { limit, order: opts.order, after };
}

export function pageBody<T>(page: Page<T>, order: SortOrder): { data: T[]; next_page: string | null } {
  return { data: page.data, next_page: page.next === null ? null : encodeCursor({ after: page.next, order, dir: 'next' }) };
}
