// What the model adapters share when classifying a provider's failure: the retry delay a response
// asks for, and the operator-facing message for a refused or missing key (who refused, why, and
// which variable fixes it). Vendor-free, so each adapter keeps only its SDK's error classes.

/** `retry-after-ms`, then `retry-after` (seconds or an RFC 9110 HTTP date), in milliseconds. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && !Number.isNaN(Number(ms))) return Number(ms);
  const s = headers?.get('retry-after');
  if (!s) return undefined;
  if (!Number.isNaN(Number(s))) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The provider a credentials failure came from, as the operator knows it. */
export interface CredentialsSource {
  /** `Anthropic`, `OpenAI`, or the models file's provider name. */
  displayName: string;
  host: string;
  /** The variable holding the key (undefined: the provider is configured without one). */
  keyVariable: string | undefined;
  /** False when the variable is unset; undefined when not known. */
  keySet: boolean | undefined;
}

/** Plain words for the operator: who refused (403 = `denied`: a key without permission), and the fix. */
export function credentialsMessage(status: number | undefined, code: string | undefined, detail: string, source: CredentialsSource, denied: boolean): string {
  const who = `The model provider ${source.displayName} (${source.host})`;
  const what = `(${status ?? 'stream'}${code ? ` ${code}` : ''}: ${detail})`;
  const variable = source.keyVariable;
  const refusal = denied
    ? `${who} refused the request: the API key${variable ? ` in ${variable}` : ''} lacks permission for it ${what}.`
    : `${who} rejected the API key Hangar sends ${what}.`;
  const fix = !variable
    ? 'This is a server configuration problem: name the variable holding its key in api_key_env in HANGAR_MODELS and restart Hangar'
    : source.keySet === false
      ? `${variable} is not set on the Hangar server: set it to a valid key and restart Hangar`
      : `This is a server configuration problem: set ${variable} on the Hangar server to a valid key${denied ? ' with access to this model' : ''} and restart Hangar`;
  return `${refusal} ${fix}, then send the message again.`;
}
