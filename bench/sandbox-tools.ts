// Built-in sandbox tools (bash in a real bubblewrap sandbox): the first call of a fresh session
// (lazy provisioning + `bash: true`), later calls on a warm sandbox, and many sessions' first calls
// at once. The tool call is timed inside the server, around the tool runner's `run()` (a wrapper
// around a real SandboxToolRunner passed as `overrides.tools`); the agent.tool_use → agent.tool_result
// gap on the session's event stream is printed beside it. Also timed directly: the raw BwrapRuntime
// (persistent-shell round trip, a fresh sandboxed exec). Every session is deleted at the end (which
// releases its sandbox and removes its workspace), and leftover bwrap processes are counted.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeReply, type RecordedRequest } from '../test/kit/fake-upstream.ts';
import { startHangar } from '../test/kit/hangar.ts';
import { loadConfig } from '../src/server/config.ts';
import { BwrapSandboxProvider } from '../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import { createEgressProxyStarter } from '../src/adapters/egress-proxy/egress-proxy.ts';
import { SandboxToolRunner } from '../src/tools/sandbox-tool-runner.ts';
import type { Sandbox, SandboxProvider, SandboxSpec } from '../src/ports/sandbox.ts';
import type { ToolCall, ToolOutcome, ToolRunner, ToolSession } from '../src/harness/tool-runner.ts';
import type { AgentSnapshot } from '../src/harness/context.ts';
import type { ModelToolDefinition } from '../src/ports/model.ts';
import { EventTap, MODEL, ms, pool, summarize, userMessage, type Summary } from './lib.ts';

export interface SandboxBenchOptions {
  /** Fresh sessions whose first call is measured (after `warmupSessions` unmeasured ones). */
  firstCalls: number;
  warmupSessions: number;
  /** Calls on one warm sandbox (after `warmupCalls` unmeasured ones). */
  warmCalls: number;
  warmupCalls: number;
  /** Sessions making their first call at the same moment. */
  concurrent: number;
  /** Raw BwrapRuntime round trips (shell) and fresh execs. */
  rawShell: number;
  rawExec: number;
  turnTimeoutMs: number;
}

interface CallRecord {
  sessionId: string;
  ms: number;
  isError: boolean;
  /** The result's text when it is an error. */
  error?: string;
}

/** The server's tool runner, timed around `run()`. The real runner is attached once the server's store exists. */
class TimedTools implements ToolRunner {
  inner: SandboxToolRunner | undefined;
  readonly calls: CallRecord[] = [];

  private get r(): SandboxToolRunner {
    if (!this.inner) throw new Error('the timed tool runner has no inner runner yet');
    return this.inner;
  }

  catalog(agent: AgentSnapshot): ModelToolDefinition[] {
    return this.r.catalog(agent);
  }

  async run(session: ToolSession, call: ToolCall, opts: { signal: AbortSignal }): Promise<ToolOutcome> {
    const t0 = performance.now();
    let isError = true;
    let error: string | undefined = 'run() threw';
    try {
      const out = await this.r.run(session, call, opts);
      isError = out.isError;
      error = isError ? out.content.map((b) => String(b.text ?? '')).join('\n') : undefined;
      return out;
    } finally {
      this.calls.push({ sessionId: session.id, ms: performance.now() - t0, isError, error });
    }
  }

  settle(session: ToolSession): Promise<void> {
    return this.r.settle(session);
  }

  prewarm(session: { id: string; environment_id: string }): Promise<void> {
    return this.r.prewarm(session);
  }

  forget(sessionId: string): Promise<void> {
    return this.r.forget(sessionId);
  }

  async close(): Promise<void> {
    await this.inner?.close();
  }

  holds(sessionId: string): boolean {
    return this.inner?.holds(sessionId) ?? false;
  }
}

/** The bubblewrap provider, timed around `provision()` (part of a first call's `run()`). */
class TimedProvider implements SandboxProvider {
  readonly provisions: number[] = [];
  private readonly inner: SandboxProvider;

  constructor(inner: SandboxProvider) {
    this.inner = inner;
  }

  unavailableReason(): string | undefined {
    return this.inner.unavailableReason();
  }

  async provision(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox> {
    const t0 = performance.now();
    try {
      return await this.inner.provision(spec, signal);
    } finally {
      this.provisions.push(performance.now() - t0);
    }
  }
}

const quiet = { warn() {}, error() {} };

/**
 * Host processes whose command line or working directory mentions `needle` (this process
 * excluded): a sandbox's host processes run in its workspace, their argv names no host path.
 */
function processesMatching(needle: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle) || cwd.includes(needle)) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/** `pgrep -f bwrap | wc -l`, as an operator would check. */
function pgrepCount(pattern: string): number {
  const r = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).length;
}

async function settleProcesses(needle: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let n = processesMatching(needle);
  while (n > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    n = processesMatching(needle);
  }
  return n;
}

/** Did the last message of a model request carry a tool result (so the tool round is over)? */
function answersToolResult(req: RecordedRequest): boolean {
  const last = (req.body?.messages as Array<{ role: string; content: unknown }> | undefined)?.at(-1);
  return Array.isArray(last?.content) && (last.content as Array<{ type?: string }>).some((b) => b.type === 'tool_result');
}

const line = (label: string, s: Summary) => `${label}: p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (n=${s.n})`;

export async function benchSandboxTools(opts: SandboxBenchOptions): Promise<void> {
  const bwrapBefore = pgrepCount('bwrap');
  const dataDir = mkdtempSync(join(tmpdir(), 'hangar-bench-sandbox-'));
  chmodSync(dataDir, 0o755); // the unprivileged sandbox user must reach the workspaces
  const config = loadConfig({ HANGAR_DATA_DIR: dataDir });
  // Wired as createHangar wires it (egress proxy included: cloud environments always have networking).
  const provider = new TimedProvider(new BwrapSandboxProvider({
    stateDir: join(dataDir, 'sandbox-state'), startEgressProxy: createEgressProxyStarter(), limits: config.sandboxLimits, logger: quiet,
  }));
  const unavailable = provider.unavailableReason();
  if (unavailable) {
    console.log(`sandbox tools: skipped — ${unavailable}`);
    rmSync(dataDir, { recursive: true, force: true });
    return;
  }

  const up = await startFakeUpstream();
  // Every turn: one `bash` call, then `ok` once its result is back.
  let command = 'true';
  up.setResponder((req): FakeReply => (answersToolResult(req)
    ? { content: [{ type: 'text', text: 'ok' }] }
    : { content: [{ type: 'tool_use', name: 'bash', input: { command } }] }));
  const tools = new TimedTools();
  const h = await startHangar({ upstreamUrl: up.url, dataDir, overrides: { tools, sandboxProvider: provider } });
  tools.inner = new SandboxToolRunner({
    provider, store: h.hangar.store, files: h.hangar.files, dataDir, logger: quiet,
    limits: config.sandboxLimits, idleReleaseMs: config.sandboxIdleReleaseMs,
  });
  const { client } = h;
  const sessions: string[] = [];
  try {
    const agent = await client.beta.agents.create({
      name: `bench-sandbox-${randomBytes(3).toString('hex')}`, model: MODEL, tools: [{ type: 'agent_toolset_20260401' }],
    });
    // The default (cloud, unrestricted networking): each sandbox gets its own egress proxy.
    const env = await client.beta.environments.create({ name: `bench-sandbox-${randomBytes(4).toString('hex')}` });
    // Limited networking with no allowed hosts gives sandboxes no network and no proxy.
    const offline = await client.beta.environments.create({
      name: `bench-sandbox-${randomBytes(4).toString('hex')}`,
      config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [] } },
    });
    const sessionIn = (envId: string) => async () => {
      const id = (await client.beta.sessions.create({ agent: agent.id, environment_id: envId })).id;
      sessions.push(id);
      return id;
    };
    const newSession = sessionIn(env.id);

    // ---- first call of a fresh session ------------------------------------------------------
    const first = await firstCalls(client, tools, provider, newSession, opts.warmupSessions, opts.firstCalls, opts.turnTimeoutMs);
    const prov = summarize(first.provision);
    const f = summarize(first.run);
    console.log(
      `sandbox first tool call (fresh session, default environment: provision incl. egress proxy + bash \`true\`; timed around the tool runner's run()): ` +
        `p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)} (n=${f.n}, ${first.errors.length} errors) — ${f.p50 <= 30 ? 'meets' : 'misses'} target p50 ≤ 30 ms`,
    );
    if (first.errors.length) console.log(`  ERRORS, e.g.: ${first.errors[0].slice(0, 300)}`);
    console.log(`  of which provider.provision() (cgroups, dirs, egress proxy, bwrap smoke exec): p50 ${ms(prov.p50)}, p99 ${ms(prov.p99)}; ` +
      `the rest (persistent shell start + the command + runner): p50 ${ms(summarize(first.rest).p50)}, p99 ${ms(summarize(first.rest).p99)}`);
    console.log(`  ${line('on the stream (agent.tool_use → agent.tool_result)', summarize(first.events))}`);
    const noNet = await firstCalls(client, tools, provider, sessionIn(offline.id), 1, opts.firstCalls, opts.turnTimeoutMs);
    const nn = summarize(noNet.run);
    const nnProv = summarize(noNet.provision);
    console.log(
      `  same without network (limited networking, no allowed hosts, no proxy): p50 ${ms(nn.p50)}, p99 ${ms(nn.p99)} (n=${nn.n}, ${noNet.errors.length} errors); ` +
        `provision() p50 ${ms(nnProv.p50)}, the rest p50 ${ms(summarize(noNet.rest).p50)}`,
    );
    if (noNet.errors.length) console.log(`  ERRORS, e.g.: ${noNet.errors[0].slice(0, 300)}`);

    // ---- first call with the warm pool --------------------------------------------------------
    const cold = tools.inner;
    const pooled = new SandboxToolRunner({
      provider, store: h.hangar.store, files: h.hangar.files, dataDir, logger: quiet,
      limits: config.sandboxLimits, idleReleaseMs: config.sandboxIdleReleaseMs, poolSize: 1,
    });
    tools.inner = pooled;
    try {
      const ready = () => pooled.pool!.readyCount();
      const waitWarm = async () => {
        const deadline = performance.now() + 5000;
        while (ready() < 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        return ready() >= 1;
      };
      // A session is created, the pool warms a sandbox meanwhile (a model's first response takes
      // longer than that), then the turn makes its first call.
      let cold0 = 0;
      const warmSession = async () => {
        const id = await newSession();
        if (!(await waitWarm())) cold0++;
        return id;
      };
      const pf = await firstCalls(client, tools, provider, warmSession, opts.warmupSessions, opts.firstCalls, opts.turnTimeoutMs);
      const p = summarize(pf.run);
      console.log(
        `sandbox first tool call WITH the warm pool (HANGAR_SANDBOX_POOL_SIZE=1, default environment; the session's warm sandbox is adopted): ` +
          `p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (n=${p.n}, ${pf.errors.length} errors, ${cold0} sessions found no warm sandbox in 5 s) — ` +
          `${p.p50 <= 10 ? 'meets' : 'misses'} target p50 ≤ 10 ms; cold p50 above: ${ms(f.p50)}`,
      );
      if (pf.errors.length) console.log(`  ERRORS, e.g.: ${pf.errors[0].slice(0, 300)}`);
      console.log(`  ${line('on the stream (agent.tool_use → agent.tool_result)', summarize(pf.events))}`);
      // What one idle warm sandbox costs: its host processes' memory and CPU over 5 s.
      await waitWarm();
      const idle = await idleCost(join(dataDir, 'sandbox-pool'), 5000);
      console.log(`  idle pool cost: ${idle.processes} processes for ${ready()} warm sandbox(es), RSS ${(idle.rssKb / 1024).toFixed(1)} MiB (PSS ${(idle.pssKb / 1024).toFixed(1)} MiB), CPU ${idle.cpuMs} ms over ${idle.windowMs} ms idle`);
    } finally {
      await pooled.close();
      tools.inner = cold;
    }

    // ---- warm sandbox -------------------------------------------------------------------------
    const warm = await warmCalls(client, tools, await newSession(), opts.warmupCalls, opts.warmCalls, opts.turnTimeoutMs);
    const w = summarize(warm.run);
    console.log(
      `sandbox warm bash call (\`true\` on an already provisioned sandbox; run() time = overhead above the command): ` +
        `p50 ${ms(w.p50)}, p99 ${ms(w.p99)}, max ${ms(w.max)} (n=${w.n}, ${warm.errors.length} errors) — ${w.p50 <= 10 ? 'meets' : 'misses'} target p50 ≤ 10 ms`,
    );
    if (warm.errors.length) console.log(`  ERRORS, e.g.: ${warm.errors[0].slice(0, 300)}`);
    console.log(`  ${line('on the stream (agent.tool_use → agent.tool_result)', summarize(warm.events))}`);

    // ---- raw runtime ---------------------------------------------------------------------------
    const raw = await rawRuntime(dataDir, config.sandboxLimits, opts.rawShell, opts.rawExec);
    const rs = summarize(raw.shell);
    console.log(`  ${line('raw BwrapRuntime.shell("true") round trip (persistent shell, no server)', rs)}`);
    console.log(`  ${line('raw BwrapRuntime.exec(["true"]) (a fresh bwrap sandbox per call)', summarize(raw.exec))}`);
    console.log(`  ${line('raw provider.provisionRuntime() + first shell command', summarize(raw.provision))}`);
    console.log(`  runner + tool layer above the raw shell: p50 ${ms(w.p50 - rs.p50)}`);

    // ---- concurrent first calls ------------------------------------------------------------
    const conc = await concurrentFirstCalls(client, tools, newSession, opts.concurrent, opts.turnTimeoutMs);
    const c = summarize(conc.run);
    console.log(
      `sandbox ${opts.concurrent} concurrent sessions, one bash call each (fresh sandboxes), run() time: ` +
        `p50 ${ms(c.p50)}, p99 ${ms(c.p99)}, max ${ms(c.max)}; ${conc.completed}/${opts.concurrent} completed (tool result without error, then idle) in ${conc.wallMs.toFixed(0)} ms`,
    );
    console.log(`  ${line('on the stream (agent.tool_use → agent.tool_result)', summarize(conc.events))}`);
    console.log(`  ${line('send → session.status_idle', summarize(conc.turns))}`);
    if (conc.failures.length) console.log(`  failures (${conc.failures.length}): ${conc.failures.slice(0, 5).join('; ')}`);
    const cp = summarize(provider.provisions.slice(-opts.concurrent));
    console.log(`  provider.provision() under that load: p50 ${ms(cp.p50)}, p99 ${ms(cp.p99)}`);
  } finally {
    // Deleting a session releases its sandbox and removes its workspace.
    const held = sessions.filter((id) => tools.holds(id)).length;
    const deletes: number[] = [];
    await pool(sessions, 10, async (id) => {
      const t0 = performance.now();
      await client.beta.sessions.delete(id).catch(() => {});
      deletes.push(performance.now() - t0);
    });
    const ours = await settleProcesses(dataDir, 5000);
    let left = 0;
    try {
      left = readdirSync(join(dataDir, 'sandboxes')).length;
    } catch {
      // never provisioned anything
    }
    await h.close();
    await up.close();
    const oursAfterClose = await settleProcesses(dataDir, 5000);
    rmSync(dataDir, { recursive: true, force: true });
    const bwrapAfter = pgrepCount('bwrap');
    console.log(
      `  cleanup: deleted ${sessions.length} sessions (${held} held a live sandbox; DELETE p50 ${ms(summarize(deletes).p50)}), ` +
        `${left} workspaces left; this run's processes (command line or cwd naming its data dir) left: ${ours} after the deletes, ${oursAfterClose} after server close; ` +
        `\`pgrep -f bwrap\` count before ${bwrapBefore}, after ${bwrapAfter} (host-wide: includes other processes' sandboxes)`,
    );
  }
}

type NewSession = () => Promise<string>;

/**
 * Memory (RSS, PSS) and CPU time over `windowMs` of the host processes whose cwd lies under `dir`
 * and all their descendants (the sandboxed shell and forwarder see another root).
 */
async function idleCost(dir: string, windowMs: number) {
  const pids = () => {
    const all = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    const parent = new Map<string, string>();
    for (const p of all) {
      try {
        parent.set(p, readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      } catch {
        // exited
      }
    }
    const roots = new Set(all.filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    }));
    const inTree = (p: string): boolean => {
      for (let cur: string | undefined = p, i = 0; cur && cur !== '0' && i < 64; cur = parent.get(cur), i++) if (roots.has(cur)) return true;
      return false;
    };
    return all.filter(inTree);
  };
  const cpu = (pid: string) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  };
  const field = (pid: string, file: string, name: string) => {
    try {
      const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const list = pids();
  const before = list.map(cpu);
  await new Promise((r) => setTimeout(r, windowMs));
  const ticks = list.map(cpu).reduce((a, b, i) => a + b - before[i], 0);
  const hz = 100;
  return {
    processes: list.length,
    rssKb: list.reduce((a, p) => a + field(p, 'status', 'VmRSS'), 0),
    pssKb: list.reduce((a, p) => a + field(p, 'smaps_rollup', 'Pss'), 0),
    cpuMs: Math.round((ticks * 1000) / hz),
    windowMs,
  };
}

/** One turn (one bash call) on a session; returns the run() time of that call and the stream gap. */
async function oneToolTurn(client: Anthropic, tools: TimedTools, sessionId: string, tap: EventTap, timeoutMs: number) {
  const use = tap.next('agent.tool_use', timeoutMs);
  const result = tap.next('agent.tool_result', timeoutMs);
  const idle = tap.next('session.status_idle', timeoutMs);
  const before = tools.calls.filter((c) => c.sessionId === sessionId).length;
  const t0 = performance.now();
  await client.beta.sessions.events.send(sessionId, userMessage('run it'));
  const [tUse, tResult, tIdle] = await Promise.all([use, result, idle]);
  const calls = tools.calls.filter((c) => c.sessionId === sessionId).slice(before);
  if (calls.length !== 1) throw new Error(`expected one tool call in the turn, saw ${calls.length}`);
  return { run: calls[0].ms, isError: calls[0].isError, error: calls[0].error, event: tResult - tUse, turn: tIdle - t0 };
}

/** Sequential fresh sessions, one call each; `provision` is the provider's share of each call, `rest` the remainder. */
async function firstCalls(client: Anthropic, tools: TimedTools, provider: TimedProvider, newSession: NewSession, warmup: number, n: number, timeoutMs: number) {
  const run: number[] = [];
  const events: number[] = [];
  const provision: number[] = [];
  const rest: number[] = [];
  const errors: string[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const id = await newSession();
    const tap = await EventTap.open(client, id);
    try {
      const p0 = provider.provisions.length;
      const r = await oneToolTurn(client, tools, id, tap, timeoutMs);
      if (i < warmup) continue;
      const p = provider.provisions.slice(p0).reduce((a, b) => a + b, 0);
      run.push(r.run);
      events.push(r.event);
      provision.push(p);
      rest.push(r.run - p);
      if (r.isError) errors.push(r.error ?? '');
    } finally {
      tap.close();
    }
  }
  return { run, events, provision, rest, errors };
}

async function warmCalls(client: Anthropic, tools: TimedTools, id: string, warmup: number, n: number, timeoutMs: number) {
  const run: number[] = [];
  const events: number[] = [];
  const errors: string[] = [];
  const tap = await EventTap.open(client, id);
  try {
    // The first call provisions; it and the warm-up calls are not counted.
    for (let i = 0; i < 1 + warmup + n; i++) {
      const r = await oneToolTurn(client, tools, id, tap, timeoutMs);
      if (i <= warmup) continue;
      run.push(r.run);
      events.push(r.event);
      if (r.isError) errors.push(r.error ?? '');
    }
  } finally {
    tap.close();
  }
  return { run, events, errors };
}

async function concurrentFirstCalls(client: Anthropic, tools: TimedTools, newSession: NewSession, n: number, timeoutMs: number) {
  const open: Array<{ id: string; tap: EventTap }> = [];
  await pool(Array.from({ length: n }), 10, async () => {
    const id = await newSession();
    open.push({ id, tap: await EventTap.open(client, id) });
  });
  const run: number[] = [];
  const events: number[] = [];
  const turns: number[] = [];
  const failures: string[] = [];
  let completed = 0;
  const start = performance.now();
  try {
    await Promise.all(open.map(async ({ id, tap }) => {
      try {
        const r = await oneToolTurn(client, tools, id, tap, timeoutMs);
        run.push(r.run);
        events.push(r.event);
        turns.push(r.turn);
        if (r.isError) failures.push(`${id}: error result: ${r.error}`);
        else completed++;
      } catch (err) {
        failures.push(`${id}: ${(err as Error).message}`);

      }
    }));
  } finally {
    for (const { tap } of open) tap.close();
  }
  return { run, events, turns, completed, failures, wallMs: performance.now() - start };
}

/** The runtime alone: provision one sandbox directly and time shell round trips and fresh execs. */
async function rawRuntime(dataDir: string, limits: SandboxSpec['limits'], shells: number, execs: number) {
  const provider = new BwrapSandboxProvider({ stateDir: join(dataDir, 'raw-state'), limits, logger: quiet });
  const signal = new AbortController().signal;
  const shell: number[] = [];
  const exec: number[] = [];
  const provision: number[] = [];
  const io = { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, signal };
  for (let i = 0; i < 6; i++) {
    const dir = join(dataDir, 'raw', `sesn_raw_${i}`);
    mkdirSync(dir, { recursive: true });
    const spec: SandboxSpec = {
      sessionId: `sesn_raw_${i}`, workspaceDir: join(dir, 'workspace'), outputsDir: join(dir, 'outputs'),
      mounts: [], network: { type: 'none' }, limits,
    };
    const t0 = performance.now();
    const p = await provider.provisionRuntime(spec, signal);
    try {
      await p.runtime.shell('true', io);
      if (i > 0) provision.push(performance.now() - t0); // the first one warms up
      if (i < 5) continue;
      for (let k = 0; k < 20 + shells; k++) {
        const t = performance.now();
        const r = await p.runtime.shell('true', io);
        if (r.exitCode !== 0) throw new Error(`raw shell: exit ${r.exitCode}: ${r.output}`);
        if (k >= 20) shell.push(performance.now() - t);
      }
      for (let k = 0; k < 3 + execs; k++) {
        const t = performance.now();
        const r = await p.runtime.exec(['true'], io);
        if (r.exitCode !== 0) throw new Error(`raw exec: exit ${r.exitCode}: ${r.stderr.toString()}`);
        if (k >= 3) exec.push(performance.now() - t);
      }
    } finally {
      await p.release();
    }
  }
  return { shell, exec, provision };
}
