// Shared set-up for the bubblewrap tests: a provider whose state lives in a fresh temporary
// directory, and sessions provisioned through it exactly as the tool runner does.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BwrapSandboxProvider, type BwrapSandboxProviderOptions, type ProvisionedRuntime } from '../../src/adapters/sandbox-bwrap/bwrap-provider.ts';
import type { SandboxSpec } from '../../src/ports/sandbox.ts';

export interface BwrapFixture {
  root: string;
  provider: BwrapSandboxProvider;
  /** Why bubblewrap cannot run here, if it cannot (tests skip then). */
  unavailable: string | undefined;
  provision(spec?: Partial<SandboxSpec>): Promise<ProvisionedRuntime & { spec: SandboxSpec }>;
  cleanup(): Promise<void>;
}

export function bwrapFixture(opts: Partial<BwrapSandboxProviderOptions> = {}): BwrapFixture {
  const root = mkdtempSync(join(tmpdir(), 'hangar-bwrap-'));
  // Private to the test's user, as a data dir under /root would be: sandboxes must work anyway.
  chmodSync(root, 0o700);
  const provider = new BwrapSandboxProvider({ stateDir: join(root, 'state'), ...opts });
  const live: ProvisionedRuntime[] = [];
  const unavailable = provider.unavailableReason();
  // Outside CI a machine without bubblewrap skips these suites; CI installs it, so there a missing
  // sandbox is a failure, never a silent skip of the escape suite.
  if (unavailable && process.env.CI === 'true') throw new Error(`bubblewrap must work in CI: ${unavailable}`);
  return {
    root,
    provider,
    unavailable,
    async provision(overrides = {}) {
      const sessionId = overrides.sessionId ?? `sesn_test_${randomBytes(6).toString('hex')}`;
      const dir = join(root, 'sandboxes', sessionId);
      mkdirSync(dir, { recursive: true });
      const spec: SandboxSpec = {
        sessionId,
        workspaceDir: join(dir, 'workspace'),
        outputsDir: join(dir, 'outputs'),
        mounts: [],
        network: { type: 'none' },
        limits: {},
        ...overrides,
      };
      const provisioned = await provider.provisionRuntime(spec, new AbortController().signal);
      live.push(provisioned);
      return { ...provisioned, spec };
    },
    async cleanup() {
      await Promise.all(live.map((p) => p.release()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
