// The composition root: wires the store, bus, model, tools, harness, session service and HTTP app
// from a parsed config. Used by `main.ts` (the CLI entry point) and by in-process tests.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { HangarConfig } from './config.ts';
import { ConfigError } from './config.ts';
import { openStore } from './store-select.ts';
import { MemoryEventBus } from '../adapters/bus-memory/memory-event-bus.ts';
import { ModelCatalog } from '../domain/model-routing.ts';
import { modelsConfig } from './models-config.ts';
import { createModelClient, modelContextLimits, routingProblems } from './model-providers.ts';
import { FsBlobStore } from '../adapters/blob-fs/fs-blob-store.ts';
import { systemClock, isoAt, type Clock } from '../ports/clock.ts';
import type { ModelClient } from '../ports/model.ts';
import type { Store } from '../ports/store.ts';
import { SessionLog } from '../harness/session-log.ts';
import { Harness } from '../harness/harness.ts';
import { SessionService } from '../harness/session-service.ts';
import { FileService, type FileServiceOptions } from '../harness/file-service.ts';
import type { ToolRunner } from '../harness/tool-runner.ts';
import type { SandboxProvider } from '../ports/sandbox.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { SandboxToolRunner } from '../tools/sandbox-tool-runner.ts';
import { BwrapSandboxProvider } from '../adapters/sandbox-bwrap/bwrap-provider.ts';
import { UnsafeLocalSandboxProvider } from '../adapters/sandbox-unsafe-local/unsafe-local-provider.ts';
import { createEgressProxyStarter } from '../adapters/egress-proxy/egress-proxy.ts';
import { bootstrapApiKey } from './auth.ts';
import { PriceTable } from '../domain/pricing.ts';
import { ServerTools } from '../tools/server-tools.ts';
import type { ServerToolRunner } from '../harness/tool-runner.ts';
import { McpSessionPool } from '../adapters/mcp/mcp-session-pool.ts';
import { guardedFetch } from '../adapters/net-guard/guarded-fetch.ts';
import { createGuardedFetchLike } from '../adapters/net-guard/guarded-fetch-like.ts';
import { SearxngSearchProvider } from '../adapters/web-search-searxng/searxng-search-provider.ts';
import type { McpConnector, McpCredential as PoolCredential } from '../ports/mcp.ts';
import { VaultService } from '../harness/vault-service.ts';
import { openSecretBox } from '../adapters/secret-box/master-key.ts';
import { MasterKeyError, type SecretBox } from '../ports/secret-box.ts';
import { RepositoryService } from '../harness/repository-service.ts';
import { sessionResourceResolver } from '../harness/session-resources.ts';
import { GitRepositoryCloner } from '../adapters/git-clone/repository-clone.ts';
import { EnvironmentPackages } from '../harness/environment-packages.ts';
import { BwrapLayerBuilder, aptSourceHosts, registryHosts } from '../adapters/package-layer/bwrap-layer-builder.ts';
import { PACKAGE_MANAGERS, type EnvironmentObject } from '../domain/environments.ts';
import { buildApp } from './app.ts';
import { assertKnownModel } from './routes/models.ts';
import { WorkQueue, type WorkQueueOptions } from '../harness/work-queue.ts';
import { loadShellGrammar } from '../harness/shell-syntax.ts';
import { createLogger } from './logger.ts';
import { createReadiness, type Readiness } from './readiness.ts';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NO_TRACER, type Tracer } from '../ports/tracer.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { TracingConfig } from './telemetry-config.ts';
import { PrometheusMetrics } from '../adapters/metrics-prometheus/prometheus-metrics.ts';
import { ContentCapture } from '../harness/telemetry/content-capture.ts';
import { ObservedModelClient } from '../harness/telemetry/observed-model.ts';
import { observeSandboxProvider, observeServerTools } from '../harness/telemetry/observed-tools.ts';
import { commitObserver } from '../harness/telemetry/commit-observer.ts';
import { withTraceFields } from './trace-log-fields.ts';
import { leaseOwner } from '../domain/lease-owner.ts';
import type { NodeSignal } from '../ports/node-signal.ts';
import { MemoryNodeSignal } from '../adapters/node-signal-memory/memory-node-signal.ts';
import { SessionFeed } from '../harness/session-feed.ts';
import { SpendService } from '../harness/spend-service.ts';
import { TelemetryDestinationService } from '../harness/telemetry-destination-service.ts';
import { DeferredTracer } from '../harness/telemetry/deferred-tracer.ts';
import type { SpanRoutes } from '../ports/tracer.ts';

/** How often sessions paused by a spend limit are looked at again (month rollover, missed wakes). */
const SPEND_SWEEP_MS = 60_000;
/** How often each node re-reads telemetry destinations (changes made on other nodes). */
const DESTINATION_REFRESH_MS = 10_000;

export interface Hangar {
  app: FastifyInstance;
  store: Store;
  harness: Harness;
  files: FileService;
  work: WorkQueue;
  vaults: VaultService;
  spend: SpendService;
  telemetryDestinations: TelemetryDestinationService;
  logger: Logger;
  /** The sandbox provider built-in tools run in (for the start-up summary). */
  sandbox: SandboxProvider;
  /** The built-in tool runner (its warm pool, for tests and the bench). */
  tools: ToolRunner;
  /** The checks `GET /readyz` serves. */
  readiness: Readiness;
  /** Spans (a DeferredTracer that is off until tracing or a telemetry destination needs it) and the `GET /metrics` recorder. */
  tracer: Tracer;
  metrics: Metrics;
  /** The built console's directory, when there is one (served at /console). */
  consoleDir: string | undefined;
  /** Set on the first start without HANGAR_API_KEY: the generated key, to print once. */
  generatedApiKey: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface HangarOverrides {
  logger?: Logger;
  clock?: Clock;
  model?: ModelClient;
  tools?: ToolRunner;
  sandboxProvider?: SandboxProvider;
  /** File size limits (defaults: 500 MB uploads and captured outputs). */
  files?: FileServiceOptions;
  /** Wraps the file blob store (tests gate it to make capture races deterministic). */
  wrapBlobs?: (blobs: BlobStore) => BlobStore;
  /** Replaces MCP and web tools (tests). */
  serverTools?: ServerToolRunner;
  /** Work-queue lease settings (tests shorten leases). */
  workQueue?: Partial<WorkQueueOptions>;
  /** The node signal (tests join several in-process nodes to one memory hub). Default: PostgreSQL's with a PostgreSQL store, else a lone memory one. */
  signal?: NodeSignal;
  /** The built console served at /console (default: the package's console/dist, when it exists). */
  consoleDir?: string;
}

export async function createHangar(config: HangarConfig, overrides: HangarOverrides = {}): Promise<Hangar> {
  const catalog = new ModelCatalog(modelsConfig(config.models, Object.keys(config.priceOverrides)));
  const prices = new PriceTable({ ...catalog.prices(), ...config.priceOverrides });
  const routing = routingProblems(config, catalog, (id) => prices.priceOf(id) !== undefined);
  if (routing) throw new ConfigError(`invalid configuration: ${routing}`);
  const owner = leaseOwner(config.nodeId);
  const store = await openStore(config);
  // Telemetry destinations (issue 11) route spans by workspace; the service is bound once built.
  const routesRef: { target?: SpanRoutes } = {};
  const routes: SpanRoutes = {
    workspaceOf: (id) => routesRef.target?.workspaceOf(id) ?? Promise.resolve(undefined),
    destinationsFor: (ws) => routesRef.target?.destinationsFor(ws) ?? [],
    delivered: (id, error) => routesRef.target?.delivered?.(id, error),
  };
  // The OpenTelemetry SDK is imported only when tracing is configured or a destination exists
  // (start-up cost); otherwise the first destination registered loads it.
  const hasDestinations = (await store.telemetryDestinations.all()).length > 0;
  const tracingConfig = config.telemetry.tracing ?? (hasDestinations ? destinationOnlyTracing() : undefined);
  const deferred = tracingConfig ? undefined : new DeferredTracer(() => loadTracer(destinationOnlyTracing(), owner, routes));
  const tracer: Tracer = tracingConfig ? await loadTracer(tracingConfig, owner, routes) : deferred!;
  const logger = withTraceFields(overrides.logger ?? createLogger({ level: config.logLevel, format: config.logFormat }), tracer);
  if (config.telemetry.tracing) {
    const { url, protocol, captureContent } = config.telemetry.tracing;
    const endpoint = new URL(url);
    logger.info({ endpoint: `${endpoint.origin}${endpoint.pathname}`, protocol, captureContent }, 'tracing enabled');
  }
  // The `auto` policy parses shell commands; until the grammar is loaded it asks.
  await loadShellGrammar();
  const clock = overrides.clock ?? systemClock;
  const { vaults, box } = await openVaults(config, store, clock, logger);
  const repositories = new RepositoryService({ box, store, logger, cloner: new GitRepositoryCloner({ allowPrivate: config.gitAllowPrivate }) });
  const telemetryDestinations = new TelemetryDestinationService({
    store, box, clock, captureContent: config.telemetry.tracing?.captureContent ?? false,
    ensureTracing: deferred ? () => deferred.enable() : undefined,
    sendTest: async (d) => (await import('../adapters/tracing-otel/destination-router.ts')).sendTestSpan(d),
  });
  routesRef.target = telemetryDestinations;
  // prom-client loads a second after start-up (or at the first scrape); records wait until then.
  // The session and queue gauges are read from the store at scrape time (the same on every node).
  const metrics = new PrometheusMetrics({
    source: { sessionsByStatus: () => store.sessions.countByStatus(), workQueueDepth: (nowMs) => store.work.waitingTotal(nowMs) },
    now: () => clock.now(), loadAfterMs: 1_000,
  });
  const content = new ContentCapture(tracer, (sessionId) => vaults.sessionScrubber(sessionId));
  const bus = new MemoryEventBus();
  const signal = overrides.signal ?? await createNodeSignal(config, logger, owner);
  await signal.start();
  const feed = new SessionFeed({ store, bus, onError: (err, sessionId) => logger.warn({ err, sessionId }, 'reading events for open streams failed; the next hint retries') });
  const log = new SessionLog(store, bus, logger, (sessionId) => vaults.sessionScrubber(sessionId), commitObserver(tracer, metrics), signal);
  // The harness writes through its own log, whose commits it fences by its leases (user input is never fenced).
  const harnessLog = new SessionLog(store, bus, logger, (sessionId) => vaults.sessionScrubber(sessionId), commitObserver(tracer, metrics), signal);
  const model = new ObservedModelClient(overrides.model ?? createModelClient(config.models, catalog, { maxRetries: config.maxRetries }), {
    tracer, metrics, prices, content, catalog,
  });
  const contextLimits = modelContextLimits(catalog, config);
  const files = new FileService(
    { store, blobs: (overrides.wrapBlobs ?? ((b) => b))(new FsBlobStore(join(config.dataDir, 'files'))), clock },
    { maxUploadBytes: config.fileMaxBytes, sessionQuotaBytes: config.sessionDiskBytes, minFreeBytes: config.minFreeDiskBytes, ...overrides.files },
  );
  const provider = observeSandboxProvider(overrides.sandboxProvider ?? createSandboxProvider(config, logger), tracer, metrics);
  const unavailable = provider.unavailableReason();
  if (unavailable) logger.warn({ reason: unavailable }, 'built-in sandbox tools will fail until this is fixed');
  const packages = createEnvironmentPackages(config, store, clock, logger, owner);
  const registryHostList = registryHosts([...PACKAGE_MANAGERS], config.packageRegistries, aptSourceHosts('/etc/apt'));
  const tools = overrides.tools ?? new SandboxToolRunner({
    provider, store, files, dataDir: config.dataDir, logger, limits: config.sandboxLimits, idleReleaseMs: config.sandboxIdleReleaseMs,
    sessionDiskBytes: config.sessionDiskBytes, repositories, packages, packageRegistryHosts: registryHostList,
    poolSize: config.sandboxPoolSize,
  });
  // MCP credentials come from the session's vaults, resolved per call so rotation reaches running sessions.
  const mcpCredentials = async (sessionId: string, url: string): Promise<PoolCredential> => {
    const row = await store.sessions.get(sessionId);
    const vaultIds = (row?.session.vault_ids as string[] | undefined) ?? [];
    const found = vaultIds.length ? await vaults.mcpCredential(vaultIds, url) : undefined;
    if (!found) return {};
    const bearer = found.expired ? ((await vaults.refreshMcpCredential(found.credentialId))?.token ?? found.token) : found.token;
    return { bearer, onUnauthorized: async () => (await vaults.refreshMcpCredential(found.credentialId))?.token };
  };
  // MCP servers often live on private networks, so the SSRF guard is opt-in for them.
  // The MCP SDK (~130 ms to load) is imported at the first MCP connection, not at start-up.
  let sdkConnector: Promise<McpConnector> | undefined;
  const connector: McpConnector = {
    async connect(server, auth, signal) {
      sdkConnector ??= import('../adapters/mcp/sdk-mcp-connector.ts').then(({ SdkMcpConnector }) =>
        new SdkMcpConnector(config.mcpEgressGuard ? { fetch: createGuardedFetchLike() } : {}));
      return (await sdkConnector).connect(server, auth, signal);
    },
  };
  const mcpPool = new McpSessionPool({ connector, credentials: mcpCredentials, idleMs: config.mcpIdleMs });
  const serverTools = observeServerTools(overrides.serverTools ?? new ServerTools({
    mcp: mcpPool,
    fetcher: guardedFetch,
    search: config.searxngUrl ? new SearxngSearchProvider({ baseUrl: config.searxngUrl }) : undefined,
  }), tracer);
  const harness = new Harness(
    {
      store, log: harnessLog, model, tools, clock, logger, prices, serverTools,
      modelHost: upstreamHost(config.anthropicBaseUrl),
      telemetry: { tracer, metrics, content },
      // Late-bound: the work queue is built below; repeated calls are no-ops while an item is live.
      onAwaitingWorker: (sessionId) => work.onSessionInput(sessionId),
      onLeaseBusy: (sessionId, interrupt) => signal.send(interrupt ? { kind: 'wake', sessionId, interrupt } : { kind: 'wake', sessionId }),
      onSpendPaused: (sessionId) => spend.resumeIfRoom(sessionId),
      readRubricFile: (fileId) => readText(files, fileId, 262_144),
      producedFiles: async (sessionId) => (await files.list({ limit: 100, scopeId: sessionId })).data.map((f) => String(f.filename)),
    },
    {
      graderModel: config.graderModel,
      ongoingIntervalMs: config.outcomeOngoingMs,
      owner,
      leaseTtlMs: config.leaseTtlMs,
      sweepIntervalMs: Math.max(100, Math.floor(config.leaseTtlMs / 2)),
      maxTokens: config.maxOutputTokens,
      contextLimits,
      retry: { maxRetries: config.maxRetries, baseDelayMs: config.retryBaseMs, maxDelayMs: config.retryMaxMs },
    },
  );
  const spend = new SpendService({ store, log, clock, wake: (id) => harness.wake(id) });
  const work = new WorkQueue({ store, clock, metrics, announce: (environmentId) => signal.send({ kind: 'work', environmentId }) }, { defaultTtlSeconds: config.workLeaseTtlSeconds, ...overrides.workQueue });
  const sessions = new SessionService({
    store, log, bus, clock, harness, prices,
    fileExists: async (fileId) => (await files.get(fileId).then(() => true, () => false)),
    resolveResources: sessionResourceResolver({ files, repositories, clock }),
    onInput: (s) => work.onSessionInput(s.id, s.environment_id),
    assertVaults: (ids) => vaults.assertUsable(ids),
    assertModel: (id) => assertKnownModel(catalog, id, 'agent.model'),
    midConversationSystem: (id) => contextLimits(id).midConversationSystem,
    assertEnvironment: (env) => packages.assertUsable(env as unknown as EnvironmentObject),
    onCreated: (s) => {
      void tools.prewarm?.(s).catch((err: unknown) => logger.warn({ err: String(err), sessionId: s.id }, 'warming a sandbox failed'));
    },
    onArchived: async (id) => {
      await tools.release?.(id);
      await serverTools.closeSession(id);
    },
    onDeleted: async (id) => {
      await serverTools.closeSession(id);
      await tools.forget?.(id);
      await files.deleteSessionFiles(id);
      signal.send({ kind: 'deleted', sessionId: id });
    },
  });
  // A hint lost on the way (a sender that died between its commit and its NOTIFY) would leave a
  // remote stream behind until the session's next commit: with other nodes possible, open streams
  // also re-read every few seconds. Lost wakes are repaired by the harness sweep, lost work hints
  // by the end of the poll's block.
  const safetyRead = config.databaseUrl?.trim() ? setInterval(() => feed.hint({ kind: 'resync' }), FEED_SAFETY_READ_MS) : undefined;
  safetyRead?.unref();
  // Hints from the other nodes sharing the database: streams read, loops look again, polls claim.
  signal.subscribe((hint) => {
    feed.hint(hint);
    if (hint.kind === 'wake' && hint.interrupt) harness.interrupt(hint.sessionId, hint.interrupt === true ? undefined : hint.interrupt, { quiet: true });
    else if (hint.kind === 'wake') harness.wake(hint.sessionId, { quiet: true });
    else if (hint.kind === 'work') work.wakePollers(hint.environmentId);
    else if (hint.kind === 'resync') {
      work.wakeAllPollers();
      void harness.sweep().catch((err) => logger.error({ err }, 'sweep failed'));
    }
  });
  const generatedApiKey = await bootstrapApiKey(store.apiKeys, config.apiKey, isoAt(clock.now())).catch(async (err) => {
    await signal.close();
    await store.close();
    throw err;
  });
  const consoleDir = overrides.consoleDir ?? defaultConsoleDir();
  const readiness = createReadiness({ store, provider, sandboxMode: config.sandbox });
  const app = await buildApp({
    store, clock, bus, feed, sessions, files, work, vaults, spend, telemetryDestinations, pingIntervalMs: config.pingIntervalMs, readiness, models: catalog,
    metrics, metricsKey: config.telemetry.metricsKey, tracer, repositories, packages,
  }, {
    bodyLimit: config.bodyLimitBytes, logger, authFailLimit: config.authFailLimit, authFailWindowMs: config.authFailWindowMs,
    consoleDir,
  });

  return {
    app, store, harness, files, work, vaults, spend, telemetryDestinations, logger, generatedApiKey, sandbox: provider, tools, readiness, tracer, metrics, consoleDir,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      harness.start();
      packages.start();
      spend.start(SPEND_SWEEP_MS);
      await telemetryDestinations.start(DESTINATION_REFRESH_MS);
      return address;
    },
    async close() {
      spend.stop();
      telemetryDestinations.stop();
      await harness.stop();
      await packages.close();
      await tools.close?.();
      await mcpPool.close();
      work.close();
      await app.close();
      metrics.close();
      await tracer.shutdown().catch((err) => logger.warn({ err: String(err) }, 'exporting the last spans failed'));
      clearInterval(safetyRead);
      await signal.close();
      await store.close();
    },
  };
}

/**
 * Opens the secret box over HANGAR_MASTER_KEY or `<dataDir>/master.key` (generated, mode 0600, only
 * while the database holds no sealed data) and checks it against the data: a wrong, malformed or
 * exposed key stops the start with a ConfigError naming the problem, never the key.
 */
async function openVaults(config: HangarConfig, store: Store, clock: Clock, logger: Logger): Promise<{ vaults: VaultService; box: SecretBox }> {
  try {
    const sealedDataExists = (await store.vaults.keyCheck()) !== undefined;
    const { box, source } = openSecretBox({ value: config.masterKey, keyFile: join(config.dataDir, 'master.key'), mayCreate: !sealedDataExists });
    if (source.created) logger.warn({ keyFile: source.origin }, 'generated the master key for vault secrets; back it up: without it stored credentials cannot be decrypted');
    const vaults = new VaultService({ store, box, clock, logger });
    await vaults.verifyMasterKey();
    return { vaults, box };
  } catch (err) {
    await store.close();
    if (err instanceof MasterKeyError) throw new ConfigError(err.message);
    throw err;
  }
}

/** How often open streams re-read their session's log when other nodes may commit to it. */
const FEED_SAFETY_READ_MS = 5_000;

/**
 * The node signal: LISTEN/NOTIFY when the store is PostgreSQL (several nodes may share it), else
 * the in-process one (SQLite is one process). Loaded only when used, like the pg store.
 */
async function createNodeSignal(config: HangarConfig, logger: Logger, owner: string): Promise<NodeSignal> {
  if (!config.databaseUrl?.trim()) return new MemoryNodeSignal();
  const { PgNodeSignal } = await import('../adapters/node-signal-pg/pg-node-signal.ts');
  // Named after the node in pg_stat_activity (PostgreSQL keeps 63 bytes of it).
  const applicationName = `hangar-signal ${owner}`.slice(0, 63);
  return new PgNodeSignal({ url: config.databaseUrl, applicationName, onProblem: (message, err) => logger.warn(err ? { err: String((err as Error).message ?? err) } : {}, message) });
}

/** The configured sandbox provider: bubblewrap (isolated), or the explicitly named unsafe mode. */
function createSandboxProvider(config: HangarConfig, logger: Logger): SandboxProvider {
  if (config.sandbox === 'unsafe-local') return new UnsafeLocalSandboxProvider({ logger });
  return new BwrapSandboxProvider({
    stateDir: join(config.dataDir, 'sandbox-state'),
    startEgressProxy: createEgressProxyStarter({ log: (entry) => logger.info(entry, 'sandbox egress') }),
    limits: config.sandboxLimits,
    logger,
    hostUser: config.sandboxUser,
    maxConcurrentProvisions: config.sandboxProvisionConcurrency,
  });
}

/**
 * Package layers are always built in bubblewrap (whatever HANGAR_SANDBOX says), by a provider of
 * their own whose egress proxy reaches only the registry hosts of the build (at private addresses
 * only with HANGAR_PACKAGE_REGISTRY_ALLOW_PRIVATE=on).
 */
function createEnvironmentPackages(config: HangarConfig, store: Store, clock: Clock, logger: Logger, owner: string): EnvironmentPackages {
  const provider = new BwrapSandboxProvider({
    stateDir: join(config.dataDir, 'sandbox-state', 'builds'),
    startEgressProxy: createEgressProxyStarter({
      allowPrivateAddresses: config.packageRegistryAllowPrivate,
      log: (entry) => logger.info(entry, 'package build egress'),
    }),
    limits: config.sandboxLimits,
    logger,
    hostUser: config.sandboxUser,
    maxConcurrentProvisions: 2,
  });
  const builder = new BwrapLayerBuilder({ provider, registries: config.packageRegistries });
  return new EnvironmentPackages({ store, builder, clock, logger, owner }, {
    layersDir: join(config.dataDir, 'package-layers'),
    // unsafe-local runs tools on the host and mounts nothing: a layer would be silently missing.
    unusableReason: config.sandbox === 'unsafe-local' ? 'HANGAR_SANDBOX=unsafe-local runs tools on the host and cannot mount package layers; use HANGAR_SANDBOX=bwrap' : undefined,
  });
}

/** Loads the OpenTelemetry adapter (the only place it is imported) and logs where spans go. */
async function loadTracer(config: TracingConfig, instanceId: string, routes: SpanRoutes): Promise<Tracer> {
  const { createOtelTracer } = await import('../adapters/tracing-otel/otel-tracer.ts');
  return createOtelTracer(config, { serviceVersion: packageVersion(), instanceId, routes });
}

/** Tracing for telemetry destinations only (no OTEL_* endpoint): no default exporter, content off. */
function destinationOnlyTracing(): TracingConfig {
  return {
    url: '', protocol: 'http/protobuf', headers: {}, timeoutMs: 10_000, compression: 'none', serviceName: 'hangar', resourceAttributes: {},
    sampler: { type: 'parentbased_always_on' }, batch: { scheduledDelayMs: 1_000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMs: 30_000 },
    captureContent: false, propagate: true,
  };
}

/** The package's console/dist (two levels up from src/server/ and from dist/server/), if built. */
function defaultConsoleDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../console/dist/', import.meta.url));
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}

function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/** The model API's host, for log lines about failed model requests (never the key or path). */
function upstreamHost(baseUrl: string | undefined): string {
  return baseUrl ? new URL(baseUrl).host : 'api.anthropic.com';
}

/** A file's text, cut at `maxBytes` (rubrics are text files). */
async function readText(files: FileService, fileId: string, maxBytes: number): Promise<string> {
  const { content } = await files.open(fileId);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of content) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= maxBytes) break;
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}
