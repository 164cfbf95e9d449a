import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeSandbox, SandboxUnavailableError } from '../../src/tools/runtime-sandbox.ts';
import { SANDBOX_TOOLS, sandboxToolDefinitions } from '../../src/tools/sandbox-tools.ts';
import type { ExecOptions, ExecResult, SandboxRuntime, ShellResult } from '../../src/tools/runtime.ts';
import { HostRuntime } from '../kit/host-runtime.ts';
import { textOf } from './runtimes.ts';

const never = new AbortController().signal;

/** A runtime whose every method throws, as a broken sandbox would. */
class BrokenRuntime implements SandboxRuntime {
  readonly workspace = '/workspace';
  readonly outputsDir = '/mnt/session/outputs';
  calls = 0;
  async exec(_argv: string[], _opts: ExecOptions): Promise<ExecResult> {
    this.calls++;
    throw new Error('bwrap: sandbox process died');
  }
  async shell(_c: string, _o: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal }): Promise<ShellResult> {
    this.calls++;
    throw new Error('bwrap: sandbox process died');
  }
  async restartShell(): Promise<void> {
    throw new Error('bwrap: sandbox process died');
  }
}

describe('RuntimeSandbox', () => {
  let host: HostRuntime;
  let sandbox: RuntimeSandbox;
  let releases: number;
  beforeEach(() => {
    host = new HostRuntime();
    releases = 0;
    sandbox = new RuntimeSandbox(host, {
      release: async () => {
        releases++;
        await host.dispose();
      },
    });
  });
  afterEach(async () => {
    await sandbox.release();
  });

  it('dispatches to the tool', async () => {
    const out = await sandbox.execute('bash', { command: 'echo hi' }, never);
    expect(out).toEqual({ content: [{ type: 'text', text: 'hi' }], isError: false });
  });

  it('answers an unknown tool with an error naming the available ones', async () => {
    const out = await sandbox.execute('web_fetch', { url: 'https://example.com' }, never);
    expect(out).toEqual({
      content: [{ type: 'text', text: "Unknown tool 'web_fetch'. Available tools: bash, read, write, edit, glob, grep" }],
      isError: true,
    });
  });

  it.each([
    ['read', {}, "Invalid input for read: missing required field 'file_path'"],
    ['read', { file_path: 42 }, "Invalid input for read: 'file_path' must be a string (got integer)"],
    ['read', { file_path: 'a', offset: 10 }, "Invalid input for read: unknown field 'offset' (read accepts: file_path, view_range)"],
    ['read', { file_path: 'a', view_range: [1.5, 3] }, "Invalid input for read: 'view_range' item 0 must be an integer (got 1.5)"],
    ['write', { file_path: 'a' }, "Invalid input for write: missing required field 'content'"],
    ['write', { file_path: 'a', content: ['x'] }, "Invalid input for write: 'content' must be a string (got array)"],
    ['edit', { file_path: 'a', old_string: 'x' }, "Invalid input for edit: missing required field 'new_string'"],
    ['edit', { file_path: 'a', old_string: 'x', new_string: 'y', replace_all: 'yes' }, "Invalid input for edit: 'replace_all' must be a boolean (got string)"],
    ['bash', { command: 'ls', timeout_ms: '5000' }, "Invalid input for bash: 'timeout_ms' must be a number (got string)"],
    ['bash', { command: 'ls', timeout_ms: 0 }, "Invalid input for bash: 'timeout_ms' must be at least 1 (got 0)"],
    ['bash', { restart: 'true' }, "Invalid input for bash: 'restart' must be a boolean (got string)"],
    ['glob', { path: '/' }, "Invalid input for glob: missing required field 'pattern'"],
    ['grep', { pattern: /x/ as unknown }, "Invalid input for grep: 'pattern' must be a string (got object)"],
  ])('rejects invalid %s input %j with a message naming the field', async (tool, input, message) => {
    const out = await sandbox.execute(tool, input as Record<string, unknown>, never);
    expect(out).toEqual({ content: [{ type: 'text', text: message }], isError: true });
  });

  it('rejects input that is not an object', async () => {
    const out = await sandbox.execute('bash', null as unknown as Record<string, unknown>, never);
    expect(textOf(out)).toBe('Invalid input for bash: input must be a JSON object (got null)');
  });

  it('treats null optional fields as absent', async () => {
    const out = await sandbox.execute('bash', { command: 'echo ok', restart: null, timeout_ms: null }, never);
    expect(out).toEqual({ content: [{ type: 'text', text: 'ok' }], isError: false });
  });

  it('resolves an interrupted result without running anything when the signal already fired', async () => {
    const ac = new AbortController();
    ac.abort();
    const out = await sandbox.execute('bash', { command: 'touch ran' }, ac.signal);
    expect(out.isError).toBe(true);
    expect(textOf(out)).toMatch(/interrupted/);
    expect(textOf(await sandbox.execute('bash', { command: 'ls' }, never))).toBe('(no output)');
  });

  it('is alive until released; release is idempotent; execute then rejects', async () => {
    expect(sandbox.alive).toBe(true);
    await Promise.all([sandbox.release(), sandbox.release()]);
    await sandbox.release();
    expect(releases).toBe(1);
    expect(sandbox.alive).toBe(false);
    await expect(sandbox.execute('bash', { command: 'true' }, never)).rejects.toBeInstanceOf(SandboxUnavailableError);
  });

  it('reports not alive when the runtime says it died, and rejects calls', async () => {
    let running = true;
    const s = new RuntimeSandbox(host, { release: async () => {}, isAlive: () => running });
    expect(s.alive).toBe(true);
    running = false;
    expect(s.alive).toBe(false);
    await expect(s.execute('read', { file_path: 'x' }, never)).rejects.toThrow(/no longer running/);
  });
});

describe('RuntimeSandbox over a broken runtime', () => {
  it.each([
    ['bash', { command: 'ls' }],
    ['bash', { restart: true }],
    ['read', { file_path: 'a.txt' }],
    ['write', { file_path: 'a.txt', content: 'x' }],
    ['edit', { file_path: 'a.txt', old_string: 'a', new_string: 'b' }],
    ['glob', { pattern: '*' }],
    ['grep', { pattern: 'x' }],
  ])('propagates the runtime exception from %s as a rejection', async (tool, input) => {
    const rt = new BrokenRuntime();
    const s = new RuntimeSandbox(rt, { release: async () => {} });
    await expect(s.execute(tool, input, never)).rejects.toThrow('bwrap: sandbox process died');
  });

  it('still answers validation errors without touching the runtime', async () => {
    const rt = new BrokenRuntime();
    const s = new RuntimeSandbox(rt, { release: async () => {} });
    expect((await s.execute('read', {}, never)).isError).toBe(true);
    expect(rt.calls).toBe(0);
  });

  it('turns an exception raised because the call was aborted into an interrupted result', async () => {
    const ac = new AbortController();
    const rt = new BrokenRuntime();
    rt.exec = async () => {
      ac.abort();
      throw new DOMException('aborted', 'AbortError');
    };
    const s = new RuntimeSandbox(rt, { release: async () => {} });
    const out = await s.execute('read', { file_path: 'a' }, ac.signal);
    expect(out.isError).toBe(true);
    expect(textOf(out)).toMatch(/interrupted/);
  });
});

describe('sandbox tool definitions', () => {
  it('lists the six sandbox tools', () => {
    expect([...SANDBOX_TOOLS.keys()]).toEqual(['bash', 'read', 'write', 'edit', 'glob', 'grep']);
  });

  it('returns definitions in the order asked, skipping tools the sandbox does not serve', () => {
    const defs = sandboxToolDefinitions(['grep', 'web_fetch', 'bash', 'web_search', 'bash']);
    expect(defs.map((d) => d.name)).toEqual(['grep', 'bash']);
    for (const d of defs) {
      expect(Object.keys(d)).toEqual(['name', 'description', 'input_schema']);
      expect(d.description.length).toBeGreaterThan(50);
      expect(d.input_schema.type).toBe('object');
    }
  });

  it('has input schemas matching the API spec field names', () => {
    const props = (name: string) => Object.keys((SANDBOX_TOOLS.get(name)!.input_schema.properties ?? {}));
    expect(props('bash')).toEqual(['command', 'restart', 'timeout_ms']);
    expect(props('read')).toEqual(['file_path', 'view_range']);
    expect(props('write')).toEqual(['file_path', 'content']);
    expect(props('edit')).toEqual(['file_path', 'old_string', 'new_string', 'replace_all']);
    expect(props('glob')).toEqual(['pattern', 'path']);
    expect(props('grep')).toEqual(['pattern', 'path']);
  });

  it('hands out copies of the schemas', () => {
    const [def] = sandboxToolDefinitions(['read']);
    (def.input_schema as { required: string[] }).required.push('mutated');
    expect(SANDBOX_TOOLS.get('read')!.input_schema.required).toEqual(['file_path']);
  });
});
