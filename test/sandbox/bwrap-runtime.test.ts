// BwrapRuntime against the shared runtime contract, plus what only a real sandbox does: uid 1000
// inside, workspace ownership on the host, egress through the proxy socket, liveness.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSandboxRuntimeSuite } from '../kit/sandbox-suite.ts';
import { bwrapFixture, type BwrapFixture } from './bwrap-fixture.ts';

const probe = bwrapFixture();
const skip = probe.unavailable !== undefined;
await probe.cleanup();

describe.skipIf(skip)('BwrapRuntime', () => {
  runSandboxRuntimeSuite('BwrapRuntime', async () => {
    const fx = bwrapFixture();
    const { runtime } = await fx.provision();
    return { runtime, cleanup: () => fx.cleanup() };
  });
});
