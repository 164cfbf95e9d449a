// `npm run bench -- postgres-nodes`: three real node processes on one PostgreSQL (HANGAR_TEST_DATABASE_URL,
// else a throwaway cluster from test/kit/pg-cluster.sh) and the latencies of what crosses nodes:
// an event committed on node 1 reaching a stream on node 2, a user.interrupt sent to node 2
// stopping the model call node 1 drives, and a long poll on node 1 claiming an item queued on node 2.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeReply, type RecordedRequest } from '../test/kit/fake-upstream.ts';
import { startNodeCluster } from '../test/kit/pg-nodes.ts';
import { postgresServerUrl } from '../test/kit/postgres.ts';
import { bearerClient, createEnvKey } from '../test/worker/work-kit.ts';
import { MODEL, ms, summarize, userMessage } from './lib.ts';

export interface PostgresNodesOptions {
  /** Turns whose events are timed across nodes. */
  turns: number;
  /** Cross-node interrupts timed. */
  interrupts: number;
  /** Cross-node claims timed. */
  claims: number;
  warmup: number;
}

/** Arrival time (performance.now()) of every event id on one open stream. */
class ArrivalTap {
  readonly at = new Map<string, number>();
  readonly types = new Map<string, string>();
  private readonly waiters = new Set<() => void>();
  private readonly stream: Awaited<ReturnType<Anthropic['beta']['sessions']['events']['stream']>>;

  private constructor(stream: ArrivalTap['stream']) {
    this.stream = stream;
    void (async () => {
      try {
        for await (const e of stream) {
          const ev = e as unknown as { id?: string; type: string };
          if (!ev.id || this.at.has(ev.id)) continue;
          this.at.set(ev.id, performance.now());
          this.types.set(ev.id, ev.type);
          for (const w of [...this.waiters]) w();
        }
      } catch { /* closed */ }
    })();
  }

  static async open(client: Anthropic, sessionId: string): Promise<ArrivalTap> {
    return new ArrivalTap(await client.beta.sessions.events.stream(sessionId));
  }

  /** Resolves once `count` events of `type` arrived in all (timeout 30 s). */
  until(type: string, count: number): Promise<void> {
    const seen = () => [...this.types.values()].filter((t) => t === type).length >= count;
    if (seen()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${count}th ${type} within 30 s`));
      }, 30_000);
      const check = () => {
        if (!seen()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.stream.controller.abort();
  }
}

const conversation = (r: RecordedRequest) => JSON.stringify(r.body.messages);

export async function benchPostgresNodes(opts: PostgresNodesOptions): Promise<void> {
  const server = await postgresServerUrl();
  if (!server) {
    console.log('postgres-nodes: skipped (no HANGAR_TEST_DATABASE_URL and no initdb to start a throwaway cluster)');
    return;
  }
  const up = await startFakeUpstream();
  up.setResponder((req): FakeReply => (conversation(req).includes('hang-forever')
    ? { content: [{ type: 'text', text: 'thinking' }], hang: true }
    : { content: [{ type: 'text', text: 'a short answer' }] }));
  const cluster = await startNodeCluster({ serverUrl: server, upstreamUrl: up.url, nodes: 3, env: { HANGAR_SANDBOX: 'unsafe-local' } });
  const [a, b] = cluster.nodes.map((n) => n.client);
  try {
    const agent = await a.beta.agents.create({ name: `bench-${randomBytes(3).toString('hex')}`, model: MODEL });
    const env = await a.beta.environments.create({ name: `bench-${randomBytes(3).toString('hex')}` });

    // 1. Events: node 1 drives; streams on node 1 and node 2 record each event's arrival.
    const sessionId = (await a.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    const local = await ArrivalTap.open(a, sessionId);
    const remote = await ArrivalTap.open(b, sessionId);
    const frameToFrame: number[] = [];
    const commitToFrame: number[] = [];
    for (let t = 0; t < opts.warmup + opts.turns; t++) {
      const sent = await a.beta.sessions.events.send(sessionId, userMessage(`turn ${t}`));
      const acked = performance.now();
      await Promise.all([local.until('session.status_idle', t + 1), remote.until('session.status_idle', t + 1)]);
      if (t < opts.warmup) continue;
      const userId = sent.data![0].id;
      // POST answered (committed on node 1) → the user.message frame on node 2.
      commitToFrame.push(remote.at.get(userId)! - acked);
      for (const [id, at] of remote.at) {
        const there = local.at.get(id);
        if (there !== undefined && id !== userId && at >= acked) frameToFrame.push(at - there);
      }
    }
    local.close();
    remote.close();
    const f = summarize(frameToFrame);
    const c = summarize(commitToFrame);
    console.log(`postgres nodes: event frame on node 1 → same frame on node 2: p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)} (n=${f.n}, ${opts.turns} turns)`);
    console.log(`postgres nodes: POST user.message answered by node 1 → its frame on node 2: p50 ${ms(c.p50)}, p99 ${ms(c.p99)}, max ${ms(c.max)} (n=${c.n})`);

    // 2. Wake: node 1 drives a hanging model call; user.interrupt goes to node 2.
    const hanging = (await a.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    const tap = await ArrivalTap.open(b, hanging);
    const wake: number[] = [];
    for (let i = 0; i < opts.warmup + opts.interrupts; i++) {
      const before = up.requests.length;
      await a.beta.sessions.events.send(hanging, userMessage('hang-forever'));
      await up.waitForRequests(before + 1, 30_000);
      const t0 = performance.now();
      await b.beta.sessions.events.send(hanging, { events: [{ type: 'user.interrupt' }] });
      await tap.until('session.status_idle', i + 1);
      const idleId = [...tap.types].filter(([, type]) => type === 'session.status_idle').at(-1)![0];
      if (i >= opts.warmup) wake.push(tap.at.get(idleId)! - t0);
    }
    tap.close();
    const w = summarize(wake);
    console.log(`postgres nodes: user.interrupt sent to node 2 → node 1's model call aborted, idle frame on node 2: p50 ${ms(w.p50)}, p99 ${ms(w.p99)}, max ${ms(w.max)} (n=${w.n})`);

    // 3. Claims: a long poll waits on node 1, the item is queued by a session created on node 2.
    const shEnv = await a.beta.environments.create({ name: `bench-sh-${randomBytes(3).toString('hex')}`, config: { type: 'self_hosted' } });
    const key = await createEnvKey(a, shEnv.id);
    const worker = bearerClient(cluster.nodes[0].url, key.key);
    const claim: number[] = [];
    for (let i = 0; i < opts.warmup + opts.claims; i++) {
      const polled = worker.beta.environments.work.poll(shEnv.id, { block_ms: 999 });
      await new Promise((r) => setTimeout(r, 30));
      await b.beta.sessions.create({ agent: agent.id, environment_id: shEnv.id, initial_events: [{ type: 'user.message', content: [{ type: 'text', text: `item ${i}` }] }] });
      const t0 = performance.now();
      const work = await polled;
      const t1 = performance.now();
      if (!work) throw new Error('the poll on node 1 returned no work');
      if (i >= opts.warmup) claim.push(t1 - t0);
      await worker.beta.environments.work.ack(work.id, { environment_id: shEnv.id });
      await worker.beta.environments.work.stop(work.id, { environment_id: shEnv.id, force: true });
    }
    const q = summarize(claim);
    console.log(`postgres nodes: session with input created on node 2 (answered) → node 1's blocked poll returns its item: p50 ${ms(q.p50)}, p99 ${ms(q.p99)}, max ${ms(q.max)} (n=${q.n})`);
  } finally {
    await cluster.close();
    await up.close();
  }
}
