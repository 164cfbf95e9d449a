// Classifies failures of the official `openai` client into ModelError kinds and retry facts, by
// status code, error code and class (never by message text). A rejected tool schema names the tool.
import OpenAI from 'openai';
import { ModelError, type ModelOutputBlock } from '../../ports/model.ts';
import { credentialsMessage, retryAfterMs } from '../model-common/provider-errors.ts';

/** `tools[2].function.parameters` → the name of tool 2, so the error says which schema was refused. */
function toolOfParam(param: unknown, toolNames: string[]): string | undefined {
  const m = typeof param === 'string' ? /^tools\[(\d+)\]/.exec(param) : null;
  return m ? toolNames[Number(m[1])] : undefined;
}

/** Who a credentials failure came from, for a message the operator can act on. */
export interface ProviderContext {
  /** As operators know it: `OpenAI`, `Anthropic`, or the models file's provider name. */
  displayName: string;
  host: string;
  /** The variable holding the key (undefined: the provider is configured without one). */
  keyVariable: string | undefined;
  keySet: boolean;
}

export function toModelError(err: unknown, signal: AbortSignal, partial: ModelOutputBlock[], toolNames: string[] = [], provider?: ProviderContext): ModelError {
  if (err instanceof ModelError) return err;
  if (signal.aborted || err instanceof OpenAI.APIUserAbortError) {
    return new ModelError('aborted', 'model call aborted', { retryable: false, partial, cause: err });
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new ModelError('connection', `model connection failed: ${err.message}`, { retryable: true, cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const code = err.code ?? err.type ?? undefined;
    const tool = status === 400 ? toolOfParam(err.param, toolNames) : undefined;
    const what = tool ? `the provider rejected the definition of tool ${tool} (${String(err.param)})` : 'model request failed';
    const message = `${what} (${status ?? 'stream'}${code ? ` ${code}` : ''}): ${err.message}`;
    const after = retryAfterMs(err.headers as Headers | undefined);
    // OpenAI answers an exhausted quota with 429 too; waiting does not refill it.
    // Chat Completions names an over-long prompt by its error code.
    if (code === 'context_length_exceeded') return new ModelError('context_overflow', message, { retryable: false, status, cause: err });
    if (code === 'insufficient_quota') return new ModelError('billing', message, { retryable: false, status, cause: err });
    if (status === 429) return new ModelError('rate_limited', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 503 || status === 529) return new ModelError('overloaded', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 402) return new ModelError('billing', message, { retryable: false, status, cause: err });
    // The provider refused Hangar's own key: the operator's problem, so it ends the turn, not the session.
    if (status === 401 || status === 403) {
      const detail = String((err.error as { message?: unknown } | undefined)?.message ?? err.message);
      return new ModelError('authentication', credentialsMessage(status, code, detail, { displayName: provider?.displayName ?? 'OpenAI', host: provider?.host ?? 'api.openai.com', keyVariable: provider?.keyVariable, keySet: provider?.keySet }, status === 403), { retryable: false, status, cause: err });
    }
    if (status === undefined || status >= 500 || status === 408 || status === 409) {
      return new ModelError('request_failed', message, { retryable: true, retryAfterMs: after, status, cause: err });
    }
    return new ModelError('request_failed', message, { retryable: false, status, cause: err });
  }
  // Garbage on the stream (unparseable chunks, bad tool-call JSON): worth another try.
  return new ModelError('request_failed', `model call failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}
