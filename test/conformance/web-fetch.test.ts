// web_fetch through the official SDK against a live Hangar in its production wiring (no test
// allowance): the SSRF guard refuses loopback, private, link-local and metadata targets — however
// they are spelled — before anything is sent, the refusal reaches the model as an error result, and
// every call counts in `usage.server_tool_use.web_fetch_requests`; `blocked_domains` /
// `allowed_domains` from the agent's toolset config refuse domains on the same path.
//
// The happy path (a page fetched from a local server, HTML converted, redirects re-checked, size
// caps, domain filters on a reachable host) needs the test-only allowance of the guarded fetcher,
// which production config cannot set; it is covered in test/web/web-fetch.test.ts and
// test/web/guarded-fetch.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { loadConfig } from '../../src/server/config.ts';
import { startLocalServer, type LocalServer } from '../web/local-server.ts';
import {
  isType, newSession, resultText, sandboxDir, startRig, toolTurn, toolUse, toolset, TOOL_WAIT_MS, type Ev, type Rig,
} from './helpers.ts';

let rig: Rig;
let client: Anthropic;
let local: LocalServer;

beforeAll(async () => {
  rig = await startRig();
  client = rig.client;
  local = await startLocalServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>internal secret page</h1></body></html>');
  });
});
beforeEach(() => rig.up.reset());
afterAll(async () => {
  await local?.close();
  await rig?.close();
});

const offeredNames = (body: any): string[] => ((body.tools ?? []) as Array<{ name: string }>).map((t) => t.name);

async function webFetchCounts(sessionId: string) {
  const s = await client.beta.sessions.retrieve(sessionId);
  return (s.usage as unknown as { server_tool_use?: { web_fetch_requests?: number; web_search_requests?: number } | null }).server_tool_use ?? null;
}

/** Runs one turn in which the model calls web_fetch once per URL (all in one response). */
async function fetchTurn(sessionId: string, urls: string[]) {
  const t = await toolTurn(rig, sessionId, [urls.map((url) => toolUse('web_fetch', { url }))], { timeoutMs: TOOL_WAIT_MS * 2 });
  expect(t.uses).toHaveLength(urls.length);
  return urls.map((url, i) => {
    const use = t.uses[i];
    expect(use).toMatchObject({ name: 'web_fetch', input: { url }, evaluated_permission: 'allow' });
    const result = t.resultFor(use);
    expect(result, `a result for ${url}`).toBeDefined();
    return { url, use, result: result as Ev, text: resultText(result as Ev), turn: t };
  });
}

describe('web_fetch SSRF guard (production wiring)', () => {
  it('refuses a loopback target: an error result saying it was refused, the local server gets nothing, and the call is counted', async () => {
    const s = await newSession(rig, { tools: [toolset()] });
    expect(await webFetchCounts(s.id)).toBeNull();
    const url = `${local.origin}/page`;
    const [r] = await fetchTurn(s.id, [url]);

    expect(offeredNames(r.turn.requests[0].body)).toContain('web_fetch');
    expect(r.result).toMatchObject({ type: 'agent.tool_result', tool_use_id: r.use.id, is_error: true });
    expect(r.text).toContain(`Fetching ${url} was refused: 127.0.0.1 is a loopback, private, link-local or reserved address.`);
    expect(r.text).not.toContain('internal secret page');
    expect(local.requests).toEqual([]);
    // The model got the same refusal as its tool_result, and the turn ended normally.
    const block = (r.turn.requests[1].body.messages as Array<{ content: any }>).flatMap((m) => (Array.isArray(m.content) ? m.content : []))
      .find((b: any) => b.type === 'tool_result');
    expect(block).toMatchObject({ is_error: true });
    expect(resultText(block)).toMatch(/refused/i);
    expect(r.turn.turn.at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
    // web_fetch runs in Hangar, not in a sandbox.
    expect(existsSync(sandboxDir(rig, s.id))).toBe(false);

    expect(await webFetchCounts(s.id)).toMatchObject({ web_fetch_requests: 1, web_search_requests: 0 });
    await fetchTurn(s.id, [url]);
    expect(await webFetchCounts(s.id)).toMatchObject({ web_fetch_requests: 2 });
    expect(local.requests).toEqual([]);
  });

  it('refuses every spelling of loopback, unspecified, private, link-local and metadata addresses', async () => {
    const p = local.port;
    const urls = [
      `http://localhost:${p}/page`, // resolves to loopback
      `http://127.1:${p}/page`,
      `http://2130706433:${p}/page`, // decimal 127.0.0.1
      `http://0x7f000001:${p}/page`,
      `http://[::ffff:127.0.0.1]:${p}/page`, // IPv4-mapped IPv6
      `http://[::1]:${p}/page`,
      `http://0.0.0.0:${p}/page`, // reaches local listeners on Linux
      `http://10.0.0.1:${p}/page`,
      `http://192.168.1.1/page`,
      `http://169.254.169.254/latest/meta-data/`, // cloud metadata
      'http://metadata.google.internal/computeMetadata/v1/',
    ];
    const s = await newSession(rig, { tools: [toolset()] });
    const results = await fetchTurn(s.id, urls);
    for (const r of results) {
      expect(r.result.is_error, r.url).toBe(true);
      // A refusal by the guard (not a failed connection, whose text could also say "refused").
      expect(r.text, r.url).toMatch(/was refused: .*(loopback, private, link-local or reserved address|cloud-metadata or internal-only name)/);
    }
    expect(local.requests).toEqual([]);
    expect(await webFetchCounts(s.id)).toMatchObject({ web_fetch_requests: urls.length });
  });

  it('has no production setting that allows private targets', () => {
    // Config keys come only from loadConfig; none of them maps to the guard's test allowance.
    const config = loadConfig({ HANGAR_DATA_DIR: '/tmp/unused', HANGAR_API_KEY: 'k'.repeat(32), ANTHROPIC_API_KEY: 'x' });
    // Two documented opt-ins belong to other guards (host-side repository clones, package layer
    // builds); both are off by default and never reach web_fetch's guard.
    const otherGuards = ['gitAllowPrivate', 'packageRegistryAllowPrivate'] as const;
    for (const k of otherGuards) expect(config[k], k).toBe(false);
    expect(Object.keys(config).filter((k) => /private|unsafe|allowance|ssrf/i.test(k) && !(otherGuards as readonly string[]).includes(k))).toEqual([]);
    // Only the guard itself (and the sandbox egress gate it shares) knows the allowance exists.
    const root = join(import.meta.dirname, '../../src');
    const files = (function walk(dir: string): string[] {
      return readdirSync(dir).flatMap((n) => {
        const p = join(dir, n);
        return statSync(p).isDirectory() ? walk(p) : [p];
      });
    })(root).filter((f) => f.endsWith('.ts'));
    const mentions = files.filter((f) => /unsafeAllowPrivate/.test(readFileSync(f, 'utf8'))).map((f) => f.slice(root.length + 1)).sort();
    expect(mentions.every((f) => f.startsWith('adapters/net-guard/') || f.startsWith('adapters/egress-proxy/')), mentions.join(', ')).toBe(true);
  });
});

describe('web_fetch domain filters from the agent toolset config', () => {
  it('blocked_domains refuses the domain and its subdomains before any lookup, and counts the calls', async () => {
    const tools = [toolset({ configs: [{ name: 'web_fetch', blocked_domains: ['example.com'] } as never] })];
    const agent = await client.beta.agents.create({ name: `wf-${Math.random().toString(36).slice(2)}`, model: 'claude-sonnet-4-6', tools: tools as never });
    const cfg = (agent.tools[0] as { configs: Array<Record<string, any>> }).configs.find((c) => c.name === 'web_fetch');
    expect(cfg).toMatchObject({ name: 'web_fetch', blocked_domains: ['example.com'] });

    const s = await newSession(rig, { agent: agent.id });
    const results = await fetchTurn(s.id, ['https://example.com/', 'http://docs.example.com/guide', 'https://EXAMPLE.com./x']);
    for (const r of results) {
      expect(r.result.is_error, r.url).toBe(true);
      expect(r.text, r.url).toMatch(/was refused: .*example\.com is in blocked_domains/);
    }
    expect(await webFetchCounts(s.id)).toMatchObject({ web_fetch_requests: 3 });
  });

  it('allowed_domains refuses everything else (and a loopback address is refused even when it is the allowed "domain")', async () => {
    const tools = [toolset({ configs: [{ name: 'web_fetch', allowed_domains: ['example.org', '127.0.0.1'] } as never] })];
    const s = await newSession(rig, { tools });
    const [other, loop] = await fetchTurn(s.id, ['https://example.com/', `${local.origin}/page`]);
    expect(other.result.is_error).toBe(true);
    expect(other.text).toMatch(/not in allowed_domains/);
    expect(loop.result.is_error).toBe(true);
    expect(loop.text).toMatch(/was refused: 127\.0\.0\.1 is a loopback/);
    expect(local.requests).toEqual([]);
    expect(await webFetchCounts(s.id)).toMatchObject({ web_fetch_requests: 2 });
  });
});
