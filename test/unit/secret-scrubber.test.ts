// The secret scrubber: every occurrence of a secret and of its common encodings becomes the marker;
// short values are left alone (documented minimum); JSON values are scrubbed string by string.
// Also `redact`, which scrubs captured HTTP bodies of mcp_oauth_validate with the same encodings.
import { describe, expect, it } from 'vitest';
import { MIN_SCRUB_LENGTH, NO_SCRUB, SecretScrubber, VAULT_MARKER, secretForms } from '../../src/domain/secret-scrubber.ts';
import { redact } from '../../src/domain/vaults.ts';

const M = VAULT_MARKER;
const SECRET = 'sk_live/4f9a+Q=z~x y"q\\';
const scrub = new SecretScrubber([SECRET]);
const count = (s: string, needle: string) => s.split(needle).length - 1;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64url = (s: string) => Buffer.from(s).toString('base64url');

describe('SecretScrubber', () => {
  it('replaces every occurrence, not only the first', () => {
    expect(scrub.text(`a ${SECRET} b ${SECRET}${SECRET} c`)).toBe(`a ${M} b ${M}${M} c`);
  });

  it('replaces the Bearer form, JSON escaping, URL and form encoding (either hex case) and hex', () => {
    const component = encodeURIComponent(SECRET);
    const form = new URLSearchParams({ v: SECRET }).toString().slice(2);
    expect(component).not.toBe(form);
    const hex = Buffer.from(SECRET).toString('hex');
    const cases = [
      `Authorization: Bearer ${SECRET}`,
      JSON.stringify({ echoed: SECRET }),
      `?t=${component}&u=${component.toLowerCase()}`,
      `t=${form}&u=${form.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`,
      `${hex} ${hex.toUpperCase()}`,
    ];
    for (const text of cases) {
      const out = scrub.text(text);
      expect(out, text).toContain(M);
      for (const f of secretForms(SECRET)) expect(out, `${text} still holds ${f}`).not.toContain(f);
    }
    expect(scrub.text(`Bearer ${SECRET}`)).toBe(`Bearer ${M}`);
    expect(scrub.text(JSON.stringify({ echoed: SECRET }))).toBe(`{"echoed":"${M}"}`);
  });

  it('replaces base64 and base64url, standalone and inside a longer encoded value at every alignment', () => {
    expect(scrub.text(`x ${b64(SECRET)} y`)).toBe(`x ${M} y`);
    expect(scrub.text(`x ${b64url(SECRET)} y`)).toBe(`x ${M} y`);
    for (const prefix of ['', 'a', 'ab', 'Authorization: Bearer ', 'client:']) {
      for (const suffix of ['', '!', '!!', '\n']) {
        for (const enc of [b64, b64url]) {
          const echoed = enc(`${prefix}${SECRET}${suffix}`);
          const out = scrub.text(`echo ${echoed}`);
          expect(out, `${prefix}|${suffix}`).toContain(M);
          // What is left around the marker is a few characters of the neighbours, not the secret.
          expect(out.length, `${prefix}|${suffix}`).toBeLessThan(`echo ${M}`.length + Math.ceil(((prefix.length + suffix.length) * 4) / 3) + 6);
        }
      }
    }
  });

  it('catches a client secret echoed inside HTTP Basic credentials', () => {
    const basic = `Basic ${b64(`my-client:${SECRET}`)}`;
    expect(scrub.text(basic)).toContain(M);
    expect(Buffer.from(scrub.text(basic).split(M)[0].slice(6), 'base64').toString()).not.toContain(SECRET.slice(0, 4));
  });

  it(`leaves secrets shorter than ${MIN_SCRUB_LENGTH} characters alone; from ${MIN_SCRUB_LENGTH} on they are scrubbed`, () => {
    const short = 'x'.repeat(MIN_SCRUB_LENGTH - 1);
    const exact = 'y'.repeat(MIN_SCRUB_LENGTH);
    const s = new SecretScrubber([short, exact]);
    expect(s.text(`${short} ${exact}`)).toBe(`${short} ${M}`);
    expect(new SecretScrubber([short]).empty).toBe(true);
    expect(new SecretScrubber(['abcd'], { minLength: 4, marker: '#' }).text('abcd-abcd')).toBe('#-#');
  });

  it('replaces a secret containing another one whole, and treats regex characters literally', () => {
    const inner = 'inner-secret-value';
    const outer = `outer(${inner}).*`;
    const s = new SecretScrubber([inner, outer]);
    expect(s.text(`${outer} ${inner} outer(x).*`)).toBe(`${M} ${M} outer(x).*`);
  });

  it('scrubs every string of a JSON value, not keys or other types, without touching the input', () => {
    const input = { type: 'agent.mcp_tool_result', [SECRET]: 1, content: [{ type: 'text', text: `got ${SECRET}` }], n: 3, ok: true, none: null };
    const out = scrub.value(input);
    expect(out).toEqual({ type: 'agent.mcp_tool_result', [SECRET]: 1, content: [{ type: 'text', text: `got ${M}` }], n: 3, ok: true, none: null });
    expect(input.content[0].text).toBe(`got ${SECRET}`);
  });

  it('with nothing to scrub, changes nothing', () => {
    expect(NO_SCRUB.empty).toBe(true);
    expect(NO_SCRUB.text(SECRET)).toBe(SECRET);
    const v = { a: SECRET };
    expect(NO_SCRUB.value(v)).toBe(v);
    expect(scrub.empty).toBe(false);
    expect(scrub.text('nothing secret here')).toBe('nothing secret here');
  });
});

describe('redact (captured HTTP bodies of mcp_oauth_validate)', () => {
  const refresh = 'rt-1f2e/3d4c+5b6a';
  const clientSecret = 'cs:9z8y 7x6w';

  it('replaces every occurrence of a secret', () => {
    expect(redact(`first ${refresh} then ${refresh}`, [refresh])).toBe('first [redacted] then [redacted]');
  });

  it('scrubs a token endpoint that echoes the form body it was sent', () => {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: 'c', client_secret: clientSecret }).toString();
    const body = JSON.stringify({ error: 'invalid_grant', error_description: `refused ${form}`, echo: encodeURIComponent(refresh) });
    const out = redact(body, [refresh, clientSecret]);
    for (const s of [refresh, clientSecret, ...secretForms(refresh), ...secretForms(clientSecret)]) expect(out).not.toContain(s);
    expect(out).toContain('refresh_token=[redacted]');
    expect(out).toContain('client_secret=[redacted]');
  });

  it('scrubs secret form fields even for values it was not told about, and an echoed Basic header', () => {
    expect(redact('a=1&access_token=unknown-value&b=2', [])).toBe('a=1&access_token=[redacted]&b=2');
    const basic = `Basic ${b64(`c:${new URLSearchParams({ v: clientSecret }).toString().slice(2)}`)}`;
    const out = redact(`you sent ${basic}`, [clientSecret]);
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(basic.slice(6));
  });
});
