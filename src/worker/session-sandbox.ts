// One session's sandbox on a worker machine: provisioned at the session's first tool call, reused,
// replaced when it dies (the workspace on disk survives), released when the worker is done with
// the session. The same provider the server uses (bubblewrap, or the explicit unsafe mode).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox, SandboxLimits, SandboxNetwork, SandboxProvider, SandboxSpec, ToolOutcome } from '../ports/sandbox.ts';

export interface SessionSandboxOptions {
  provider: SandboxProvider;
  /** The worker's data dir; the session's files live under `<dataDir>/sandboxes/<sessionId>/`. */
  dataDir: string;
  sessionId: string;
  network: SandboxNetwork;
  limits: SandboxLimits;
  logger: { warn(obj: object, msg: string): void };
}

const failure = (text: string): ToolOutcome => ({ content: [{ type: 'text', text }], isError: true });

export class SessionSandbox {
  private readonly o: SessionSandboxOptions;
  private current: Promise<Sandbox> | undefined;
  private closed = false;

  constructor(opts: SessionSandboxOptions) {
    this.o = opts;
  }

  get workspaceDir(): string {
    return join(this.o.dataDir, 'sandboxes', this.o.sessionId, 'workspace');
  }

  /** Runs one built-in tool call. Never rejects: a broken sandbox is an error result and is replaced next time. */
  async execute(tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome> {
    if (this.closed) return failure(`The worker released this session's sandbox; ${tool} did not run.`);
    const reason = this.o.provider.unavailableReason();
    if (reason) return failure(`The sandbox is unavailable on this worker, so ${tool} cannot run: ${reason}`);
    let sandbox: Sandbox;
    try {
      sandbox = await this.sandbox(signal);
    } catch (err) {
      this.current = undefined;
      return failure(`The sandbox could not be started: ${(err as Error).message}`);
    }
    try {
      return await sandbox.execute(tool, input, signal);
    } catch (err) {
      this.o.logger.warn({ err, sessionId: this.o.sessionId, tool }, 'sandbox failed; it will be replaced');
      await this.drop();
      return failure(`The sandbox failed while running ${tool} (${(err as Error).message}); a fresh sandbox will be provisioned for the next call. Files in /workspace are kept.`);
    }
  }

  /** Kills the sandbox's processes; the workspace stays. Idempotent. */
  async release(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async sandbox(signal: AbortSignal): Promise<Sandbox> {
    const existing = await this.current?.catch(() => undefined);
    if (existing?.alive) return existing;
    if (existing) await existing.release().catch(() => {});
    const root = join(this.o.dataDir, 'sandboxes', this.o.sessionId);
    const spec: SandboxSpec = {
      sessionId: this.o.sessionId,
      workspaceDir: join(root, 'workspace'),
      outputsDir: join(root, 'outputs'),
      mounts: [],
      network: this.o.network,
      limits: this.o.limits,
    };
    await mkdir(spec.workspaceDir, { recursive: true });
    await mkdir(spec.outputsDir, { recursive: true });
    this.current = this.o.provider.provision(spec, signal);
    return this.current;
  }

  private async drop(): Promise<void> {
    const pending = this.current;
    this.current = undefined;
    const sandbox = await pending?.catch(() => undefined);
    await sandbox?.release().catch((err) => this.o.logger.warn({ err, sessionId: this.o.sessionId }, 'sandbox release failed'));
  }
}
