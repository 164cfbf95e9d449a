import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUNTIMES, textOf, type RuntimeFixture } from './runtimes.ts';

describe.each(RUNTIMES)('bash tool on $name runtime', (factory) => {
  let f: RuntimeFixture;
  beforeEach(async () => {
    f = await factory.create();
  });
  afterEach(async () => {
    await f.dispose();
  });

  it('runs a command and returns its output', async () => {
    const out = await f.call('bash', { command: 'echo hello' });
    expect(out).toEqual({ content: [{ type: 'text', text: 'hello' }], isError: false });
  });

  it('starts in the workspace directory', async () => {
    expect(textOf(await f.call('bash', { command: 'pwd' }))).toBe(f.rt.workspace);
  });

  it('keeps cwd and exported variables across calls', async () => {
    await f.call('bash', { command: 'mkdir -p sub && cd sub && export GREETING=hi' });
    const out = await f.call('bash', { command: 'pwd; echo $GREETING' });
    expect(textOf(out)).toBe(`${f.rt.workspace}/sub\nhi`);
  });

  it('interleaves stdout and stderr', async () => {
    const out = await f.call('bash', { command: 'echo one; echo two >&2; echo three' });
    expect(textOf(out)).toBe('one\ntwo\nthree');
  });

  it('reports a non-zero exit as a normal result with the exit code', async () => {
    const out = await f.call('bash', { command: 'echo oops >&2; exit 3' });
    expect(out.isError).toBe(false);
    expect(textOf(out)).toBe('oops\n[exit code 3]');
  });

  it('reports a non-zero exit without output', async () => {
    const out = await f.call('bash', { command: 'false' });
    expect(out).toEqual({ content: [{ type: 'text', text: '[exit code 1]' }], isError: false });
  });

  it('says so when a successful command prints nothing (never an empty text block)', async () => {
    expect(textOf(await f.call('bash', { command: 'true' }))).toBe('(no output)');
  });

  it('reports a syntax error as a non-zero exit, and the shell keeps working', async () => {
    const out = await f.call('bash', { command: 'if then fi (' });
    expect(out.isError).toBe(false);
    expect(textOf(out)).toMatch(/syntax error[\s\S]*\[exit code 2\]$/);
    expect(textOf(await f.call('bash', { command: 'echo still here' }))).toBe('still here');
  });

  it('gives commands no stdin, so reading it does not hang', async () => {
    const out = await f.call('bash', { command: 'cat; echo done', timeout_ms: 5_000 });
    expect(textOf(out)).toBe('done');
  });

  it('kills a command at its timeout, reports isError, and restarts the shell', async () => {
    await f.call('bash', { command: 'cd /tmp && export KEEP=1' });
    const started = Date.now();
    const out = await f.call('bash', { command: 'echo before; sleep 30; echo after', timeout_ms: 500 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(out.isError).toBe(true);
    expect(textOf(out)).toContain('before');
    expect(textOf(out)).not.toMatch(/^after$/m);
    expect(textOf(out)).toContain('Command timed out after 500 ms and was killed');
    const next = await f.call('bash', { command: 'pwd; echo "KEEP=${KEEP:-unset}"' });
    expect(textOf(next)).toBe(`${f.rt.workspace}\nKEEP=unset`);
  });

  it('kills background children of a timed-out command too', async () => {
    const secs = `${30 + Math.floor(Math.random() * 1000) / 1000}`; // unique, so other tests' sleeps don't count
    await f.call('bash', { command: `(sleep ${secs}; touch late-marker) & sleep ${secs}`, timeout_ms: 300 });
    await new Promise((r) => setTimeout(r, 300));
    const out = await f.call('bash', { command: `pgrep -f "sleep ${secs}" >/dev/null && echo alive || echo gone` });
    expect(textOf(out)).toBe('gone');
  });

  it('restarts the shell on restart: true without a command', async () => {
    await f.call('bash', { command: 'export X=1; cd /' });
    const out = await f.call('bash', { restart: true });
    expect(out).toEqual({ content: [{ type: 'text', text: 'The shell was restarted.' }], isError: false });
    expect(textOf(await f.call('bash', { command: 'echo "${X:-unset}"; pwd' }))).toBe(`unset\n${f.rt.workspace}`);
  });

  it('runs the command in the fresh shell when restart and command are both given', async () => {
    await f.call('bash', { command: 'export X=1' });
    const out = await f.call('bash', { restart: true, command: 'echo "${X:-unset}"' });
    expect(textOf(out)).toBe('The shell was restarted.\nunset');
  });

  it('requires a command unless restarting', async () => {
    const out = await f.call('bash', {});
    expect(out.isError).toBe(true);
    expect(textOf(out)).toMatch(/missing required field 'command'/);
    expect(textOf(await f.call('bash', { command: '   ' }))).toMatch(/'command' must not be empty/);
  });

  it('truncates long output in the middle and says how much was cut', async () => {
    const out = await f.call('bash', { command: 'for i in $(seq 1 20000); do echo "line $i"; done' });
    const text = textOf(out);
    expect(out.isError).toBe(false);
    expect(text.startsWith('line 1\nline 2\n')).toBe(true);
    expect(text.endsWith('line 19999\nline 20000')).toBe(true);
    const m = text.match(/\[\.\.\. (\d+) characters truncated \.\.\.\]/);
    expect(m).not.toBeNull();
    // Full output (without the final newline) minus what is shown equals the count in the note.
    let full = '';
    for (let i = 1; i <= 20000; i++) full += `line ${i}\n`;
    full = full.slice(0, -1);
    // The head ends at a line break, so removing the note line leaves exactly the shown content.
    const shown = text.replace(/\[\.\.\. \d+ characters truncated \.\.\.\]\n/, '');
    expect(Number(m![1])).toBe(full.length - shown.length);
    expect(text.length).toBeLessThan(31_000);
  });

  it('reports output beyond the capture limit as not captured', async () => {
    const out = await f.call('bash', { command: 'head -c 1200000 /dev/zero | tr "\\0" x' });
    const text = textOf(out);
    expect(text).toMatch(/characters truncated/);
    expect(text).toMatch(/\[\.\.\. \d+ further bytes of output were not captured/);
  });

  it('rejects a timeout above the maximum with a clear message', async () => {
    const out = await f.call('bash', { command: 'true', timeout_ms: 600_001 });
    expect(out.isError).toBe(true);
    expect(textOf(out)).toBe("Invalid input for bash: 'timeout_ms' must be at most 600000 (got 600001)");
  });

  it('kills the command when the call is aborted', async () => {
    const ac = new AbortController();
    const pending = f.call('bash', { command: 'sleep 30' }, ac.signal);
    setTimeout(() => ac.abort(), 200);
    const out = await pending;
    expect(out.isError).toBe(true);
    expect(textOf(out)).toMatch(/interrupted/);
    expect(textOf(await f.call('bash', { command: 'echo ok' }))).toBe('ok');
  });
});
