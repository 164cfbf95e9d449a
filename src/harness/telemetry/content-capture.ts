// Content (prompts, model output, tool inputs and outputs) for spans, only when
// HANGAR_OTEL_CAPTURE_CONTENT=true: serialized, scrubbed of the current session's vault secrets
// (the same scrubber the event log uses) and cut to a bounded length. Undefined when capture is off.
import type { Tracer } from '../../ports/tracer.ts';
import { NO_SCRUB, type SecretScrubber } from '../../domain/secret-scrubber.ts';

/** Longest captured attribute value; longer content is cut with a marker. */
export const MAX_CONTENT_CHARS = 32_768;

export type SessionScrubbers = (sessionId: string) => Promise<SecretScrubber>;

export class ContentCapture {
  private readonly tracer: Tracer;
  private readonly scrubbers: SessionScrubbers | undefined;

  constructor(tracer: Tracer, scrubbers?: SessionScrubbers) {
    this.tracer = tracer;
    this.scrubbers = scrubbers;
  }

  get enabled(): boolean {
    return this.tracer.enabled && this.tracer.captureContent;
  }

  /** The value as scrubbed JSON (strings as they are), or undefined when capture is off. */
  async capture(value: unknown, sessionId = this.tracer.currentSession()): Promise<string | undefined> {
    if (!this.enabled || value === undefined) return undefined;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const scrubber = sessionId && this.scrubbers ? await this.scrubbers(sessionId).catch(() => undefined) : NO_SCRUB;
    // No scrubber could be built: export nothing rather than risk a secret.
    if (!scrubber) return '[not captured: the session\'s secrets could not be loaded to scrub it]';
    const clean = scrubber.text(text);
    return clean.length <= MAX_CONTENT_CHARS ? clean : `${clean.slice(0, MAX_CONTENT_CHARS)}…[${clean.length - MAX_CONTENT_CHARS} characters cut]`;
  }
}
