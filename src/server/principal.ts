// Who made a request: resolved from its bearer credential by the auth hook (app.ts) and attached to
// the request for the route modules.
import type { Principal } from '../domain/work.ts';

export type { Principal };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every authenticated request. */
    principal: Principal;
  }
}
