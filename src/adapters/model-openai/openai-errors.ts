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

/** Who a credentials failure came from, for a message the operator can act on. */
export interface ProviderContext {
  /** As operators know it: `OpenAI`, `Anthropic`, or the models file's provider name. */
  displayName: string;
  host: string;
  /** The variable holding the key (undefined: the provider is configured without one). */
  keyVariable: string | undefined;
  keySet: boolean;
}

/** Plain words for the operator: who refused, why, and which variable fixes it. */
function credentialsMessage(status: number | undefined, code: string | undefined, detail: string, p: ProviderContext | undefined): string {
  const who = `The model provider ${p?.displayName ?? 'OpenAI'} (${p?.host ?? 'api.openai.com'})`;
  const what = `(${status ?? 'stream'}${code ? ` ${code}` : ''}: ${detail})`;
  const denied = status === 403;
  const variable = p?.keyVariable;
  const refusal = denied
    ? `${who} refused the request: the API key${variable ? ` in ${variable}` : ''} lacks permission for it ${what}.`
    : `${who} rejected the API key Hangar sends ${what}.`;
  const fix = !variable
    ? 'This is a server configuration problem: name the variable holding its key in api_key_env in HANGAR_MODELS and restart Hangar'
    : p && !p.keySet
      ? `${variable} is not set on the Hangar server: set it to a valid key and restart Hangar`
      : `This is a server configuration problem: set ${variable} on the Hangar server to a valid key${denied ? ' with access to this model' : ''} and restart Hangar`;
  return `${refusal} ${fix}, then send the message again.`;
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
    if (code === 'insufficient_quota') return new ModelError('billing', message, { retryable: false, status, cause: err });
    if (status === 429) return new ModelError('rate_limited', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 503 || status === 529) return new ModelError('overloaded', message, { retryable: true, retryAfterMs: after, status, cause: err });
    if (status === 402) return new ModelError('billing', message, { retryable: false, status, cause: err });
    // The provider refused Hangar's own key: the operator's problem, so it ends the turn, not the session.
    if (status === 401 || status === 403) {
      const detail = String((err.error as { message?: unknown } | undefined)?.message ?? err.message);
      return new ModelError('authentication', credentialsMessage(status, code, detail, provider), { retryable: false, status, cause: err });
    }
    if (status === undefined || status >= 500 || status === 408 || status === 409) {
      return new ModelError('request_failed', message, { retryable: true, retryAfterMs: after, status, cause: err });
    }
    return new ModelError('request_failed', message, { retryable: false, status, cause: err });
  }
  // Garbage on the stream (unparseable chunks, bad tool-call JSON): worth another try.
  return new ModelError('request_failed', `model call failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}
