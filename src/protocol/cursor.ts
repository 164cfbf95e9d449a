// Opaque pagination cursors: base64url JSON naming the sort key to continue after, the order
// and the direction, so a cursor reused with another `order` can be rejected.
import { invalidRequest } from './errors.ts';

export type SortOrder = 'asc' | 'desc';

export interface Cursor {
  /** The sort key (a sequence number) of the last item seen. */
  after: number;
  order: SortOrder;
  /** `prev` cursors walk back toward the start of a bidirectional list. */
  dir: 'next' | 'prev';
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.after, c.order, c.dir])).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  try {
    const [after, order, dir] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (typeof after === 'number' && (order === 'asc' || order === 'desc') && (dir === 'next' || dir === 'prev')) {
      return { after, order, dir };
    }
  } catch {
    // fall through to the client error below
  }
  throw invalidRequest('page: invalid pagination cursor');
}
