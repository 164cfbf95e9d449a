// The sandbox port (the "hands"): a per-session isolated machine that runs built-in tool calls.
// Provisioned lazily at a session's first tool call, reused for later calls, treated as cattle:
// a dead sandbox is replaced and the failure is a tool error, never a crashed session.
export const SANDBOX_PORT_VERSION = 'v1';

export interface ToolOutcome {
  /** Content blocks for `agent.tool_result` (text; images as base64 image blocks). */
  content: Array<Record<string, unknown>>;
  isError: boolean;
}

/** A read-only file made visible inside the sandbox (session `file` resources). */
export interface SandboxMount {
  hostPath: string;
  /** Absolute path inside the sandbox, e.g. /mnt/session/uploads/file_x. */
  sandboxPath: string;
}

export type SandboxNetwork =
  | { type: 'none' }
  /** Egress only through the filtering proxy; `allowedHosts` null = any public host. */
  | { type: 'proxy'; allowedHosts: string[] | null };

export interface SandboxLimits {
  memoryBytes?: number;
  pids?: number;
  /** CPU share as a fraction of one core (e.g. 1 = one full core). */
  cpus?: number;
}

/** An environment's package layer (see docs/notes/envpkg.md), bound at PACKAGE_LAYER_DIR inside. */
export interface SandboxPackageLayer {
  hostPath: string;
  /** Only the sandbox that builds the layer may write it; every session sandbox gets it read-only. */
  writable?: boolean;
}

export interface SandboxSpec {
  sessionId: string;
  /** Host directory that is the sandbox's persistent, writable /workspace. */
  workspaceDir: string;
  /** Host directory bound writable at /mnt/session/outputs (captured as session files on idle). */
  outputsDir: string;
  mounts: SandboxMount[];
  network: SandboxNetwork;
  limits: SandboxLimits;
  /** The environment's installed packages, when it has any (ready layers only). */
  packageLayer?: SandboxPackageLayer;
}

export interface Sandbox {
  /**
   * Runs one built-in tool call (`bash`, `read`, `write`, `edit`, `glob`, `grep`). Tool failures
   * (bad input, non-zero exits, timeouts) resolve with `isError: true`; it rejects only when the
   * sandbox itself is broken, which makes the caller replace it. `signal` kills the whole process
   * tree the call started.
   */
  execute(tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome>;
  /** False once the sandbox died or was released; the caller then provisions a new one. */
  readonly alive: boolean;
  /**
   * Optional: moves a sandbox provisioned ahead of time (a warm-pool member, whose workspace and
   * outputs directories are fresh and empty) to its session: the directories are renamed to the
   * session's paths (the running sandbox keeps them mounted) and later processes use the new paths.
   * Called once, before the sandbox's first call for the session.
   */
  adopt?(target: { sessionId: string; workspaceDir: string; outputsDir: string }): Promise<void>;
  /** Kills every process of the sandbox. The workspace on disk is kept. Idempotent. */
  release(): Promise<void>;
}

export interface SandboxProvider {
  /** Why sandboxes cannot run here (e.g. bubblewrap missing), or undefined when they can. */
  unavailableReason(): string | undefined;
  /**
   * One line per resource limit (memory, pids, cpu) the sandboxes cannot enforce here, saying why;
   * empty when all hold. Optional: providers without limits to report leave it out.
   */
  limitWarnings?(): string[];
  provision(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox>;
}
