// The UNSAFE local runtime against the shared runtime contract (it confines nothing, so only the
// contract applies), plus the checks that it scrubs the environment (shell and exec) and kills
// process groups.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { UnsafeLocalRuntime } from '../../src/adapters/sandbox-unsafe-local/unsafe-local-runtime.ts';
import { UnsafeLocalSandboxProvider, UNSAFE_WARNING } from '../../src/adapters/sandbox-unsafe-local/unsafe-local-provider.ts';
import { runSandboxRuntimeSuite } from '../kit/sandbox-suite.ts';

function makeRuntime() {
  const root = mkdtempSync(join(tmpdir(), 'hangar-unsafe-'));
  chmodSync(root, 0o755);
  const runtime = new UnsafeLocalRuntime({ workspaceDir: join(root, 'workspace'), outputsDir: join(root, 'outputs') });
  return {
    runtime,
    cleanup: async () => {
      await runtime.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

runSandboxRuntimeSuite('UnsafeLocalRuntime', async () => makeRuntime());

describe('UnsafeLocalRuntime', () => {
  const subject = makeRuntime();
  const rt = subject.runtime;
  const opts = () => ({ timeoutMs: 5000, maxOutputBytes: 10_000, signal: new AbortController().signal });
  afterAll(() => subject.cleanup());

  it('uses the host workspace path and never passes the host environment through', async () => {
    expect(rt.workspace.startsWith(tmpdir())).toBe(true);
    const res = await rt.shell('env | cut -d= -f1 | sort | tr "\\n" " "', opts());
    expect(res.output.trim().split(' ').filter((n) => !['PWD', '_', 'OLDPWD'].includes(n))).toEqual(['HOME', 'LANG', 'PATH', 'SHLVL', 'TERM']);
  });

  it('exec never passes the host environment through either (only its own minimal one)', async () => {
    const canary = `canary-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    process.env.HANGAR_TEST_HOST_SECRET = canary;
    try {
      const res = await rt.exec(['env'], opts());
      expect(res.exitCode).toBe(0);
      const env = res.stdout.toString('utf8');
      expect(env).not.toContain(canary);
      const names = env.trim().split('\n').map((l) => l.split('=')[0]).sort();
      expect(names).toEqual(['HOME', 'LANG', 'PATH', 'SHLVL', 'TERM']);
      expect(env).toContain(`HOME=${rt.workspace}\n`);
    } finally {
      delete process.env.HANGAR_TEST_HOST_SECRET;
    }
  });

  it('abort kills background children of the shell', async () => {
    const marker = `1000.${Date.now() % 1_000_000}1`;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const res = await rt.shell(`sleep ${marker} & sleep ${marker} & wait`, { ...opts(), signal: ac.signal });
    expect(res.exitCode).toBeNull();
    expect(spawnSync('pgrep', ['-f', `sleep ${marker}`]).status).toBe(1);
  });

  it('is not alive after close, and its provider warns loudly', async () => {
    const warnings: string[] = [];
    const provider = new UnsafeLocalSandboxProvider({ logger: { warn: (_o, msg) => warnings.push(msg) } });
    expect(warnings).toEqual([UNSAFE_WARNING]);
    expect(provider.unavailableReason()).toBeUndefined();
    const root = mkdtempSync(join(tmpdir(), 'hangar-unsafe-'));
    const sandbox = await provider.provision(
      { sessionId: 's', workspaceDir: join(root, 'w'), outputsDir: join(root, 'o'), mounts: [], network: { type: 'none' }, limits: {} },
      new AbortController().signal,
    );
    expect(sandbox.alive).toBe(true);
    await sandbox.release();
    expect(sandbox.alive).toBe(false);
    rmSync(root, { recursive: true, force: true });
  });
});
