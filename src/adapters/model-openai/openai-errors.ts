// Classifies failures of the official `openai` client into ModelError kinds and retry facts, by
// status code, error code and class (never by message text). A rejected tool schema names the tool.
import OpenAI from 'openai';
import { ModelError, type ModelOutputBlock } from '../../ports/model.ts';

export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && !Number.isNaN(Number(ms))) return Number(ms);
  const s = headers?.get('retry-after');
  if (!s) return undefined;
  if (!Number.isNaN(Number(s))) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** `tools[2].function.parameters` → the name of tool 2, so the error says which schema was refused. */
function toolOfParam(param: unknown, toolNames: string[]): string | undefined {
  const m = typeof param === 'string' ? /^tools\[(\d+)\]/.exec(param) : null;
  return m ? toolNames[Number(m[1])] : undefined;
}

export function toModelError(err: unknown, signal: AbortSignal, partial: ModelOutputBlock[], toolNames: string[] = []): ModelError {
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
    if (code === 'insufficient_quota') return new ModelError('billing', message, { retryable: false, status, cause: err });
    if (status === 429) return new ModelError('rate_limited', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 503 || status === 529) return new ModelError('overloaded', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 402) return new ModelError('billing', message, { retryable: false, status, cause: err });
    if (status === undefined || status >= 500 || status === 408 || status === 409) {
      return new ModelError('request_failed', message, { retryable: true, retryAfterMs: after, status, cause: err });
    }
    return new ModelError('request_failed', message, { retryable: false, status, cause: err });
  }
  // Garbage on the stream (unparseable chunks, bad tool-call JSON): worth another try.
  return new ModelError('request_failed', `model call failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}
