// The web console (console/, built by Vite into console/dist/) served at /console without an API key:
// the static files hold no data, the console signs in with an API key and calls the normal API.
// Hashed files under assets/ are cached for a year (immutable), sent brotli- or gzip-compressed from
// the build's precompressed siblings when the browser accepts it; index.html and every other path
// (the single-page app's client-side routes fall back to index.html) are revalidated each time.
// Every response carries a Content-Security-Policy that allows only this origin. Files are streamed
// by @fastify/send (ETag, Last-Modified, conditional GETs, ranges), loaded at the first console
// request so servers start no slower for having a console.
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/errors.ts';

export const CONSOLE_PREFIX = '/console';

/** Only this origin: no inline script, no eval, no framing, no third-party requests. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const LONG_CACHE = 'public, max-age=31536000, immutable';

/** True for paths the console serves (they skip API authentication). */
export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`);
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

type Send = typeof import('@fastify/send').default;
let sendLib: Promise<Send> | undefined;
const loadSend = (): Promise<Send> => (sendLib ??= import('@fastify/send').then((m) => m.default));

/** Encodings the request accepts (a `q=0` refuses one), in the server's order of preference. */
export function acceptedEncodings(header: string | string[] | undefined): Array<'br' | 'gzip'> {
  const offered = new Map<string, boolean>();
  for (const part of String(header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    offered.set(name, !(q && Number(q.slice(2)) === 0));
  }
  return (['br', 'gzip'] as const).filter((e) => offered.get(e) ?? (offered.get('*') === true));
}

const EXT = { br: '.br', gzip: '.gz' } as const;

/**
 * Serves `dir` (the console build) at /console. When the console was not built, every console path
 * answers 404 in the error envelope saying how to build it.
 */
export async function registerConsoleRoutes(app: FastifyInstance, dir: string | undefined): Promise<void> {
  const root = dir ? resolve(dir) : undefined;

  /** Streams `rel` (inside the build) or its precompressed sibling. */
  const sendFile = async (req: FastifyRequest, reply: FastifyReply, build: string, rel: string, cacheControl: string) => {
    const send = await loadSend();
    let file = rel;
    let encoding: 'br' | 'gzip' | undefined;
    for (const enc of acceptedEncodings(req.headers['accept-encoding'])) {
      if (await isFile(resolve(build, rel + EXT[enc]))) {
        file = rel + EXT[enc];
        encoding = enc;
        break;
      }
    }
    const path = `/${file.split('/').map(encodeURIComponent).join('/')}`;
    const result = await send(req.raw, path, { root: build, cacheControl: false, index: false, dotfiles: 'deny', etag: true, lastModified: true });
    if (result.type !== 'file') {
      result.stream.destroy();
      throw new ApiError(404, 'not_found_error', `no console file ${CONSOLE_PREFIX}/${rel.slice(0, 200)}`);
    }
    reply.code(result.statusCode);
    reply.headers(result.headers);
    reply.header('cache-control', cacheControl);
    // The body depends on accept-encoding wherever a compressed sibling may exist.
    reply.header('vary', 'Accept-Encoding');
    if (encoding) {
      const type = send.mime.getType(rel) ?? 'application/octet-stream';
      reply.header('content-type', send.isUtf8MimeType(type) ? `${type}; charset=utf-8` : type);
      reply.header('content-encoding', encoding);
    }
    return reply.send(result.stream);
  };

  const serve = async (req: FastifyRequest, reply: FastifyReply, rel: string) => {
    securityHeaders(reply);
    if (!root || !(await isFile(resolve(root, 'index.html')))) {
      throw new ApiError(404, 'not_found_error', 'the console is not built: run `npm run build:console` (npm ci and npm test build it too)');
    }
    const target = resolve(root, rel);
    const inside = target === root || target.startsWith(root + sep);
    if (inside && rel !== '' && (await isFile(target))) {
      return sendFile(req, reply, root, rel, rel.startsWith('assets/') ? LONG_CACHE : 'no-cache');
    }
    // A missing hashed asset (a stale page after a rebuild) is a 404, not the HTML of index.html.
    if (rel.startsWith('assets/') || !inside) {
      throw new ApiError(404, 'not_found_error', `no console file ${CONSOLE_PREFIX}/${rel.slice(0, 200)}`);
    }
    return sendFile(req, reply, root, 'index.html', 'no-cache');
  };

  app.get('/console', async (req, reply) => serve(req, reply, ''));
  app.get<{ Params: { '*': string } }>('/console/*', async (req, reply) => serve(req, reply, req.params['*'] ?? ''));
}
