// UNSAFE: NO ISOLATION. The provider for UnsafeLocalRuntime, for operators without bubblewrap who
// opt in explicitly. It warns loudly when constructed and at every provision. Session file mounts
// are not mapped (there is no private /mnt here), limits are not enforced and network access is
// whatever the host has.
import type { Sandbox, SandboxProvider, SandboxSpec } from '../../ports/sandbox.ts';
import { RuntimeSandbox } from '../../tools/runtime-sandbox.ts';
import { UnsafeLocalRuntime } from './unsafe-local-runtime.ts';

export interface UnsafeLocalLogger {
  warn(obj: object, msg: string): void;
}

export interface UnsafeLocalSandboxProviderOptions {
  logger: UnsafeLocalLogger;
  /** PATH for commands (the host environment is never passed through). */
  path?: string;
}

export const UNSAFE_WARNING =
  'UNSAFE LOCAL SANDBOX: agent commands run directly on this host as the Hangar user, with NO isolation ' +
  '(no filesystem, process, network or resource confinement). Use only with trusted agents on a disposable machine.';

export class UnsafeLocalSandboxProvider implements SandboxProvider {
  private readonly opts: UnsafeLocalSandboxProviderOptions;

  constructor(opts: UnsafeLocalSandboxProviderOptions) {
    this.opts = opts;
    opts.logger.warn({ sandbox: 'unsafe-local' }, UNSAFE_WARNING);
  }

  unavailableReason(): string | undefined {
    return undefined;
  }

  async provision(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox> {
    signal.throwIfAborted();
    this.opts.logger.warn(
      { sessionId: spec.sessionId, workspace: spec.workspaceDir, unmappedMounts: spec.mounts.length, network: spec.network.type },
      UNSAFE_WARNING,
    );
    const runtime = new UnsafeLocalRuntime({ workspaceDir: spec.workspaceDir, outputsDir: spec.outputsDir, path: this.opts.path });
    return new RuntimeSandbox(runtime, { release: () => runtime.close(), isAlive: () => runtime.alive });
  }
}
