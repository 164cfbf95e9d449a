// `npm run bench -- console`: the web console's figures in Debian's Chromium (playwright-core)
// against an in-process Hangar serving the built console/dist, with the fake model upstream.
// Printed, never asserted: the bundle's size (raw, gzip, brotli); a cold-cache first load of the
// sessions list (bytes transferred, time from navigation start to the first session row); a warm
// reload; time to the first timeline event of a session with history; live latency (SDK send →
// the row in the page); and frame rate while the timeline takes ~200 streamed events per second.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { startHangar, type TestHangar } from '../test/kit/hangar.ts';
import { CHROMIUM, launchChromium } from '../test/kit/browser.ts';
import { MODEL, summarize, userMessage } from './lib.ts';

const DIST = fileURLToPath(new URL('../console/dist/', import.meta.url));
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export interface ConsoleBenchOptions {
  /** Cold-cache loads of the sessions list. */
  loads: number;
  /** Sessions in the list. */
  sessions: number;
  /** Turns of history on the session whose first timeline event is timed. */
  historyTurns: number;
  /** Live turns timed from the SDK's send to the row in the page. */
  liveTurns: number;
  /** Streamed turns during which frames are counted (each ~225 deltas 3 ms apart). */
  streamTurns: number;
}

function bundle(): void {
  const files: Array<{ name: string; raw: number; gz: number; br: number }> = [];
  const walk = (dir: string, prefix = '') => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else if (!/\.(br|gz)$/.test(name)) {
        const data = readFileSync(p);
        files.push({ name: `${prefix}${name}`, raw: data.length, gz: gzipSync(data, { level: 9 }).length, br: brotliCompressSync(data).length });
      }
    }
  };
  walk(DIST);
  console.log('\nconsole bundle (console/dist)');
  for (const f of files) console.log(`  ${f.name}: ${kb(f.raw)} raw, ${kb(f.gz)} gzip, ${kb(f.br)} brotli`);
  const sum = (k: 'raw' | 'gz' | 'br') => files.reduce((a, f) => a + f[k], 0);
  console.log(`  total: ${kb(sum('raw'))} raw, ${kb(sum('gz'))} gzip, ${kb(sum('br'))} brotli (the build writes .br/.gz siblings; the server sends the one the browser accepts)`);
}

/** Records, in the page, when elements matching each selector first appear (performance.now()) and when rows with an id appear (Date.now()). */
const OBSERVER = `(() => {
  const firsts = {}; const rows = {};
  window.__bench = { firsts, rows };
  const watch = ${JSON.stringify({ list: 'tr[data-session]', timeline: 'ol.timeline > li' })};
  new MutationObserver(() => {
    for (const [k, sel] of Object.entries(watch)) if (!(k in firsts) && document.querySelector(sel)) firsts[k] = performance.now();
    for (const li of document.querySelectorAll('ol.timeline > li[data-id]')) { const id = li.getAttribute('data-id'); if (id && !(id in rows)) rows[id] = Date.now(); }
  }).observe(document, { childList: true, subtree: true });
})();`;

async function context(browser: Browser, h: TestHangar): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(`sessionStorage.setItem('hangar.console.apiKey', ${JSON.stringify(h.apiKey)});`);
  await ctx.addInitScript(OBSERVER);
  return ctx;
}

const firsts = (page: Page) => page.evaluate(() => (window as unknown as { __bench: { firsts: Record<string, number> } }).__bench.firsts);

async function coldLoad(browser: Browser, h: TestHangar): Promise<{ ms: number; staticBytes: number; apiBytes: number; warmMs: number; warmStaticBytes: number }> {
  const ctx = await context(browser, h);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  const urls = new Map<string, string>();
  let staticBytes = 0;
  let apiBytes = 0;
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId) ?? '';
    if (url.includes('/v1/')) apiBytes += e.encodedDataLength;
    else staticBytes += e.encodedDataLength;
  });
  await page.goto(`${h.url}/console/sessions`);
  await page.locator('tr[data-session]').first().waitFor();
  const ms = (await firsts(page)).list;
  const cold = { staticBytes, apiBytes };
  staticBytes = 0;
  await page.reload();
  await page.locator('tr[data-session]').first().waitFor();
  const warmMs = (await firsts(page)).list;
  const result = { ms, ...cold, warmMs, warmStaticBytes: staticBytes };
  await ctx.close();
  return result;
}

export async function benchConsole(opts: ConsoleBenchOptions): Promise<void> {
  if (!existsSync(join(DIST, 'index.html'))) {
    console.log('\nconsole: skipped (console/dist is not built: npm run build:console)');
    return;
  }
  console.log(`\nconsole (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores: browser timings grow with it)`);
  bundle();
  if (!existsSync(CHROMIUM)) {
    console.log(`\nconsole browser figures: skipped (${CHROMIUM} is missing: apt-get install chromium)`);
    return;
  }
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const h = await startHangar({ upstreamUrl: up.url, overrides: { consoleDir: DIST } });
  const browser = await launchChromium();
  try {
    const c = h.client;
    const agent = await c.beta.agents.create({ name: 'bench-console', model: MODEL });
    const env = await c.beta.environments.create({ name: 'bench-console' });
    const ids: string[] = [];
    for (let i = 0; i < opts.sessions; i++) ids.push((await c.beta.sessions.create({ agent: agent.id, environment_id: env.id, title: `bench ${i}` })).id);

    const loads = [];
    for (let i = 0; i < opts.loads; i++) loads.push(await coldLoad(browser, h));
    const cold = summarize(loads.map((l) => l.ms));
    const warm = summarize(loads.map((l) => l.warmMs));
    console.log(`\nconsole first load (cold cache, ${opts.loads} loads, ${opts.sessions} sessions in the list)`);
    console.log(`  transferred: ${kb(loads[0].staticBytes)} static (html, js, css) + ${kb(loads[0].apiBytes)} API`);
    console.log(`  navigation start → first session row: p50 ${cold.p50.toFixed(0)} ms, max ${cold.max.toFixed(0)} ms`);
    console.log(`  warm reload: p50 ${warm.p50.toFixed(0)} ms, static bytes re-fetched ${kb(loads[0].warmStaticBytes)} (hashed assets are immutable; index.html revalidates)`);

    // A session with history: time to the first row, and to the whole history.
    const sid = ids[0];
    for (let i = 0; i < opts.historyTurns; i++) {
      const stream = await c.beta.sessions.events.stream(sid);
      await c.beta.sessions.events.send(sid, userMessage(`turn ${i}`));
      for await (const e of stream) if (e.type === 'session.status_idle') break;
      stream.controller.abort();
    }
    const history = (await c.beta.sessions.events.list(sid, { limit: 1000 })).data.length;
    const firstEvent: number[] = [];
    for (let i = 0; i < opts.loads; i++) {
      const ctx = await context(browser, h);
      const page = await ctx.newPage();
      await page.goto(`${h.url}/console/sessions/${sid}`);
      await page.locator('ol.timeline > li').first().waitFor();
      firstEvent.push((await firsts(page)).timeline);
      if (i === 0) {
        const timings = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => {
          const t = r as PerformanceResourceTiming;
          return `${new URL(t.name).pathname.replace(/sesn_\w+/, 'sesn_…')} ${t.startTime.toFixed(0)}→${t.responseEnd.toFixed(0)} ms`;
        }));
        console.log(`  requests of the first load: ${timings.join('; ')}`);
      }
      await ctx.close();
    }
    const fe = summarize(firstEvent);
    console.log(`\nconsole session page (${history} events of history, fresh tab each time)`);
    console.log(`  navigation start → first timeline event: p50 ${fe.p50.toFixed(0)} ms, max ${fe.max.toFixed(0)} ms`);

    // Live: SDK send → the echoed user.message and the agent's answer appear in the page.
    const ctx = await context(browser, h);
    const page = await ctx.newPage();
    await page.goto(`${h.url}/console/sessions/${ids[1]}`);
    await page.locator('[data-conn="live"]').waitFor();
    const echo: number[] = [];
    for (let i = 0; i < opts.liveTurns; i++) {
      const t0 = Date.now();
      const sent = (await c.beta.sessions.events.send(ids[1], userMessage(`live ${i}`))).data![0];
      await page.locator(`li[data-id="${sent.id}"]`).waitFor();
      await page.locator('li[data-type="session.status_idle"]').nth(i).waitFor();
      const at = await page.evaluate((id) => (window as unknown as { __bench: { rows: Record<string, number> } }).__bench.rows[id], sent.id);
      echo.push(at - t0);
    }
    const live = summarize(echo);
    console.log(`  live: SDK send → the event's row in the page: p50 ${live.p50.toFixed(0)} ms, p99 ${live.p99.toFixed(0)} ms (${opts.liveTurns} turns)`);

    // Frames while ~200 deltas/s stream in: a long answer in ~225 chunks 3 ms apart (plus Hangar's own time), per turn.
    up.setResponder(() => ({ content: [{ type: 'text', text: 'streamed words '.repeat(120) }], chunkDelayMs: 3 }));
    await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __stop: boolean };
      w.__frames = [];
      w.__stop = false;
      const tick = (t: number) => {
        w.__frames.push(t);
        if (!w.__stop) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const sdkStream = await c.beta.sessions.events.stream(ids[1], { event_deltas: ['agent.message'] } as never);
    let deltas = 0;
    let firstDelta = 0;
    let lastDelta = 0;
    const counting = (async () => {
      let idles = 0;
      for await (const e of sdkStream) {
        if (e.type === ('event_delta' as string)) {
          deltas++;
          lastDelta = performance.now();
          firstDelta ||= lastDelta;
        }
        if (e.type === 'session.status_idle' && ++idles === opts.streamTurns) break;
      }
    })();
    const idleBefore = await page.locator('li[data-type="session.status_idle"]').count();
    for (let i = 0; i < opts.streamTurns; i++) {
      await c.beta.sessions.events.send(ids[1], userMessage(`stream ${i}`));
      await page.locator('li[data-type="session.status_idle"]').nth(idleBefore + i).waitFor({ timeout: 60_000 });
    }
    await counting;
    sdkStream.controller.abort();
    const frames = await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __stop: boolean };
      w.__stop = true;
      return w.__frames;
    });
    const gaps = frames.slice(1).map((t, i) => t - frames[i]);
    const g = summarize(gaps);
    const span = (frames.at(-1)! - frames[0]) / 1000;
    const perSecond: number[] = [];
    for (let s = frames[0]; s + 1000 <= frames.at(-1)!; s += 1000) perSecond.push(frames.filter((t) => t >= s && t < s + 1000).length);
    const rate = deltas / Math.max(0.001, (lastDelta - firstDelta) / 1000);
    console.log(`\nconsole timeline under a stream (${opts.streamTurns} turns, ${deltas} deltas at ${rate.toFixed(0)} events/s as an SDK client saw them)`);
    console.log(`  frames: ${(frames.length / span).toFixed(1)} fps mean, lowest 1-s window ${Math.min(...perSecond)} fps (target ≥ 30), frame gap p50 ${g.p50.toFixed(1)} ms, p99 ${g.p99.toFixed(1)} ms, max ${g.max.toFixed(1)} ms`);
    console.log('  (headless Chromium without a GPU paces frames itself; compare runs on the same machine)');
    await ctx.close();
  } finally {
    await browser.close();
    await h.close();
    await up.close();
  }
}
