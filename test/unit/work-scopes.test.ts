// Which credential may call which route (src/server/scopes.ts).
import { describe, expect, it } from 'vitest';
import { authorize, authorizeEvents, type RouteRef } from '../../src/server/scopes.ts';
import type { Principal } from '../../src/domain/work.ts';
import { ApiError } from '../../src/protocol/errors.ts';

const api: Principal = { kind: 'api_key', workspaceId: 'wrkspc_default', keyId: 'key_1', role: 'admin', keyWorkspaceId: null };
const envKey: Principal = { kind: 'environment_key', workspaceId: 'wrkspc_default', environmentId: 'env_a', keyId: 'envkey_1' };
const token: Principal = { kind: 'session_token', workspaceId: 'wrkspc_default', sessionId: 'sesn_s', workId: 'work_w', environmentId: 'env_a' };

const route = (method: string, url: string | undefined, params: Record<string, string> = {}): RouteRef => ({ method, url, params });
const work = (suffix: string) => `/v1/environments/:id/work${suffix}`;

function allowed(p: Principal, r: RouteRef): boolean | number {
  try {
    authorize(p, r);
    return true;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('authorize', () => {
  it('lets API keys call ordinary routes but not the worker-only ones', () => {
    expect(allowed(api, route('GET', '/v1/agents'))).toBe(true);
    expect(allowed(api, route('POST', '/v1/environments/:id/keys', { id: 'env_a' }))).toBe(true);
    expect(allowed(api, route('GET', work('/:workId'), { id: 'env_a', workId: 'work_w' }))).toBe(true);
    expect(allowed(api, route('POST', work('/:workId/stop'), { id: 'env_a', workId: 'work_w' }))).toBe(true);
    expect(allowed(api, route('GET', work('/stats'), { id: 'env_a' }))).toBe(true);
    expect(allowed(api, route('GET', undefined))).toBe(true); // unknown path: the 404 handler answers
    expect(allowed(api, route('GET', work('/poll'), { id: 'env_a' }))).toBe(403);
    expect(allowed(api, route('GET', work(''), { id: 'env_a' }))).toBe(403);
    expect(allowed(api, route('POST', work('/:workId/ack'), { id: 'env_a', workId: 'work_w' }))).toBe(403);
    expect(allowed(api, route('POST', work('/:workId/heartbeat'), { id: 'env_a', workId: 'work_w' }))).toBe(403);
  });

  it('limits an environment key to its own environment’s queue', () => {
    const p = { id: 'env_a', workId: 'work_x' };
    for (const r of [route('GET', work('/poll'), p), route('HEAD', work('/poll'), p), route('GET', work(''), p),
      route('POST', work('/:workId/ack'), p), route('POST', work('/:workId/heartbeat'), p), route('POST', work('/:workId/stop'), p)]) {
      expect(allowed(envKey, r)).toBe(true);
    }
    expect(allowed(envKey, route('GET', work('/poll'), { id: 'env_b' }))).toBe(403);
    expect(allowed(envKey, route('GET', work('/:workId'), p))).toBe(403);
    expect(allowed(envKey, route('GET', work('/stats'), p))).toBe(403);
    expect(allowed(envKey, route('GET', '/v1/sessions/:id', { id: 'sesn_s' }))).toBe(403);
    expect(allowed(envKey, route('POST', '/v1/environments/:id/keys', { id: 'env_a' }))).toBe(403);
    expect(allowed(envKey, route('GET', undefined))).toBe(403);
  });

  it('limits a session token to its work item and its session', () => {
    const own = { id: 'env_a', workId: 'work_w' };
    expect(allowed(token, route('POST', work('/:workId/ack'), own))).toBe(true);
    expect(allowed(token, route('POST', work('/:workId/heartbeat'), own))).toBe(true);
    expect(allowed(token, route('POST', work('/:workId/stop'), own))).toBe(true);
    expect(allowed(token, route('GET', '/v1/sessions/:id', { id: 'sesn_s' }))).toBe(true);
    expect(allowed(token, route('GET', '/v1/sessions/:id/events', { id: 'sesn_s' }))).toBe(true);
    expect(allowed(token, route('POST', '/v1/sessions/:id/events', { id: 'sesn_s' }))).toBe(true);
    expect(allowed(token, route('GET', '/v1/sessions/:id/events/stream', { id: 'sesn_s' }))).toBe(true);

    expect(allowed(token, route('POST', work('/:workId/heartbeat'), { id: 'env_a', workId: 'work_other' }))).toBe(403);
    expect(allowed(token, route('POST', work('/:workId/heartbeat'), { id: 'env_b', workId: 'work_w' }))).toBe(403);
    expect(allowed(token, route('GET', work('/poll'), { id: 'env_a' }))).toBe(403);
    expect(allowed(token, route('GET', work('/:workId'), own))).toBe(403);
    expect(allowed(token, route('GET', '/v1/sessions/:id', { id: 'sesn_other' }))).toBe(403);
    expect(allowed(token, route('POST', '/v1/sessions/:id/events', { id: 'sesn_other' }))).toBe(403);
    expect(allowed(token, route('POST', '/v1/sessions/:id', { id: 'sesn_s' }))).toBe(403);
    expect(allowed(token, route('DELETE', '/v1/sessions/:id', { id: 'sesn_s' }))).toBe(403);
    expect(allowed(token, route('GET', '/v1/sessions'))).toBe(403);
    expect(allowed(token, route('GET', '/v1/agents'))).toBe(403);
  });

  it('answers with permission_error', () => {
    try {
      authorize(token, route('GET', '/v1/agents'));
      expect.unreachable();
    } catch (err) {
      expect((err as ApiError).toEnvelope('req_1').error.type).toBe('permission_error');
    }
  });

  it('lets a session token send only tool results; user input, confirmations, interrupts and outcomes need an API key', () => {
    const sends = (p: Principal, types: string[]) => allowed(p, route('POST', '/v1/sessions/:id/events', { id: 'sesn_s' })) === true && (() => {
      try {
        authorizeEvents(p, types);
        return true;
      } catch (err) {
        return (err as ApiError).status;
      }
    })();
    expect(sends(token, ['user.tool_result'])).toBe(true);
    expect(sends(token, ['user.custom_tool_result', 'user.tool_result'])).toBe(true);
    for (const t of ['user.message', 'user.tool_confirmation', 'user.interrupt', 'user.define_outcome']) {
      expect(sends(token, [t])).toBe(403);
      expect(sends(token, ['user.tool_result', t])).toBe(403);
      expect(sends(api, [t])).toBe(true);
    }
  });
});
