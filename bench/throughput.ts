// Throughput: open-loop arrivals of one-turn sessions at fixed rates against a built Hangar child
// process. Each arrival = create session + open stream + send user.message + wait for
// agent.message, started on schedule whether or not earlier ones finished (so queueing shows).
// Server CPU comes from the child's /proc stat; its event-loop delay from a preloaded probe.
import Anthropic from '@anthropic-ai/sdk';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startFakeUpstream } from '../test/kit/fake-upstream.ts';
import { BENCH_API_KEY, BUILT_ENTRY, cpuMs, listenOverflows, loadNote, runQueueWaitMs, requireFreshBuild, spawnServer, type ChildServer } from './child-server.ts';
import { EventTap, sessionFactory, summarize, userMessage } from './lib.ts';

export interface ThroughputOptions {
  rates: number[];
  seconds: number;
  turnTimeoutMs: number;
}

type Eld = { p50: number; p99: number; max: number };

function serverEld(s: ChildServer, msg: 'eld-reset' | 'eld-read'): Promise<Eld | undefined> {
  return new Promise((resolve) => {
    if (msg === 'eld-reset') {
      s.child.send(msg);
      resolve(undefined);
      return;
    }
    s.child.once('message', (m) => resolve(m as Eld));
    s.child.send(msg);
  });
}

export async function benchThroughput(opts: ThroughputOptions): Promise<void> {
  requireFreshBuild();
  const up = await startFakeUpstream();
  up.setResponder(() => ({ content: [{ type: 'text', text: 'ok' }] }));
  const probe = fileURLToPath(new URL('./eld-probe.ts', import.meta.url));
  const s = await spawnServer({ entry: BUILT_ENTRY, env: { ANTHROPIC_BASE_URL: up.url }, nodeFlags: ['--import', probe], ipc: true });
  const client = new Anthropic({ baseURL: s.url, apiKey: BENCH_API_KEY, maxRetries: 0, timeout: 60_000 });
  const clientEld = monitorEventLoopDelay({ resolution: 10 });
  clientEld.enable();
  console.log(`\nthroughput (open loop, ${opts.seconds} s per rate; server = child process node ${BUILT_ENTRY.join(' ')}, ` +
    'CPU from /proc, event-loop delay from a probe inside it; client and fake upstream share this process)');
  const best: number[] = [];
  try {
    const newSession = await sessionFactory(client);
    // Warm-up: a few sessions so JIT and connection setup are not billed to the first rate.
    for (let i = 0; i < 20; i++) await arrival(client, newSession, opts.turnTimeoutMs);
    for (const rate of opts.rates) {
      const n = Math.round(rate * opts.seconds);
      const sendLat: number[] = [];
      const sinceArrival: number[] = [];
      let failed = 0;
      let firstError = '';
      let lastDone = 0;
      const inflight: Promise<void>[] = [];
      await serverEld(s, 'eld-reset');
      clientEld.reset();
      const cpu0 = cpuMs(s.pid);
      const wait0 = runQueueWaitMs(s.pid);
      const overflow0 = listenOverflows();
      const clientCpu0 = process.cpuUsage();
      const t0 = performance.now() + 20;
      let i = 0;
      let maxLag = 0;
      await new Promise<void>((resolve) => {
        const tick = () => {
          const now = performance.now();
          while (i < n && t0 + (i * 1000) / rate <= now) {
            const scheduled = t0 + (i * 1000) / rate;
            maxLag = Math.max(maxLag, now - scheduled);
            inflight.push(arrival(client, newSession, opts.turnTimeoutMs).then((r) => {
              sendLat.push(r.sendToMessage);
              sinceArrival.push(r.doneAt - scheduled);
              lastDone = Math.max(lastDone, r.doneAt);
            }, (err: Error) => {
              failed++;
              firstError ||= err.message;
            }));
            i++;
          }
          if (i < n) setTimeout(tick, Math.max(0, t0 + (i * 1000) / rate - performance.now()));
          else resolve();
        };
        tick();
      });
      await Promise.all(inflight);
      const wall = (Math.max(lastDone, performance.now()) - t0) / 1000;
      const serverCpu = cpuMs(s.pid) - cpu0;
      const serverWait = runQueueWaitMs(s.pid) - wait0;
      const overflows = listenOverflows() - overflow0;
      const clientCpu = process.cpuUsage(clientCpu0);
      const eld = await serverEld(s, 'eld-read');
      const a = summarize(sendLat);
      const b = summarize(sinceArrival);
      const ok = sendLat.length;
      if (failed === 0 && a.p99 <= 100) best.push(rate);
      console.log(`  [${loadNote()}] offered ${rate}/s × ${opts.seconds} s = ${n}: achieved ${(ok / wall).toFixed(0)}/s (${ok} ok, ${failed} failed${firstError ? `: ${firstError}` : ''}, last answer ${wall.toFixed(1)} s after the first arrival)`);
      console.log(`    send → agent.message p50 ${a.p50.toFixed(1)} ms, p99 ${a.p99.toFixed(1)} ms, max ${a.max.toFixed(0)} ms; ` +
        `scheduled arrival → agent.message p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms`);
      console.log(`    server CPU ${serverCpu.toFixed(0)} ms = ${(serverCpu / wall / 10).toFixed(0)} % of a core, ${(serverCpu / Math.max(1, ok)).toFixed(2)} ms/session, its JS thread waited ${serverWait.toFixed(0)} ms for a CPU; ` +
        `server event-loop delay (beyond the 10 ms sampling interval) p50 ${eld?.p50.toFixed(1)} p99 ${eld?.p99.toFixed(1)} max ${eld?.max.toFixed(0)} ms`);
      console.log(`    client process (SDK + fake upstream) CPU ${((clientCpu.user + clientCpu.system) / 1000 / wall / 10).toFixed(0)} % of a core, ` +
        `its event-loop delay p99 ${Math.max(0, clientEld.percentile(99) / 1e6 - 10).toFixed(1)} ms, max arrival launch lag ${maxLag.toFixed(1)} ms; host-wide listen-queue overflows (dropped SYNs, retried by TCP after 1, 3, 7 … s) ${overflows}`);
      up.requests.length = 0;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    console.log(`  highest offered rate with every arrival answered and send → agent.message p99 ≤ 100 ms: ` +
      `${best.length ? `${Math.max(...best)}/s` : 'none of those run'} (target ≥ 250/s)`);
  } finally {
    clientEld.disable();
    await s.stop();
    await up.close();
  }
}

async function arrival(client: Anthropic, newSession: () => Promise<string>, timeoutMs: number): Promise<{ sendToMessage: number; doneAt: number }> {
  const id = await newSession();
  const tap = await EventTap.open(client, id);
  try {
    const msg = tap.next('agent.message', timeoutMs);
    msg.catch(() => {});
    const t = performance.now();
    await client.beta.sessions.events.send(id, userMessage('hello'));
    const at = await msg;
    return { sendToMessage: at - t, doneAt: at };
  } finally {
    tap.close();
  }
}
