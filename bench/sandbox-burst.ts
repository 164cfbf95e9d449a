// A burst of first tool calls: N fresh sessions send one message at the same moment, and each
// turn's one `bash` call provisions that session's bubblewrap sandbox (default environment, so
// each also gets its own egress proxy). Measured in the server's process (client and server share
// it): the event-loop delay while the burst runs (`monitorEventLoopDelay`, 10 ms resolution), the
// latency of an unrelated API call (`sessions.retrieve` every 20 ms) during the burst, and how long
// the burst takes. `HANGAR_SANDBOX_PROVISION_CONCURRENCY` from the environment is passed through, so
// runs with different bounds can be compared.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { startFakeUpstream, type FakeReply, type RecordedRequest } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { EventTap, MODEL, ms, pool, summarize, userMessage } from './lib.ts';

export interface BurstOptions {
  sessions: number;
  turnTimeoutMs: number;
}

function answersToolResult(req: RecordedRequest): boolean {
  const last = (req.body?.messages as Array<{ role: string; content: unknown }> | undefined)?.at(-1);
  return Array.isArray(last?.content) && (last.content as Array<{ type?: string }>).some((b) => b.type === 'tool_result');
}

export async function benchSandboxBurst(opts: BurstOptions): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hangar-bench-burst-'));
  chmodSync(dataDir, 0o755); // not needed any more, but lets this bench run on older versions for comparison
  const up = await startFakeUpstream();
  // BURST_NO_TOOLS=1: the same turns without the tool call, to tell provisioning from the rest.
  const noTools = process.env.BURST_NO_TOOLS === '1';
  up.setResponder((req): FakeReply => (noTools || answersToolResult(req)
    ? { content: [{ type: 'text', text: 'ok' }] }
    : { content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi > /workspace/hi.txt' } }] }));
  const env: Record<string, string> = {};
  const bound = process.env.HANGAR_SANDBOX_PROVISION_CONCURRENCY;
  if (bound) env.HANGAR_SANDBOX_PROVISION_CONCURRENCY = bound;
  const h = await startHangar({ upstreamUrl: up.url, dataDir, env });
  const { client } = h;
  try {
    const agent = await client.beta.agents.create({ name: `burst-${randomBytes(3).toString('hex')}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }] });
    const environment = await client.beta.environments.create({ name: `burst-${randomBytes(4).toString('hex')}` });
    const open: Array<{ id: string; tap: EventTap }> = [];
    await pool(Array.from({ length: opts.sessions }), 20, async () => {
      const id = (await client.beta.sessions.create({ agent: agent.id, environment_id: environment.id })).id;
      open.push({ id, tap: await EventTap.open(client, id) });
    });
    const watched = open[0].id;

    const delay = monitorEventLoopDelay({ resolution: 10 });
    const api: number[] = [];
    let bursting = true;
    const prober = (async () => {
      while (bursting) {
        const t0 = performance.now();
        await client.beta.sessions.retrieve(watched);
        api.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    delay.enable();
    const start = performance.now();
    let completed = 0;
    const failures: string[] = [];
    await Promise.all(open.map(async ({ id, tap }) => {
      const result = noTools ? Promise.resolve(0) : tap.next('agent.tool_result', opts.turnTimeoutMs);
      const idle = tap.next('session.status_idle', opts.turnTimeoutMs);
      try {
        await client.beta.sessions.events.send(id, userMessage('go'));
        await result;
        await idle;
        completed++;
      } catch (err) {
        result.catch(() => {});
        idle.catch(() => {});
        failures.push(`${id}: ${(err as Error).message}`);
      }
    }));
    const wall = performance.now() - start;
    delay.disable();
    bursting = false;
    await prober;
    for (const { tap } of open) tap.close();

    const toMs = (ns: number) => ns / 1e6;
    const p99 = toMs(delay.percentile(99));
    console.log(
      `sandbox burst: ${opts.sessions} sessions' ${noTools ? 'turns WITHOUT a tool call (baseline)' : 'first tool calls'} at once (provisioning bound ${bound ?? 'default'}): ` +
        `event-loop delay p50 ${ms(toMs(delay.percentile(50)))}, p99 ${ms(p99)}, max ${ms(toMs(delay.max))} — ${p99 <= 50 ? 'meets' : 'misses'} target p99 ≤ 50 ms; ` +
        `${completed}/${opts.sessions} completed in ${wall.toFixed(0)} ms`,
    );
    // A tool error (the sandbox could not start) still completes a turn: count those apart.
    let errors = 0;
    await pool(open, 20, async ({ id }) => {
      for await (const e of client.beta.sessions.events.list(id)) {
        const ev = e as unknown as { type: string; is_error?: boolean; content?: Array<{ text?: string }> };
        if (ev.type === 'agent.tool_result' && ev.is_error) {
          errors++;
          if (failures.length < 3) failures.push(`${id}: ${ev.content?.map((b) => b.text).join(' ').slice(0, 200)}`);
        }
      }
    });
    console.log(`  tool results that were errors: ${errors}`);
    const a = summarize(api);
    console.log(`  an unrelated API call during the burst (sessions.retrieve): p50 ${ms(a.p50)}, p99 ${ms(a.p99)}, max ${ms(a.max)} (n=${a.n})`);
    if (failures.length) console.log(`  failures (${failures.length}): ${failures.slice(0, 3).join('; ')}`);
    await pool(open, 20, async ({ id }) => {
      await client.beta.sessions.delete(id).catch(() => {});
    });
  } finally {
    await h.close();
    await up.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
