// `hangar worker`: serves a self-hosted environment's work queue from this machine. The protocol
// (poll, ack, heartbeat, per-item session token, event stream, tool results, force stop) is the
// official SDK's own EnvironmentWorker, so Hangar's worker behaves exactly like any other; what
// Hangar adds is where the tools run: each session's calls go to its own sandbox on this machine.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import type { SandboxLimits, SandboxNetwork, SandboxProvider } from '../ports/sandbox.ts';
import { SessionSandbox } from './session-sandbox.ts';
import { sandboxRunnableTools } from './worker-tools.ts';

/** The slice of a pino logger the worker writes to. */
export interface WorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface HangarWorkerOptions {
  /** The Hangar server, e.g. http://127.0.0.1:8700. */
  baseUrl: string;
  environmentId: string;
  /** The environment key (`sk-ant-oat01-…`); polling uses it, each item's calls use the item's session token. */
  environmentKey: string;
  /** Sessions' workspaces live under `<dataDir>/sandboxes/<sessionId>/`. */
  dataDir: string;
  provider: SandboxProvider;
  network: SandboxNetwork;
  limits: SandboxLimits;
  /** Leave a session this long after its turn ended with no new event (SDK default 60 s). */
  maxIdleMs?: number;
  /** `Anthropic-Worker-ID` (default: host name + a random id). */
  workerId?: string;
  logger: WorkerLogger;
}

export class HangarWorker {
  private readonly o: HangarWorkerOptions;

  constructor(opts: HangarWorkerOptions) {
    this.o = opts;
  }

  /** Polls and serves sessions until `signal` aborts; rejects when the server refuses the key (401/403/404). */
  async run(signal: AbortSignal): Promise<void> {
    const { o } = this;
    const workdir = join(o.dataDir, 'work');
    mkdirSync(workdir, { recursive: true });
    const client = new Anthropic({
      baseURL: o.baseUrl,
      apiKey: null,
      authToken: o.environmentKey,
      logger: sdkLogger(o.logger),
      logLevel: 'info',
    });
    const worker = client.beta.environments.work.worker({
      environmentId: o.environmentId,
      environmentKey: o.environmentKey,
      workdir,
      tools: (ctx) => sandboxRunnableTools(new SessionSandbox({
        provider: o.provider, dataDir: o.dataDir, sessionId: ctx.session?.id ?? 'unknown', network: o.network, limits: o.limits, logger: o.logger,
      })),
      // Hangar has no memory stores yet; nothing to mount or sync.
      memorySyncIntervalMs: null,
      ...(o.maxIdleMs !== undefined ? { maxIdleMs: o.maxIdleMs } : {}),
      ...(o.workerId !== undefined ? { workerId: o.workerId } : {}),
    });
    o.logger.info({ environmentId: o.environmentId, server: o.baseUrl, dataDir: o.dataDir }, 'hangar worker polling');
    await worker.run(signal);
  }
}

/**
 * The SDK's per-request line (`[log_…] get …/work/poll succeeded with status 204 in 3ms`) at info
 * would log every poll, day and night; successful requests go to debug. Failures stay at info.
 */
const SDK_REQUEST_OK = /^\[[^\]]*\] \w+ \S+ succeeded with status \d+ in \d+ms$/;

/** The SDK logs `(message, fields?)`; pino takes `(fields, message)`. */
function sdkLogger(log: WorkerLogger) {
  const at = (level: keyof WorkerLogger) => (message: string, ...rest: unknown[]) => {
    const fields = rest.find((r) => r !== null && typeof r === 'object') as object | undefined;
    log[level === 'info' && SDK_REQUEST_OK.test(message) ? 'debug' : level](fields ?? {}, message);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
