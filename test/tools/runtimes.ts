// The runtimes the tool suites run against: the host runtime (test only, no isolation) and, where
// bubblewrap works, the real sandbox runtime, so every tool test runs on both. Each entry creates a
// fresh runtime with an empty workspace.
import { afterAll } from 'vitest';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BwrapSandboxProvider } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import type { SandboxRuntime } from '../../src/tools/runtime.ts';
import { RuntimeSandbox } from '../../src/tools/runtime-sandbox.ts';
import type { ToolOutcome } from '../../src/ports/sandbox.ts';
import { HostRuntime } from '../kit/host-runtime.ts';

export interface RuntimeFixture {
  rt: SandboxRuntime;
  sandbox: RuntimeSandbox;
  /** Runs a shell snippet in the workspace through `exec` (for setting up files). */
  sh(script: string): Promise<string>;
  call(tool: string, input: Record<string, unknown>, signal?: AbortSignal): Promise<ToolOutcome>;
  dispose(): Promise<void>;
}

export interface RuntimeFactory {
  name: string;
  create(): Promise<RuntimeFixture>;
}

function fixture(rt: SandboxRuntime, release: () => Promise<void>): RuntimeFixture {
  const sandbox = new RuntimeSandbox(rt, { release });
  return {
    rt,
    sandbox,
    async sh(script) {
      const res = await rt.exec(['bash', '-c', script], { timeoutMs: 10_000, maxOutputBytes: 1 << 20, signal: new AbortController().signal });
      if (res.exitCode !== 0) throw new Error(`setup failed (${res.exitCode}): ${res.stderr.toString()}`);
      return res.stdout.toString();
    },
    call: (tool, input, signal = new AbortController().signal) => sandbox.execute(tool, input, signal),
    dispose: () => sandbox.release(),
  };
}

const host: RuntimeFactory = {
  name: 'host (test only)',
  async create() {
    const rt = new HostRuntime();
    return fixture(rt, () => rt.dispose());
  },
};

/** One provider (and bubblewrap probe) per test file; its state directory goes when the process ends. */
function bwrapFactory(): RuntimeFactory | undefined {
  const stateRoot = mkdtempSync(join(tmpdir(), 'hangar-tools-bwrap-'));
  chmodSync(stateRoot, 0o700); // private, like a data dir under /root: sandboxes reach it anyway
  // Vitest ends its workers without a normal exit, so clean up with the file's own hook.
  afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));
  const provider = new BwrapSandboxProvider({ stateDir: join(stateRoot, 'state') });
  const reason = provider.unavailableReason();
  if (reason) {
    // CI installs bubblewrap: there a missing sandbox fails the suite instead of shrinking it.
    if (process.env.CI === 'true') throw new Error(`the tool tests must run on bubblewrap in CI: ${reason}`);
    console.warn(`tool tests skip the bubblewrap runtime: ${reason}`);
    return undefined;
  }
  return {
    name: 'bubblewrap',
    async create() {
      const id = randomBytes(6).toString('hex');
      const dir = join(stateRoot, id);
      const { runtime, release } = await provider.provisionRuntime(
        {
          sessionId: `sesn_tooltest_${id}`,
          workspaceDir: join(dir, 'workspace'),
          outputsDir: join(dir, 'outputs'),
          mounts: [],
          network: { type: 'none' },
          limits: {},
        },
        new AbortController().signal,
      );
      return fixture(runtime, async () => {
        await release();
        rmSync(dir, { recursive: true, force: true });
      });
    },
  };
}

export const RUNTIMES: RuntimeFactory[] = [host, bwrapFactory()].filter((f): f is RuntimeFactory => f !== undefined);

/** The text of all text blocks of an outcome. */
export function textOf(outcome: ToolOutcome): string {
  return outcome.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text as string)
    .join('\n');
}
