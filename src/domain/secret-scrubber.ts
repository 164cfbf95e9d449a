// Scrubs secret values out of text and JSON before it is stored or sent: every occurrence of each
// secret, and of its common encodings (JSON string escaping, URL/form encoding, base64 and
// base64url at any byte alignment — so `Basic base64(id:secret)` and a base64 of a whole
// `Authorization: Bearer …` header are caught too — and hex), becomes a marker. Pure: the caller
// supplies the secrets (the session's vault credentials) and decides where to apply it.

/** What replaces a vault secret in session events (tool results, MCP results, errors, …). */
export const VAULT_MARKER = '[redacted:vault_credential]';

/**
 * Secrets shorter than this are not scrubbed from session events: a short value (a PIN, "test",
 * "1234") also occurs in ordinary text, so replacing it would garble unrelated output and, worse,
 * mark where the secret occurs — an oracle that reveals it. Such a value is not a credential worth
 * the name anyway; vault credentials are expected to be long random tokens.
 */
export const MIN_SCRUB_LENGTH = 8;

export interface ScrubberOptions {
  /** Default `VAULT_MARKER`. */
  marker?: string;
  /** Default `MIN_SCRUB_LENGTH`. */
  minLength?: number;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const lowerHexEscapes = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

/**
 * The part of base64(prefix + secret) that depends only on the secret's bytes, for each of the
 * three alignments a secret can have inside a longer encoded value (`k` bytes before it, mod 3).
 * Characters mixing in neighbouring bytes are left out, so at most a few bits at each edge survive.
 */
function base64Cores(bytes: Buffer, alphabet: 'base64' | 'base64url'): string[] {
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes]).toString(alphabet).replace(/=+$/, '');
    const n = k + bytes.length;
    cores.push(enc.slice(Math.ceil((8 * k) / 6), Math.floor((8 * n) / 6)));
  }
  return cores;
}

/** Every form of `secret` that is scrubbed: the raw value and its encodings (deduplicated). */
export function secretForms(secret: string): string[] {
  const component = encodeURIComponent(secret);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  const forms = [secret, JSON.stringify(secret).slice(1, -1), component, lowerHexEscapes(component), form, lowerHexEscapes(form)];
  // base64 of the raw value, and of its URL/form encoding (HTTP Basic credentials form-encode the
  // client secret before base64). Standalone encodings first: they are longer than their cores.
  for (const text of new Set([secret, component, form])) {
    const bytes = Buffer.from(text, 'utf8');
    forms.push(bytes.toString('base64'), bytes.toString('base64url'), ...base64Cores(bytes, 'base64'), ...base64Cores(bytes, 'base64url'));
  }
  const hex = Buffer.from(secret, 'utf8').toString('hex');
  forms.push(hex, hex.toUpperCase());
  return [...new Set(forms.filter((f) => f !== ''))];
}

/** Replaces secrets (and their encodings) in strings and in JSON values. Immutable once built. */
export class SecretScrubber {
  /** True when there is nothing to scrub (no secrets, or all shorter than the minimum). */
  readonly empty: boolean;
  private readonly pattern: RegExp | undefined;
  private readonly marker: string;

  constructor(secrets: Iterable<string>, opts: ScrubberOptions = {}) {
    const minLength = opts.minLength ?? MIN_SCRUB_LENGTH;
    this.marker = opts.marker ?? VAULT_MARKER;
    const forms = new Set<string>();
    for (const s of secrets) if (s.length >= minLength) for (const f of secretForms(s)) forms.add(f);
    // Longest first: a form containing another (a secret containing a shorter one, a standalone
    // base64 encoding containing its core) is replaced whole. The `g` flag replaces every occurrence.
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : undefined;
    this.empty = this.pattern === undefined;
  }

  /** `text` with every occurrence of every secret form replaced by the marker. */
  text(text: string): string {
    if (!this.pattern) return text;
    return text.replace(this.pattern, this.marker);
  }

  /** A copy of a JSON-like value with every string (not object keys) scrubbed. */
  value<T>(value: T): T {
    if (!this.pattern) return value;
    return this.walk(value) as T;
  }

  private walk(v: unknown): unknown {
    if (typeof v === 'string') return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.walk(x));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = this.walk(x);
      return out;
    }
    return v;
  }
}

/** A scrubber that changes nothing. */
export const NO_SCRUB = new SecretScrubber([]);
