// The agent version diff's rows: equal lines side by side, a changed line paired with its
// replacement, pure additions and removals against blanks, timestamps and key order ignored.
import { describe, expect, it } from 'vitest';
import { sideBySide, versionText } from '../src/diffview.ts';
import { credentialSummary } from '../src/pages/Resources.tsx';

describe('version diff', () => {
  it('pairs changed lines and leaves blanks for additions and removals', () => {
    const rows = sideBySide('a\nb\nc\n', 'a\nB\nc\nd\n');
    expect(rows).toEqual([
      { kind: 'same', left: 'a', right: 'a', leftNo: 1, rightNo: 1 },
      { kind: 'changed', left: 'b', right: 'B', leftNo: 2, rightNo: 2 },
      { kind: 'same', left: 'c', right: 'c', leftNo: 3, rightNo: 3 },
      { kind: 'added', right: 'd', rightNo: 4 },
    ]);
    expect(sideBySide('a\nb\n', 'a\n')).toEqual([
      { kind: 'same', left: 'a', right: 'a', leftNo: 1, rightNo: 1 },
      { kind: 'removed', left: 'b', right: undefined, leftNo: 2, rightNo: undefined },
    ]);
  });

  it('compares versions by content: keys sorted, timestamps left out', () => {
    const v1 = { version: 1, system: 'be brief', name: 'x', updated_at: '2026-01-01', created_at: '2026-01-01' };
    const v2 = { name: 'x', system: 'be very brief', version: 2, updated_at: '2026-02-02', created_at: '2026-01-01' };
    const rows = sideBySide(versionText(v1), versionText(v2));
    const changed = rows.filter((r) => r.kind !== 'same');
    expect(changed.map((r) => [r.left?.trim(), r.right?.trim()])).toEqual([
      ['"system": "be brief",', '"system": "be very brief",'],
      ['"version": 1', '"version": 2'],
    ]);
    expect(versionText(v1)).not.toContain('updated_at');
  });

  it('credential summaries carry no secret fields', () => {
    const c = { id: 'vcrd_1', type: 'vault_credential', display_name: 'docs', auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com', token: 'tok-SECRET' }, created_at: '2026-01-01' };
    const s = credentialSummary(c);
    expect(JSON.stringify(s)).not.toContain('SECRET');
    expect(s).toEqual({ id: 'vcrd_1', name: 'docs', kind: 'static_bearer', target: 'https://mcp.example.com', created: '2026-01-01', archived: false });
  });
});

describe('agent editor', () => {
  it('offers only the editable fields of an agent', async () => {
    const { editable } = await import('../src/pages/Agents.tsx');
    expect(editable({ id: 'agent_1', type: 'agent', version: 3, name: 'a', model: { id: 'm' }, system: null, created_at: 'x', tools: [] }))
      .toEqual({ name: 'a', model: { id: 'm' }, system: null, tools: [] });
  });

  it('accepts a JSON object of editable fields and names what is wrong otherwise', async () => {
    const { parseAgentJson } = await import('../src/pages/Agents.tsx');
    expect(parseAgentJson('{"name": "x", "system": "s"}')).toEqual({ value: { name: 'x', system: 's' } });
    expect(parseAgentJson('{"name": ').problem).toMatch(/not valid JSON/);
    expect(parseAgentJson('[1]').problem).toBe('expected a JSON object');
    expect(parseAgentJson('null').problem).toBe('expected a JSON object');
    expect(parseAgentJson('{"id": "agent_1", "version": 2}').problem).toBe('not editable here: id, version');
  });
});
