// Files and session file resources (docs/API-SPEC.md §4.6, §4.9): wire shapes and the pure rules —
// expiry bounds, MIME types, filenames, download headers and where a file may be mounted.
import { posix } from 'node:path';
import { invalidRequest } from '../protocol/errors.ts';

export const MIN_EXPIRES_IN_SECONDS = 3600;
export const MAX_EXPIRES_IN_SECONDS = 7_776_000;

export interface FileObject {
  type: 'file';
  id: string;
  filename: string;
  mime_type: string;
  size_bytes: number;
  created_at: string;
  downloadable: boolean;
  expires_at: string | null;
  scope: { type: 'session'; id: string } | null;
}

/** A `file` session resource as the API returns it. */
export interface FileResource {
  id: string;
  type: 'file';
  file_id: string;
  mount_path: string;
  created_at: string;
  updated_at: string;
}

/** What session create / resources add accept. Only `file` is supported so far. */
export type SessionResourceParam =
  | { type: 'file'; file_id: string; mount_path?: string | null }
  | { type: 'github_repository' }
  | { type: 'memory_store' };

/** Parses the multipart `expires_in_seconds` field (a decimal string on the wire). */
export function parseExpiresIn(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < MIN_EXPIRES_IN_SECONDS || n > MAX_EXPIRES_IN_SECONDS) {
    throw invalidRequest(`expires_in_seconds: must be an integer from ${MIN_EXPIRES_IN_SECONDS} to ${MAX_EXPIRES_IN_SECONDS}`);
  }
  return n;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', markdown: 'text/markdown', csv: 'text/csv', tsv: 'text/tab-separated-values',
  html: 'text/html', htm: 'text/html', css: 'text/css', xml: 'application/xml', log: 'text/plain',
  js: 'text/javascript', mjs: 'text/javascript', ts: 'text/plain', py: 'text/x-python', sh: 'application/x-sh',
  json: 'application/json', jsonl: 'application/jsonl', yaml: 'application/yaml', yml: 'application/yaml', toml: 'application/toml',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  mp3: 'audio/mpeg', wav: 'audio/wav', mp4: 'video/mp4',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

const GENERIC = 'application/octet-stream';

/**
 * The declared content type when it says something (multipart parts of nameless blobs arrive as
 * `application/octet-stream`), else a guess from the extension, else `application/octet-stream`.
 */
export function mimeTypeFor(filename: string, declared?: string): string {
  const d = declared?.split(';')[0].trim().toLowerCase();
  if (d && d !== GENERIC && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(d)) return d;
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  return (ext && MIME_BY_EXTENSION[ext]) || GENERIC;
}

/** Upload filenames: control characters are a client error; missing names become "upload". */
export function cleanFilename(raw: string | undefined): string {
  const name = (raw ?? '').trim();
  if (name === '') return 'upload';
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalidRequest('file: filename must not contain control characters');
  if (name.length > 500) throw invalidRequest('file: filename must be at most 500 characters');
  return name;
}

/** `attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(filename: string): string {
  const base = filename.split('/').pop() || 'download';
  const ascii = base.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Types a download is served with as declared: passive formats a browser does not execute. Anything
 * else the client declared (HTML, SVG, XML, JavaScript, unknown types...) is served as
 * `application/octet-stream`, so a download link can never run script in the API's origin.
 */
const PASSIVE_TYPES = new Set([
  'text/plain', 'text/csv', 'text/markdown', 'text/tab-separated-values', 'application/json', 'application/pdf',
  'application/zip', 'application/gzip', 'application/x-tar', 'application/octet-stream',
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp',
  'audio/mpeg', 'audio/wav', 'audio/ogg', 'video/mp4', 'video/webm', 'video/mpeg',
]);

/** The Content-Type a stored file is downloaded with (its metadata keeps the declared type). */
export function servedContentType(mimeType: string): string {
  const base = mimeType.split(';')[0].trim().toLowerCase();
  return PASSIVE_TYPES.has(base) ? base : GENERIC;
}

export const defaultMountPath = (fileId: string) => `/mnt/session/uploads/${fileId}`;

/** File resources may live only under these directories (the sandbox's own trees stay off limits). */
export const MOUNT_ROOTS = ['/mnt', '/workspace'];
/** Paths the platform itself mounts: the writable outputs dir and memory stores. */
export const RESERVED_MOUNTS = ['/mnt/session/outputs', '/mnt/memory'];

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
/** True when one path is the other or contains it: two mounts there would shadow each other. */
const overlaps = (a: string, b: string) => within(a, b) || within(b, a);

/**
 * Checks a mount path: absolute, already normalized (no `.`/`..`/`//`/trailing `/`), at most 1024
 * characters, strictly under /mnt/ or /workspace/, and clear of the reserved mounts. Returns it.
 */
export function validateMountPath(path: string): string {
  const bad = (why: string) => invalidRequest(`mount_path: ${JSON.stringify(path)} ${why}`);
  if (!path.startsWith('/')) throw bad('must be an absolute path');
  if (path.length > 1024) throw bad('must be at most 1024 characters');
  if (/[\u0000-\u001f\u007f]/.test(path)) throw bad('must not contain control characters');
  if (posix.normalize(path) !== path || path.endsWith('/')) throw bad('must be normalized (no ".", "..", "//" or trailing "/")');
  if (!MOUNT_ROOTS.some((root) => path.startsWith(`${root}/`))) throw bad(`must be under ${MOUNT_ROOTS.map((r) => `${r}/`).join(' or ')}`);
  const reserved = RESERVED_MOUNTS.find((r) => overlaps(path, r));
  if (reserved) throw bad(`collides with ${reserved}, which is reserved`);
  return path;
}

/** Rejects a mount path equal to, inside, or containing one already used by the session. */
export function assertMountPathFree(path: string, taken: Iterable<string>): void {
  for (const other of taken) {
    if (overlaps(path, other)) {
      throw invalidRequest(other === path
        ? `mount_path: ${path} is already used by another resource of this session`
        : `mount_path: ${path} overlaps ${other}, already used by another resource of this session`);
    }
  }
}

/** Mount paths currently used by a session's resources (any type that has one). */
export function mountPathsOf(resources: readonly unknown[]): string[] {
  return resources.flatMap((r) => {
    const p = (r as { mount_path?: unknown }).mount_path;
    return typeof p === 'string' ? [p] : [];
  });
}
