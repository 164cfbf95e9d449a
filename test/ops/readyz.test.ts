// `GET /readyz`: 200 when the store answers and built-in tools can run; 503 naming each failed
// check with its fix otherwise. `/health` and `/healthz` only say the process is up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { startHangar, type TestHangar } from '../kit/hangar.ts';
import { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import type { SandboxProvider } from '../../src/ports/sandbox.ts';
import { requestLogLevel } from '../../src/server/request-log.ts';

/** A provider whose sandboxes always work (readiness only asks `unavailableReason`). */
const workingProvider: SandboxProvider = {
  unavailableReason: () => undefined,
  provision: async () => {
    throw new Error('not used by these tests');
  },
};

describe('/readyz', () => {
  let ready: TestHangar;
  let missingBwrap: TestHangar;

  beforeAll(async () => {
    ready = await startHangar({ overrides: { sandboxProvider: workingProvider } });
    missingBwrap = await startHangar({
      overrides: { sandboxProvider: new BwrapSandboxProvider({ stateDir: '/tmp/hangar-readyz-missing-bwrap', bwrapPath: '/nonexistent/bwrap' }) },
    });
  });
  afterAll(async () => {
    await ready?.close();
    await missingBwrap?.close();
  });

  it('is 200 "ready" with every check ok, without an API key', async () => {
    const r = await fetch(`${ready.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', checks: { store: { ok: true }, sandbox: { ok: true } } });
  });

  it('is 503 with the reason and the fix when the sandbox is unavailable, while /health and /healthz stay 200', async () => {
    const r = await fetch(`${missingBwrap.url}/readyz`);
    expect(r.status).toBe(503);
    const body = await r.json();
    expect(body.status).toBe('not_ready');
    expect(body.checks.store).toEqual({ ok: true });
    expect(body.checks.sandbox.ok).toBe(false);
    expect(body.checks.sandbox.reason).toMatch(/^sandbox \(bwrap\) unavailable, built-in tools will fail: .*install it with: apt-get install bubblewrap$/);
    expect(body.reasons).toEqual([`sandbox: ${body.checks.sandbox.reason}`]);
    for (const path of ['/health', '/healthz']) {
      const h = await fetch(`${missingBwrap.url}${path}`);
      expect(h.status, path).toBe(200);
      expect(await h.json()).toEqual({ status: 'ok' });
    }
  });

  it('is 503 naming the store when the database does not answer', async () => {
    const h = await startHangar({ overrides: { sandboxProvider: workingProvider } });
    try {
      await h.hangar.store.close();
      const r = await fetch(`${h.url}/readyz`);
      expect(r.status).toBe(503);
      const body = await r.json();
      expect(body.checks.sandbox).toEqual({ ok: true });
      expect(body.checks.store.ok).toBe(false);
      expect(body.checks.store.reason).toMatch(/^the store does not answer \(.+\); check the data directory/);
    } finally {
      await h.hangar.app.close();
      await h.hangar.harness.stop();
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  });

  it('other routes still need an API key', async () => {
    const r = await fetch(`${ready.url}/v1/agents`);
    expect(r.status).toBe(401);
    const q = await fetch(`${ready.url}/v1/agents?x=/readyz`);
    expect(q.status).toBe(401);
  });
});

describe('request log levels', () => {
  it('keeps probes and empty work polls at debug, everything else at info', () => {
    expect(requestLogLevel('/readyz', 200)).toBe('debug');
    expect(requestLogLevel('/healthz', 200)).toBe('debug');
    expect(requestLogLevel('/readyz', 503)).toBe('info');
    expect(requestLogLevel('/v1/environments/:id/work/poll', 204)).toBe('debug');
    expect(requestLogLevel('/v1/environments/:id/work/poll', 200)).toBe('info');
    expect(requestLogLevel('/v1/sessions', 200)).toBe('info');
  });
});
