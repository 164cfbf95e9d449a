// Watches one session live in the terminal (used by `hangar run` and `hangar tail`): streams agent
// text as it arrives, prints tool calls as compact lines with a spinner while they run (TTY only),
// asks for `always_ask` confirmations and custom tool answers when the session needs them, and
// handles Ctrl-C (first: send user.interrupt; second: detach). Resolves with the exit code.
import { createInterface, type Interface } from 'node:readline';
import Anthropic from '@anthropic-ai/sdk';
import { Spinner } from '../render/spinner.ts';
import { sessionErrorLine, textOf, toolCallLabel, toolResultLine, usageLine } from '../render/events.ts';
import { describeError } from './connection.ts';

type Ev = Record<string, any>;

export const EXIT = { ok: 0, error: 1, usage: 2, needsInput: 3, interrupted: 130 } as const;

export interface WatchOptions {
  client: Anthropic;
  url: string;
  sessionId: string;
  /** Fail with exit 3 instead of asking when the session needs a confirmation or a custom tool answer. */
  nonInteractive: boolean;
  /** Print each event as one JSON line instead of rendering it. */
  json: boolean;
  /** Sent once the stream is open (run's prompt), so nothing it causes is missed. */
  firstEvent?: Ev;
  /** Replay the session's history before going live (tail). */
  history: boolean;
}

/** Lines typed or piped on stdin, buffered so none is lost between two questions. */
class LineReader {
  private rl: Interface | undefined;
  private lines: string[] = [];
  private waiter: ((line: string | null) => void) | undefined;
  private closed = false;

  private readonly onInterrupt: () => void;
  constructor(onInterrupt: () => void) {
    this.onInterrupt = onInterrupt;
  }

  private open(): Interface {
    if (this.rl) return this.rl;
    const tty = Boolean(process.stdin.isTTY);
    this.rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty });
    this.rl.on('line', (line) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(line);
      } else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.closed = true;
      this.waiter?.(null);
      this.waiter = undefined;
    });
    // A terminal in raw mode turns Ctrl-C into this event rather than a signal.
    this.rl.on('SIGINT', () => this.onInterrupt());
    return this.rl;
  }

  /** The next line, or null when stdin has ended or `signal` fired. */
  async ask(prompt: string, signal: AbortSignal): Promise<string | null> {
    const rl = this.open();
    process.stderr.write(prompt);
    if (this.lines.length) {
      const line = this.lines.shift()!;
      if (!process.stdin.isTTY) process.stderr.write(`${line}\n`);
      return line;
    }
    if (this.closed || signal.aborted) return null;
    if (process.stdin.isTTY) rl.resume();
    const line = await new Promise<string | null>((resolve) => {
      this.waiter = resolve;
      signal.addEventListener('abort', () => {
        if (this.waiter === resolve) this.waiter = undefined;
        resolve(null);
      }, { once: true });
    });
    // Out of raw mode between questions, so Ctrl-C is a signal again.
    if (process.stdin.isTTY) rl.pause();
    if (line !== null && !process.stdin.isTTY) process.stderr.write(`${line}\n`);
    return line;
  }

  close(): void {
    this.rl?.close();
  }
}

/** A custom tool's answer: JSON; a string becomes a text block, content blocks pass as they are. */
export function parseCustomAnswer(line: string): { content: Ev[] } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { error: `not valid JSON (${(err as Error).message}); a plain string needs quotes, e.g. "sunny"` };
  }
  if (typeof value === 'string') return { content: [{ type: 'text', text: value }] };
  if (Array.isArray(value) && value.length > 0 && value.every((b) => b && typeof b === 'object' && typeof (b as Ev).type === 'string')) return { content: value as Ev[] };
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

export async function watchSession(o: WatchOptions): Promise<number> {
  const { client, sessionId } = o;
  const out = process.stdout;
  const err = (line: string) => {
    spinner.stop();
    if (!atLineStart) {
      out.write('\n');
      atLineStart = true;
    }
    process.stderr.write(`${line}\n`);
  };
  const spinner = new Spinner(out);
  const seen = new Set<string>();
  const asks = new Map<string, Ev>(); // tool calls that may need a person: ask-permission and custom
  const answered = new Set<string>();
  const running = new Map<string, string>(); // tool_use id → label, for the spinner
  let atLineStart = true;
  let streaming: { id: string; text: string } | undefined;
  let sigints = 0;
  let promptAbort = new AbortController();
  let stream: Awaited<ReturnType<typeof client.beta.sessions.events.stream>> | undefined;
  let detached = false;
  let interrupted = false;
  let interruptSent: Promise<unknown> = Promise.resolve();

  const write = (s: string) => {
    if (o.json || s === '') return;
    spinner.stop();
    out.write(s);
    atLineStart = s.endsWith('\n');
  };
  const line = (s: string) => {
    if (!atLineStart) write('\n');
    write(`${s}\n`);
  };
  const spin = () => {
    const labels = [...running.values()];
    if (labels.length && !o.json) spinner.start(`running ${labels.join(', ')}`);
  };

  const onInterrupt = () => {
    sigints += 1;
    if (sigints === 1) {
      interrupted = true;
      promptAbort.abort();
      err('interrupting… (Ctrl-C again to detach)');
      interruptSent = client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.interrupt' }] }).catch((e) => {
        err(`could not interrupt: ${describeError(e, o.url)?.message ?? String(e)}`);
      });
    } else {
      detached = true;
      promptAbort.abort();
      err(`detached; the session goes on: hangar tail ${sessionId}`);
      stream?.controller.abort();
    }
  };
  const reader = new LineReader(onInterrupt);
  process.on('SIGINT', onInterrupt);

  /** Renders one event; returns an exit code when the watch is over. */
  const render = async (e: Ev, live: boolean): Promise<number | undefined> => {
    if (e.id) {
      if (seen.has(e.id)) return undefined;
      seen.add(e.id);
    }
    if (o.json && e.type !== 'event_start' && e.type !== 'event_delta') out.write(`${JSON.stringify(e)}\n`);
    switch (e.type) {
      case 'event_start':
        if (e.event?.type === 'agent.message') streaming = { id: e.event.id, text: '' };
        break;
      case 'event_delta': {
        const piece = e.delta?.content?.type === 'text' ? String(e.delta.content.text ?? '') : '';
        if (streaming && streaming.id === e.event_id) {
          streaming.text += piece;
          write(piece);
        }
        break;
      }
      case 'user.message':
        if (!live) line(`> ${textOf(e.content)}`);
        break;
      case 'agent.message': {
        const text = textOf(e.content);
        const shown = streaming && streaming.id === e.id ? streaming.text : '';
        write(text.startsWith(shown) ? text.slice(shown.length) : `\n${text}`);
        if (!atLineStart) write('\n');
        streaming = undefined;
        break;
      }
      case 'agent.tool_use':
      case 'agent.mcp_tool_use': {
        const ask = e.evaluated_permission === 'ask';
        line(`→ ${toolCallLabel(e)}${ask ? '  [needs confirmation]' : ''}`);
        if (ask) asks.set(e.id, e);
        else if (live) running.set(e.id, toolCallLabel(e));
        break;
      }
      case 'agent.custom_tool_use':
        line(`→ ${toolCallLabel(e)}  [custom tool: needs an answer]`);
        asks.set(e.id, e);
        break;
      case 'user.tool_confirmation':
        answered.add(e.tool_use_id);
        if (e.result === 'allow' && live) {
          const use = asks.get(e.tool_use_id);
          if (use) running.set(use.id, toolCallLabel(use));
        }
        if (!live) line(`  ${e.result === 'allow' ? 'allowed' : `denied${e.deny_message ? `: ${e.deny_message}` : ''}`}`);
        break;
      case 'user.custom_tool_result':
        answered.add(e.custom_tool_use_id);
        line(`← answered: ${textOf(e.content).slice(0, 100)}`);
        break;
      case 'agent.tool_result':
      case 'agent.mcp_tool_result': {
        const useId = e.tool_use_id ?? e.mcp_tool_use_id;
        running.delete(useId);
        answered.add(useId);
        line(`  ← ${toolResultLine(e)}`);
        break;
      }
      case 'user.interrupt':
        line('— interrupted');
        break;
      case 'session.error':
        err(sessionErrorLine(e));
        break;
      case 'session.status_terminated':
        if (live) {
          err('session terminated');
          return EXIT.error;
        }
        break;
      case 'session.deleted':
        err('session deleted');
        return EXIT.error;
      case 'session.status_idle':
        if (live) return onIdle(e);
        break;
      default:
        break;
    }
    if (live) spin();
    return undefined;
  };

  /** A turn ended or paused: ask what is pending, or finish. */
  const onIdle = async (e: Ev): Promise<number | undefined> => {
    running.clear();
    spinner.stop();
    const reason = e.stop_reason?.type;
    if (reason === 'requires_action') {
      const pending = (e.stop_reason.event_ids as string[]).filter((id) => !answered.has(id));
      if (pending.length === 0) return undefined;
      if (interrupted) return undefined;
      return settle(pending);
    }
    if (interrupted) return EXIT.interrupted;
    if (reason === 'end_turn') return EXIT.ok;
    err(`session stopped: ${reason ?? 'unknown'}${e.stop_details ? ` ${JSON.stringify(e.stop_details)}` : ''}`);
    return EXIT.error;
  };

  /** Asks a person about each pending call and sends the answers; exit 3 when nobody can answer. */
  const settle = async (pending: string[]): Promise<number | undefined> => {
    for (const id of pending) {
      const use = asks.get(id) ?? (await findEvent(id));
      if (!use) {
        err(`the session waits on ${id}, which this client cannot show`);
        return EXIT.needsInput;
      }
      asks.set(id, use);
      const custom = use.type === 'agent.custom_tool_use';
      if (o.nonInteractive) {
        err(`session ${sessionId} needs ${custom ? 'an answer for custom tool' : 'a confirmation for'} ${toolCallLabel(use)} (${id}); --non-interactive, so stopping. Answer with: hangar tail ${sessionId}`);
        return EXIT.needsInput;
      }
      promptAbort = new AbortController();
      const signal = promptAbort.signal;
      const event = custom ? await askCustom(use, signal) : await askConfirmation(use, signal);
      if (event === 'interrupted') return undefined; // the interrupt's idle ends the watch
      if (event === 'eof') {
        err(`stdin ended while session ${sessionId} waits for ${toolCallLabel(use)}; answer with: hangar tail ${sessionId}`);
        return EXIT.needsInput;
      }
      await client.beta.sessions.events.send(sessionId, { events: [event as any] });
      answered.add(id);
    }
    return undefined;
  };

  const ask = async (prompt: string, signal: AbortSignal): Promise<string | 'interrupted' | 'eof'> => {
    const answer = await reader.ask(prompt, signal);
    if (answer === null) return signal.aborted ? 'interrupted' : 'eof';
    return answer;
  };

  const askConfirmation = async (use: Ev, signal: AbortSignal): Promise<Ev | 'interrupted' | 'eof'> => {
    for (;;) {
      const a = await ask(`Allow ${toolCallLabel(use)}? [y/n] `, signal);
      if (a === 'interrupted' || a === 'eof') return a;
      const yn = a.trim().toLowerCase();
      if (yn === 'y' || yn === 'yes') return { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' };
      if (yn === 'n' || yn === 'no') {
        const m = await ask('Deny message (optional, Enter for none): ', signal);
        if (m === 'interrupted') return m;
        const message = m === 'eof' ? '' : m.trim();
        return { type: 'user.tool_confirmation', tool_use_id: use.id, result: 'deny', ...(message ? { deny_message: message } : {}) };
      }
      process.stderr.write('please answer y or n\n');
    }
  };

  const askCustom = async (use: Ev, signal: AbortSignal): Promise<Ev | 'interrupted' | 'eof'> => {
    process.stderr.write(`custom tool ${use.name} was called with ${JSON.stringify(use.input)}\n`);
    for (;;) {
      const a = await ask(`Answer for ${use.name} (JSON): `, signal);
      if (a === 'interrupted' || a === 'eof') return a;
      const parsed = parseCustomAnswer(a.trim());
      if ('content' in parsed) return { type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: parsed.content };
      process.stderr.write(`${parsed.error}\n`);
    }
  };

  const findEvent = async (id: string): Promise<Ev | undefined> => {
    for await (const e of client.beta.sessions.events.list(sessionId, { limit: 1000 })) if ((e as Ev).id === id) return e as Ev;
    return undefined;
  };

  try {
    stream = await client.beta.sessions.events.stream(sessionId, { event_deltas: ['agent.message'] });
    let code: number | undefined;
    if (o.history) {
      // The stream has no replay: open it first, then read the log, and skip what both deliver.
      let lastIdle: Ev | undefined;
      let last: Ev | undefined;
      for await (const e of client.beta.sessions.events.list(sessionId, { limit: 1000 })) {
        await render(e as Ev, false);
        last = e as Ev;
        if (last.type === 'session.status_idle') lastIdle = last;
      }
      const session = await client.beta.sessions.retrieve(sessionId);
      if (session.status === 'terminated') {
        err(`session ${sessionId} is terminated`);
        code = EXIT.error;
      } else if (session.status === 'idle' && lastIdle && last?.type !== 'user.message') {
        code = await onIdle(lastIdle);
        if (code === EXIT.ok) err(`session ${sessionId} is idle`);
      }
    }
    if (code === undefined && o.firstEvent) await client.beta.sessions.events.send(sessionId, { events: [o.firstEvent as any] });
    if (code === undefined) {
      for await (const e of stream) {
        code = await render(e as Ev, true);
        if (code !== undefined || detached) break;
      }
    }
    if (detached) code = EXIT.interrupted;
    if (code === undefined) {
      err('the server closed the event stream');
      code = EXIT.error;
    }
    spinner.stop();
    if (!o.json && code !== EXIT.interrupted) {
      const session = await client.beta.sessions.retrieve(sessionId).catch(() => undefined);
      if (session) err(usageLine(session));
    }
    return code;
  } catch (e) {
    if (detached && (e instanceof Anthropic.APIUserAbortError || (e as Error)?.name === 'AbortError')) return EXIT.interrupted;
    throw e;
  } finally {
    spinner.stop();
    // A detach right after the first Ctrl-C must not cut the interrupt off mid-request.
    await Promise.race([interruptSent, new Promise((r) => setTimeout(r, 5_000).unref())]);
    process.off('SIGINT', onInterrupt);
    reader.close();
    stream?.controller.abort();
  }
}
