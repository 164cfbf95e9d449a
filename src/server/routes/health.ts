// Unauthenticated probes: `/health` and its alias `/healthz` say the process is up; `/readyz` says
// whether it can serve sessions now (store answers, tools can run), with the fix for each failure.
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../readiness.ts';

/** Paths served without an API key. */
export const PUBLIC_PATHS = new Set(['/health', '/healthz', '/readyz']);

export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness | undefined): void {
  const alive = async () => ({ status: 'ok' });
  app.get('/health', alive);
  app.get('/healthz', alive);
  app.get('/readyz', async (_req, reply) => {
    const checks = readiness ? await readiness() : {};
    const failed = Object.entries(checks).filter(([, c]) => !c.ok);
    if (failed.length === 0) return { status: 'ready', checks };
    reply.status(503);
    return { status: 'not_ready', checks, reasons: failed.map(([name, c]) => `${name}: ${c.reason}`) };
  });
}
