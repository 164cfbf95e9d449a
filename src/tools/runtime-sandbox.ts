// A `Sandbox` (the harness's port) made from any `SandboxRuntime`: validates and dispatches
// built-in tool calls to the tools, which do all their work through the runtime.
import type { Sandbox, ToolOutcome } from '../ports/sandbox.ts';
import { errorOutcome, INTERRUPTED_MESSAGE } from './builtin-tool.ts';
import type { SandboxRuntime } from './runtime.ts';
import { SANDBOX_TOOLS } from './sandbox-tools.ts';

/** Thrown by `execute` after `release()` or once the runtime reports itself dead. */
export class SandboxUnavailableError extends Error {
  readonly code = 'sandbox_unavailable';
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface RuntimeSandboxOptions {
  /** Tears the runtime down (kills its processes). Called at most once. */
  release: () => Promise<void>;
  /** Whether the runtime is still usable (e.g. the bubblewrap process is running). Default: always. */
  isAlive?: () => boolean;
  /** Hands a pre-provisioned runtime to its session (see `Sandbox.adopt`); absent: not adoptable. */
  adopt?: (target: { sessionId: string; workspaceDir: string; outputsDir: string }) => Promise<void>;
}

export class RuntimeSandbox implements Sandbox {
  readonly #runtime: SandboxRuntime;
  readonly #release: () => Promise<void>;
  readonly #isAlive: () => boolean;
  #released: Promise<void> | undefined;

  readonly adopt?: (target: { sessionId: string; workspaceDir: string; outputsDir: string }) => Promise<void>;

  constructor(runtime: SandboxRuntime, opts: RuntimeSandboxOptions) {
    this.#runtime = runtime;
    this.#release = opts.release;
    this.#isAlive = opts.isAlive ?? (() => true);
    if (opts.adopt) this.adopt = opts.adopt;
  }

  get alive(): boolean {
    return this.#released === undefined && this.#isAlive();
  }

  /**
   * Unknown tools and invalid input resolve `isError: true` with a message naming the problem.
   * Rejects (so the caller replaces the sandbox) when released/dead or when the runtime throws,
   * except that an exception after `signal` fired counts as the interruption it is.
   */
  async execute(tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome> {
    if (!this.alive) throw new SandboxUnavailableError(this.#released ? 'sandbox was released' : 'sandbox is no longer running');
    const impl = SANDBOX_TOOLS.get(tool);
    if (!impl) return errorOutcome(`Unknown tool '${tool}'. Available tools: ${[...SANDBOX_TOOLS.keys()].join(', ')}`);
    if (signal.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
    try {
      return await impl.run(input, this.#runtime, signal);
    } catch (err) {
      if (signal.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
      throw err;
    }
  }

  /** Idempotent; concurrent callers share one teardown. */
  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }
}
