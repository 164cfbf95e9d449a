// The metrics port on prom-client. prom-client (~40 ms to load, and it pulls in the OpenTelemetry
// API) is imported after start-up, not during it: until it is loaded, records wait in a bounded
// queue and are replayed in order, so nothing counted early is lost and the cold start stays lean.
// Loading starts at the first scrape, after `loadAfterMs`, or when the queue fills.
import type { Metrics, MetricsSnapshotSource, ModelRequestRecord, ToolCallOutcome, ToolKind } from '../../ports/metrics.ts';
import type { PromInstruments } from './prom-instruments.ts';

type Record_ = (m: PromInstruments) => void;

export interface PrometheusMetricsOptions {
  source?: MetricsSnapshotSource;
  now?: () => number;
  /** Load prom-client this long after construction (0 = at once); a scrape loads it sooner. */
  loadAfterMs?: number;
  /** Distinct values kept per free-form label (tool and model names); later ones count as `other`. */
  maxLabelValues?: number;
}

/** Records waiting for prom-client; past this many, loading starts at once. */
const QUEUE_LOAD_AT = 5_000;
/** Never more than this many waiting (only reached if prom-client keeps failing to load). */
const QUEUE_MAX = 100_000;

export class PrometheusMetrics implements Metrics {
  private instruments: PromInstruments | undefined;
  private queue: Record_[] = [];
  private loading: Promise<PromInstruments> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly opts: PrometheusMetricsOptions;
  private readonly seen = new Map<string, Set<string>>();

  constructor(opts: PrometheusMetricsOptions = {}) {
    this.opts = opts;
    if (opts.loadAfterMs !== undefined) {
      this.timer = setTimeout(() => void this.load().catch(() => {}), opts.loadAfterMs);
      this.timer.unref();
    }
  }

  /** Loads prom-client (once) and replays what was recorded meanwhile. */
  load(): Promise<PromInstruments> {
    this.loading ??= import('./prom-instruments.ts').then(({ createInstruments }) => {
      const m = createInstruments(this.opts.source, this.opts.now ?? Date.now);
      for (const record of this.queue) record(m);
      this.queue = [];
      this.instruments = m;
      return m;
    }).catch((err) => {
      this.loading = undefined; // retried at the next scrape
      throw err;
    });
    return this.loading;
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    const m = await this.load();
    return { contentType: m.registry.contentType, body: await m.registry.metrics() };
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private record(r: Record_): void {
    if (this.instruments) {
      r(this.instruments);
      return;
    }
    if (this.queue.length < QUEUE_MAX) this.queue.push(r);
    if (this.queue.length >= QUEUE_LOAD_AT) void this.load().catch(() => {});
  }

  /** Keeps free-form label values (tool, model names) to a bounded set per label. */
  private bounded(label: string, value: string): string {
    let values = this.seen.get(label);
    if (!values) this.seen.set(label, (values = new Set()));
    if (values.has(value)) return value;
    if (values.size >= (this.opts.maxLabelValues ?? 200)) return 'other';
    values.add(value);
    return value;
  }

  turnStarted(): void {
    this.record((m) => m.turnsStarted.inc());
  }

  turnEnded(stopReason: string): void {
    this.record((m) => m.turnsEnded.inc({ stop_reason: stopReason }));
  }

  sessionTerminated(): void {
    this.record((m) => m.terminated.inc());
  }

  modelRequest(r: ModelRequestRecord): void {
    const provider = this.bounded('provider', r.provider);
    const model = this.bounded('model', r.model);
    this.record((m) => {
      m.modelRequests.inc({ provider, model, outcome: r.outcome });
      if (r.outcome !== 'ok') m.modelErrors.inc({ provider, model, kind: r.outcome });
      m.modelDuration.observe({ provider, model }, r.durationMs / 1000);
      if (r.usage) {
        m.tokens.inc({ provider, model, type: 'input' }, r.usage.input);
        m.tokens.inc({ provider, model, type: 'output' }, r.usage.output);
        m.tokens.inc({ provider, model, type: 'cache_read' }, r.usage.cacheRead);
        m.tokens.inc({ provider, model, type: 'cache_creation' }, r.usage.cacheCreation);
      }
      if (r.costUsd !== undefined) m.cost.inc({ provider, model }, r.costUsd);
    });
  }

  toolCall(tool: string, kind: ToolKind, outcome: ToolCallOutcome, durationMs: number): void {
    const name = this.bounded('tool', tool);
    this.record((m) => {
      m.toolCalls.inc({ tool: name, kind, outcome });
      if (outcome !== 'denied') m.toolDuration.observe({ tool: name, kind }, durationMs / 1000);
    });
  }

  sandboxProvisioned(durationMs: number, ok: boolean): void {
    this.record((m) => m.sandboxProvision.observe({ outcome: ok ? 'ok' : 'error' }, durationMs / 1000));
  }

  graderVerdict(result: string): void {
    this.record((m) => m.graderVerdicts.inc({ result }));
  }

  workPickedUp(latencyMs: number): void {
    this.record((m) => m.workPickup.observe(Math.max(0, latencyMs) / 1000));
  }

  sseOpened(): void {
    this.record((m) => m.sse.inc());
  }

  sseClosed(): void {
    this.record((m) => m.sse.dec());
  }

  eventLogAppend(durationMs: number): void {
    this.record((m) => m.eventAppend.observe(durationMs / 1000));
  }

  leaseTakeover(): void {
    this.record((m) => m.leaseTakeovers.inc());
  }
}
