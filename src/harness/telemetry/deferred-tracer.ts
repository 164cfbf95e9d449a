// A tracer that starts off and can be switched on later: Hangar starts without the OpenTelemetry
// SDK when neither OTEL_* nor a telemetry destination asks for it, and the first destination
// registered at run time loads it then. Every call goes to the current tracer.
import { NO_TRACER, type StartSpanOptions, type SpanAttributes, type TraceSpan, type Tracer } from '../../ports/tracer.ts';

export class DeferredTracer implements Tracer {
  readonly mayEnable = true;
  private current: Tracer = NO_TRACER;
  private loading: Promise<void> | undefined;
  private readonly load: () => Promise<Tracer>;

  constructor(load: () => Promise<Tracer>) {
    this.load = load;
  }

  /** Loads the real tracer once (later calls wait for the same load). */
  enable(): Promise<void> {
    this.loading ??= this.load().then((t) => {
      this.current = t;
    });
    return this.loading;
  }

  get enabled(): boolean {
    return this.current.enabled;
  }

  get captureContent(): boolean {
    return this.current.captureContent;
  }

  turn<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    return this.current.turn(sessionId, fn);
  }

  start(name: string, opts?: StartSpanOptions): TraceSpan {
    return this.current.start(name, opts);
  }

  annotateTurn(attributes: SpanAttributes): void {
    this.current.annotateTurn(attributes);
  }

  annotate(attributes: SpanAttributes): void {
    this.current.annotate(attributes);
  }

  currentSession(): string | undefined {
    return this.current.currentSession();
  }

  logFields() {
    return this.current.logFields();
  }

  flush(): Promise<void> {
    return this.current.flush();
  }

  shutdown(): Promise<void> {
    return this.current.shutdown();
  }
}
