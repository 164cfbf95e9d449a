// Shared by the workspace tests: SDK clients for keys made through the API-key extension, and the
// routes the server registers (read from its route modules, as api-fuzz does).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { TestHangar } from '../kit/hangar.ts';

export interface CreatedKey {
  id: string;
  key: string;
  name: string;
  role: string;
  status: string;
  scope: { type: 'organization' } | { type: 'workspace'; workspace_id: string };
  expires_at: string | null;
  last_used_at: string | null;
  partial_key_hint: string | null;
}

/** `POST /v1/organizations/api_keys` (Hangar's extension; the SDK has no create method). */
export function createKey(client: Anthropic, body: { name: string; workspace_id?: string | null; role?: string; expires_at?: string | null }): Promise<CreatedKey> {
  return client.post('/v1/organizations/api_keys', { body });
}

export function clientFor(h: TestHangar, apiKey: string, workspaceId?: string): Anthropic {
  return new Anthropic({
    baseURL: h.url, apiKey, maxRetries: 0, timeout: 20_000,
    defaultHeaders: workspaceId ? { 'anthropic-workspace-id': workspaceId } : undefined,
  });
}

/** Every `app.get|post|delete('/path')` the server registers, as `METHOD /pattern/:param`. */
export function registeredRoutes(): Array<{ method: string; url: string }> {
  const dir = join(import.meta.dirname, '../../src/server');
  const sources = [join(dir, 'app.ts'), ...readdirSync(join(dir, 'routes')).map((f) => join(dir, 'routes', f))];
  return sources.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/app\.(get|post|delete|put|patch)(?:<[^>]*>)?\(\s*'([^']+)'/g)]
    .map((m) => ({ method: m[1].toUpperCase(), url: m[2] })));
}

/** A raw request (so any route, any status, can be checked); returns status and parsed body. */
export async function call(h: TestHangar, key: string, method: string, path: string, opts: { workspace?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (opts.workspace) headers['anthropic-workspace-id'] = opts.workspace;
  let body: string | undefined;
  if (method !== 'GET' && method !== 'DELETE') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body ?? {});
  }
  const res = await fetch(`${h.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  const text = path.endsWith('/stream') && res.status === 200 ? '' : await res.text();
  if (path.endsWith('/stream') && res.status === 200) await res.body?.cancel();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}
