// Retry policy for model calls: which failures are retried, how long to wait, how errors are named
// in `session.error`. Decisions read ModelError fields, never message text.
import type { ModelError } from '../ports/model.ts';

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff with full jitter, honoring the upstream's retry-after when it is longer. */
export function backoffMs(policy: RetryPolicy, attempt: number, error: ModelError, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(jittered, Math.min(error.retryAfterMs ?? 0, policy.maxDelayMs));
}

/**
 * The `retry_status` of a failure: `retrying` while retries remain; otherwise `exhausted` (the
 * turn ends, the session takes new input) for failures a later message may not hit — retries ran
 * out, or the operator must fix the provider credentials — and `terminal` (the session ends) for
 * requests that would fail the same way again.
 */
export function failureStatus(error: ModelError, retrying: boolean): 'retrying' | 'exhausted' | 'terminal' {
  if (retrying) return 'retrying';
  // Compaction that cannot shorten the conversation ends the turn: a later, shorter turn may fit.
  return error.retryable || error.kind === 'authentication' || error.kind === 'compaction_limit' ? 'exhausted' : 'terminal';
}

export function sessionErrorType(error: ModelError): string {
  switch (error.kind) {
    case 'rate_limited': return 'model_rate_limited_error';
    case 'overloaded': return 'model_overloaded_error';
    case 'billing': return 'billing_error';
    case 'compaction_limit': return 'compaction_limit_reached_error';
    default: return 'model_request_failed_error';
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
