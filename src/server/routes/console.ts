// The web console (console/, built by Vite into console/dist/) served at /console without an API key:
// the static files hold no data, the console signs in with an API key and calls the normal API.
// Hashed files under assets/ are cached for a year (immutable), sent brotli- or gzip-compressed from
// the build's precompressed siblings when the browser accepts it; index.html and every other path
// (the single-page app's client-side routes fall back to index.html) are revalidated each time.
// Every response carries a Content-Security-Policy that allows only this origin.
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
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

/**
 * Serves `dir` (the console build) at /console. When the console was not built, every console path
 * answers 404 in the error envelope saying how to build it.
 */
export async function registerConsoleRoutes(app: FastifyInstance, dir: string | undefined): Promise<void> {
  const root = dir ? resolve(dir) : undefined;
  if (root) {
    // Loaded only when there is a console to serve (start-up time of servers without one).
    const { default: fastifyStatic } = await import('@fastify/static');
    // preCompressed: the build writes .br/.gz siblings (console/build.mjs); browsers that accept one get it.
    await app.register(fastifyStatic, { root, serve: false, cacheControl: false, etag: true, lastModified: true, preCompressed: true });
  }

  const serve = async (rel: string, reply: FastifyReply) => {
    securityHeaders(reply);
    if (!root || !(await isFile(resolve(root, 'index.html')))) {
      throw new ApiError(404, 'not_found_error', 'the console is not built: run `npm run build:console` (npm ci and npm test build it too)');
    }
    const target = resolve(root, rel);
    const inside = target === root || target.startsWith(root + sep);
    if (inside && rel !== '' && (await isFile(target))) {
      reply.header('cache-control', rel.startsWith('assets/') ? LONG_CACHE : 'no-cache');
      return reply.sendFile(rel);
    }
    // A missing hashed asset (a stale page after a rebuild) is a 404, not the HTML of index.html.
    if (rel.startsWith('assets/') || !inside) {
      throw new ApiError(404, 'not_found_error', `no console file ${CONSOLE_PREFIX}/${rel.slice(0, 200)}`);
    }
    reply.header('cache-control', 'no-cache');
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  };

  app.get('/console', async (_req, reply) => serve('', reply));
  app.get<{ Params: { '*': string } }>('/console/*', async (req, reply) => serve(req.params['*'] ?? '', reply));
}
