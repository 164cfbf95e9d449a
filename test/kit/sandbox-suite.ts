// The SandboxRuntime contract, written once and run against every runtime (bubblewrap, the unsafe
// local runtime, a remote worker's): persistent shell state, exit codes, output caps, timeouts and
// aborts that kill the process tree, exec with stdin/cwd, restartShell.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRuntime } from '../../src/tools/runtime.ts';

export interface RuntimeUnderTest {
  runtime: SandboxRuntime;
  cleanup(): Promise<void>;
}

const LIMITS = { timeoutMs: 10_000, maxOutputBytes: 64 * 1024 };

function never(): AbortSignal {
  return new AbortController().signal;
}

export function runSandboxRuntimeSuite(name: string, makeRuntime: () => Promise<RuntimeUnderTest>): void {
  describe(`SandboxRuntime contract: ${name}`, () => {
    let subject: RuntimeUnderTest;
    let rt: SandboxRuntime;
    const sh = (command: string, opts: Partial<typeof LIMITS> & { signal?: AbortSignal } = {}) =>
      rt.shell(command, { ...LIMITS, signal: never(), ...opts });
    const exec = (argv: string[], opts: Partial<typeof LIMITS> & { signal?: AbortSignal; stdin?: string; cwd?: string } = {}) =>
      rt.exec(argv, { ...LIMITS, signal: never(), ...opts });

    beforeAll(async () => {
      subject = await makeRuntime();
      rt = subject.runtime;
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('keeps the working directory and exported variables across shell calls', async () => {
      expect((await sh('mkdir -p sub && cd sub && export HANGAR_T=kept && LOCAL_T=also')).exitCode).toBe(0);
      const res = await sh('pwd; echo "$HANGAR_T $LOCAL_T"; cd "$HOME"');
      expect(res.output).toBe(`${rt.workspace}/sub\nkept also\n`);
    });

    it('starts in the workspace with HOME pointing at it', async () => {
      await sh('cd "$HOME"');
      expect((await sh('pwd; echo "$HOME"')).output).toBe(`${rt.workspace}\n${rt.workspace}\n`);
    });

    it('reports exit codes and merges stderr into the output in order', async () => {
      const res = await sh('echo out; echo err >&2; echo out2; (exit 3)');
      expect(res).toEqual({ output: 'out\nerr\nout2\n', exitCode: 3, timedOut: false, droppedBytes: 0 });
      expect((await sh('true')).exitCode).toBe(0);
      expect((await sh('false')).exitCode).toBe(1);
    });

    it('keeps output without a trailing newline, heredocs and quotes intact', async () => {
      expect((await sh('printf abc')).output).toBe('abc');
      expect((await sh('printf ""')).output).toBe('');
      const heredoc = "cat <<'EOF'\nline 'one'\n$HOME \"two\"\nEOF";
      expect((await sh(heredoc)).output).toBe('line \'one\'\n$HOME "two"\n');
      expect((await sh("echo 'it'\\''s'")).output).toBe("it's\n");
    });

    it('gives commands that read stdin an empty input instead of hanging', async () => {
      const res = await sh('cat; read -r x; echo "[$x]"', { timeoutMs: 5000 });
      expect(res).toMatchObject({ output: '[]\n', timedOut: false });
    });

    it('survives a syntax error and a command that exits the shell', async () => {
      const bad = await sh('echo "unterminated');
      expect(bad.exitCode).not.toBe(0);
      expect(bad.timedOut).toBe(false);
      expect((await sh('echo fine')).output).toBe('fine\n');
      const exit = await sh('echo bye; exit 7');
      expect(exit).toMatchObject({ output: 'bye\n', exitCode: 7 });
      expect((await sh('echo back')).output).toBe('back\n');
    });

    it('caps shell output and counts the dropped bytes', async () => {
      const res = await sh("head -c 100000 /dev/zero | tr '\\0' a; echo", { maxOutputBytes: 1000 });
      expect(res.output).toBe('a'.repeat(1000));
      expect(res.droppedBytes).toBe(99_001);
      expect(res.exitCode).toBe(0);
    });

    it('kills a command that times out, reports it, and the next call works', async () => {
      const started = Date.now();
      const res = await sh('echo before; sleep 30', { timeoutMs: 300 });
      expect(res).toMatchObject({ output: 'before\n', exitCode: null, timedOut: true });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await sh('echo after')).toMatchObject({ output: 'after\n', exitCode: 0 });
    });

    it('kills the running command when the signal aborts', async () => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const started = Date.now();
      const res = await sh('sleep 30', { signal: ac.signal });
      expect(res).toMatchObject({ exitCode: null, timedOut: false });
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await sh('echo alive')).output).toBe('alive\n');
    });

    it('runs nothing for an already aborted signal', async () => {
      const ac = new AbortController();
      ac.abort();
      expect((await sh('touch ran-anyway', { signal: ac.signal })).exitCode).toBeNull();
      expect((await exec(['touch', 'ran-anyway'], { signal: ac.signal })).exitCode).toBeNull();
      expect((await sh('test -e ran-anyway')).exitCode).toBe(1);
    });

    it('serializes concurrent shell calls', async () => {
      const [a, b] = await Promise.all([sh('sleep 0.2; echo a'), sh('echo b')]);
      expect(a.output).toBe('a\n');
      expect(b.output).toBe('b\n');
    });

    it('restartShell resets the working directory and variables', async () => {
      await sh('export GONE=1; cd /');
      await rt.restartShell();
      expect((await sh('echo "[$GONE]"; pwd')).output).toBe(`[]\n${rt.workspace}\n`);
    });

    it('exec passes stdin and returns stdout, stderr and the exit code', async () => {
      const cat = await exec(['cat'], { stdin: 'hello\nworld' });
      expect(cat).toMatchObject({ exitCode: 0, timedOut: false, truncated: false });
      expect(cat.stdout.toString()).toBe('hello\nworld');
      const fail = await exec(['sh', '-c', 'echo e >&2; echo o; exit 4']);
      expect(fail.exitCode).toBe(4);
      expect(fail.stdout.toString()).toBe('o\n');
      expect(fail.stderr.toString()).toBe('e\n');
    });

    it('exec runs in the workspace by default and honours cwd', async () => {
      expect((await exec(['pwd'])).stdout.toString()).toBe(`${rt.workspace}\n`);
      expect((await exec(['pwd'], { cwd: '/' })).stdout.toString()).toBe('/\n');
    });

    it('exec shares the workspace with the shell', async () => {
      await sh('echo shared > shared.txt');
      expect((await exec(['cat', 'shared.txt'])).stdout.toString()).toBe('shared\n');
    });

    it('never sources a .bashrc the agent left in the workspace', async () => {
      await sh('echo "echo SOURCED; echo SOURCED >&2" > .bashrc');
      const res = await exec(['bash', '-c', 'echo hi']);
      expect(res.stdout.toString()).toBe('hi\n');
      expect(res.stderr.toString()).toBe('');
      await rt.restartShell();
      expect((await sh('echo hi')).output).toBe('hi\n');
      await sh('rm .bashrc');
    });

    it('exec caps each output stream', async () => {
      const res = await exec(['sh', '-c', 'head -c 5000 /dev/zero; head -c 10 /dev/zero >&2'], { maxOutputBytes: 100 });
      expect(res.stdout.length).toBe(100);
      expect(res.stderr.length).toBe(10);
      expect(res.truncated).toBe(true);
      expect(res.exitCode).toBe(0);
    });

    it('exec reports a program that does not exist as exit 127', async () => {
      const res = await exec(['hangar-no-such-program']);
      expect(res.exitCode).toBe(127);
      expect(res.stderr.length).toBeGreaterThan(0);
    });

    it('exec timeout and abort kill the process tree', async () => {
      const started = Date.now();
      const timed = await exec(['sh', '-c', 'sleep 30 & sleep 30; wait'], { timeoutMs: 300 });
      expect(timed).toMatchObject({ exitCode: null, timedOut: true });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const aborted = await exec(['sleep', '30'], { signal: ac.signal });
      expect(aborted).toMatchObject({ exitCode: null, timedOut: false });
      expect(Date.now() - started).toBeLessThan(8000);
    });
  });
}
