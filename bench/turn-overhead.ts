// Platform overhead per turn: sequential turns on one session with an open stream, timing
// POST user.message → agent.message on the stream, minus the model call's own time.
import type { BenchRig } from './lib.ts';
import { EventTap, ms, sessionFactory, summarize, timedTurn, userMessage, warmUp } from './lib.ts';

export interface TurnOverheadOptions {
  turns: number;
  warmup: number;
  /** Run the sessions under a (never reached) budget, so the budget gate runs before every request. */
  budgetCents?: string;
  /** Extra turns, after the timed ones, that count write transactions and JSON.parse calls. */
  countedTurns: number;
}

interface StoreCounters { writeTransactions: number; sessionRowParses: number; eventParses: number }

/**
 * Runs `turns` more turns and returns what each cost on average: the store's own counters (SQLite
 * write transactions, session-row and event parses) and every JSON.parse in this process (server,
 * client and fake upstream together), counted by a wrapper installed only for these turns so the
 * timed turns run unwrapped.
 */
async function countPerTurn(rig: BenchRig, tap: EventTap, sessionId: string, turns: number) {
  const store = rig.h.hangar.store as unknown as { counters?: StoreCounters };
  if (!store.counters) throw new Error('the store exposes no counters (not the SQLite store?)');
  const original = JSON.parse;
  let parses = 0;
  JSON.parse = function countedParse(this: unknown, ...args: Parameters<typeof JSON.parse>) {
    parses++;
    return original.apply(this, args);
  } as typeof JSON.parse;
  const before = { ...store.counters };
  try {
    for (let i = 0; i < turns; i++) {
      const idle = tap.next('session.status_idle');
      await rig.client.beta.sessions.events.send(sessionId, userMessage(`counted turn ${i}`));
      await idle;
    }
  } finally {
    JSON.parse = original;
  }
  const after = store.counters;
  const per = (k: keyof StoreCounters) => (after[k] - before[k]) / turns;
  return {
    writeTransactions: per('writeTransactions'), sessionRowParses: per('sessionRowParses'), eventParses: per('eventParses'),
    jsonParses: parses / turns,
  };
}

export async function benchTurnOverhead(rig: BenchRig, opts: TurnOverheadOptions): Promise<void> {
  const { client, model } = rig;
  const newSession = await sessionFactory(client, { budgetCents: opts.budgetCents });

  await warmUp(client, await newSession(), opts.warmup);

  const sessionId = await newSession();
  const tap = await EventTap.open(client, sessionId);
  const total: number[] = [];
  const upstream: number[] = [];
  const overhead: number[] = [];
  let counted: Awaited<ReturnType<typeof countPerTurn>>;
  try {
    for (let i = 0; i < opts.turns; i++) {
      const turn = await timedTurn(client, model, tap, sessionId, `turn ${i}`);
      total.push(turn.total);
      upstream.push(turn.upstream);
      overhead.push(turn.overhead);
    }
    counted = await countPerTurn(rig, tap, sessionId, opts.countedTurns);
  } finally {
    tap.close();
  }

  const o = summarize(overhead);
  const t = summarize(total);
  const u = summarize(upstream);
  const tenth = Math.max(1, Math.floor(opts.turns / 10));
  const early = summarize(overhead.slice(0, tenth));
  const late = summarize(overhead.slice(-tenth));
  const verdict = o.p50 <= 5 && o.p99 <= 25 ? 'meets' : 'misses';
  const label = opts.budgetCents ? 'turn overhead with a budget (gate before every model request)' : 'turn overhead';
  console.log(
    `${label} (POST user.message → first agent.message on stream, minus upstream time): p50 ${ms(o.p50)}, p99 ${ms(o.p99)} (n=${o.n}) — ${verdict} target p50 ≤ 5 ms, p99 ≤ 25 ms`,
  );
  console.log(`  whole turn (POST → agent.message): p50 ${ms(t.p50)}, p99 ${ms(t.p99)}, max ${ms(t.max)}`);
  console.log(`  model call as Hangar sees it (SDK → local instant upstream → parsed answer): p50 ${ms(u.p50)}, p99 ${ms(u.p99)}`);
  console.log(`  overhead by session length: first ${tenth} turns p50 ${ms(early.p50)}, last ${tenth} turns p50 ${ms(late.p50)}`);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `  per turn (mean of ${opts.countedTurns} counted turns): ${f(counted.writeTransactions)} SQLite write transactions, ` +
      `${f(counted.sessionRowParses)} session-row parses, ${f(counted.eventParses)} event parses in the store, ` +
      `${f(counted.jsonParses)} JSON.parse calls in the whole process`,
  );
}
