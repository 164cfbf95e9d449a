// The console's stream follower (src/stream.ts) against a real Hangar and the fake model upstream,
// run in Node (fetch, streams and TextDecoderStream are the browser's APIs there too): the history
// and the live events reach the timeline reducer once each, and when the server goes away and comes
// back on the same data dir and port, the follower reconnects, lists the history again and keeps
// following, without duplicates. The server kit is loaded by path (it is Node code, outside the
// console's type checking).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { follow } from '../src/stream.ts';
import { emptyTimeline, timelineReducer, type TimelineState } from '../src/timeline.ts';

type Any = any; // the server kit's types are not part of the console's program
const kitDir = new URL('../../test/kit/', import.meta.url).href;
const load = (name: string): Promise<Any> => import(/* @vite-ignore */ `${kitDir}${name}`);

let kit: Any;
let upKit: Any;
let up: Any;
let h: Any;
let dataDir: string;
let port: number;
const apiKey = `sk-console-stream-${Math.random().toString(36).slice(2)}${'0'.repeat(16)}`;
const realFetch = globalThis.fetch;
let base = '';

let client: Any;

/** Starts (or restarts) the server on the data dir and port, with the same API key each time. */
async function start(): Promise<void> {
  h = await kit.startHangar({ upstreamUrl: up.url, dataDir, env: { HANGAR_API_KEY: apiKey, HANGAR_PORT: String(port) } });
  const { default: Anthropic } = await import('@anthropic-ai/sdk');
  client = new Anthropic({ baseURL: h.url, apiKey, maxRetries: 0 });
}

beforeAll(async () => {
  kit = await load('hangar.ts');
  upKit = await load('fake-upstream.ts');
  up = await upKit.startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'pong' }] }));
  const { mkdtempSync } = await import(/* @vite-ignore */ 'node:fs');
  const { tmpdir } = await import(/* @vite-ignore */ 'node:os');
  dataDir = mkdtempSync(`${tmpdir()}/hangar-console-stream-`);
  port = 0;
  await start();
  port = Number(new URL(h.url).port);
  base = h.url;
  (globalThis as Any).sessionStorage = { store: new Map(), getItem(k: string) { return this.store.get(k) ?? null; }, setItem(k: string, v: string) { this.store.set(k, v); }, removeItem(k: string) { this.store.delete(k); } };
  (globalThis as Any).sessionStorage.setItem('hangar.console.apiKey', apiKey);
  globalThis.fetch = ((input: string, init?: RequestInit) => realFetch(new URL(input, base), init)) as typeof fetch;
}, 30_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  await h?.close();
  await up?.close();
  const { rmSync } = await import(/* @vite-ignore */ 'node:fs');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const say = (text: string) => ({ events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });

describe('stream follower', () => {
  it('merges history and live events once each, and survives a server restart', async () => {
    const c = client;
    const agent = await c.beta.agents.create({ name: 'streamer', model: 'claude-sonnet-4-6' });
    const env = await c.beta.environments.create({ name: 'stream-env' });
    const s = await c.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    // One turn before the follower starts: it must come from the history listing.
    const first = await c.beta.sessions.events.stream(s.id);
    await c.beta.sessions.events.send(s.id, say('before'));
    for await (const e of first) if (e.type === 'session.status_idle') break;
    first.controller.abort();

    let state: TimelineState = emptyTimeline();
    const states: string[] = [];
    const stop = follow({ sessionId: s.id }, {
      onHistory: (events) => { state = timelineReducer(state, { type: 'history', events }); },
      onEvent: (event) => { state = timelineReducer(state, { type: 'event', event }); },
      onState: (st, err) => { states.push(err ? `${st}(${err})` : st); },
    });
    try {
      const idles = () => state.events.filter((e) => e.type === 'session.status_idle').length;
      await until(() => idles() === 1 && states.includes('live'), 'the history');
      await c.beta.sessions.events.send(s.id, say('live one'));
      await until(() => idles() === 2, 'the live turn');

      // The server goes away (its streams end) and comes back on the same data dir and port.
      await h.close();
      await until(() => states.some((x) => x.startsWith('reconnecting')), 'the follower to notice');
      await start();
      await until(() => states.lastIndexOf('live') > states.findIndex((x) => x.startsWith('reconnecting')), `the follower to reconnect (${states.join(' ')})`);
      await client.beta.sessions.events.send(s.id, say('after restart'));
      await until(() => idles() === 3, 'the turn after the restart');

      const persisted = (await client.beta.sessions.events.list(s.id, { limit: 1000 })).data.map((e: Any) => e.id);
      expect(state.events.map((e) => e.id)).toEqual(persisted);
      expect(new Set(state.events.map((e) => e.id)).size).toBe(state.events.length);
      const texts = state.events.filter((e) => e.type === 'user.message').map((e) => e.content[0].text);
      expect(texts).toEqual(['before', 'live one', 'after restart']);
    } finally {
      stop();
    }
  }, 60_000);

  it('stops reporting once stopped, and reports a stream refused by the server', async () => {
    const events: unknown[] = [];
    const states: Array<[string, string | undefined]> = [];
    const stop = follow({ sessionId: 'sesn_does_not_exist_000000000' }, {
      onHistory: (e) => events.push(...e),
      onEvent: (e) => events.push(e),
      onState: (st, err) => { states.push([st, err]); },
    });
    await until(() => states.some(([st]) => st === 'ended'), 'the refusal');
    expect(states.find(([st]) => st === 'ended')![1]).toMatch(/not found|no session|sesn_does_not_exist/i);
    expect(events).toEqual([]);
    stop();
  });
});
