// Model-facing MCP tool names: valid for the Messages API, stable, collision-free, reversible
// through the index.
import { describe, expect, it } from 'vitest';
import { isModelMcpToolName, McpToolNameIndex, modelToolName } from '../../src/ports/mcp.ts';

const VALID = /^[a-zA-Z0-9_-]{1,128}$/;

describe('modelToolName', () => {
  it('is mcp__<server>__<tool> when both are already clean', () => {
    expect(modelToolName('github', 'create_issue')).toBe('mcp__github__create_issue');
    expect(modelToolName('my-server', 'do-thing')).toBe('mcp__my-server__do-thing');
  });

  it('sanitizes other characters and adds a hash so the name stays unique', () => {
    const name = modelToolName('My Server.v2', 'files/read');
    expect(name).toMatch(VALID);
    expect(name).toMatch(/^mcp__My_Server_v2__files_read_h[0-9a-f]{8}$/);
    expect(modelToolName('a.b', 'x')).not.toBe(modelToolName('a_b', 'x'));
    expect(modelToolName('a b', 'x')).not.toBe(modelToolName('a.b', 'x'));
  });

  it('is stable across calls', () => {
    expect(modelToolName('Sérvér', 'tööl')).toBe(modelToolName('Sérvér', 'tööl'));
  });

  it('disambiguates the separator: a server with "__" or a trailing "_" is hashed', () => {
    const a = modelToolName('a__b', 'c');
    const b = modelToolName('a', 'b__c');
    expect(b).toBe('mcp__a__b__c');
    expect(a).not.toBe(b);
    expect(modelToolName('a_', '_b')).not.toBe(modelToolName('a', '___b'));
  });

  it('stays within 128 characters for very long names', () => {
    const long = modelToolName('s'.repeat(255), 't'.repeat(300));
    expect(long).toMatch(VALID);
    expect(long.length).toBeLessThanOrEqual(128);
    expect(modelToolName('s'.repeat(255), 't'.repeat(300) + 'x')).not.toBe(long);
    // Fits exactly: no hash.
    const exact = modelToolName('s', 't'.repeat(128 - 'mcp__s__'.length));
    expect(exact.length).toBe(128);
    expect(exact).not.toMatch(/_h[0-9a-f]{8}$/);
  });

  it('handles empty and non-ASCII parts', () => {
    expect(modelToolName('日本', '')).toMatch(VALID);
    expect(isModelMcpToolName(modelToolName('日本', 'ツール'))).toBe(true);
    expect(isModelMcpToolName('bash')).toBe(false);
  });
});

describe('McpToolNameIndex', () => {
  it('maps names back to their (server, tool) pairs', () => {
    const index = new McpToolNameIndex([
      { server: 'github', tool: 'create_issue' },
      { server: 'My Server', tool: 'files/read' },
    ]);
    expect(index.size).toBe(2);
    const name = index.nameOf('My Server', 'files/read')!;
    expect(name).toBe(modelToolName('My Server', 'files/read'));
    expect(index.lookup(name)).toEqual({ server: 'My Server', tool: 'files/read' });
    expect(index.lookup('mcp__github__create_issue')).toEqual({ server: 'github', tool: 'create_issue' });
    expect(index.lookup('mcp__github__nope')).toBeUndefined();
    expect(index.nameOf('github', 'nope')).toBeUndefined();
  });

  it('gives every pair a distinct valid name, independent of order', () => {
    const pairs = [
      { server: 'a.b', tool: 'x' }, { server: 'a_b', tool: 'x' }, { server: 'a b', tool: 'x' },
      { server: 'a', tool: 'b__c' }, { server: 'a__b', tool: 'c' }, { server: 'a', tool: 'b__c' },
    ];
    const one = new McpToolNameIndex(pairs);
    const two = new McpToolNameIndex([...pairs].reverse());
    expect(one.size).toBe(5);
    for (const p of pairs) {
      const name = one.nameOf(p.server, p.tool)!;
      expect(name).toMatch(VALID);
      expect(two.nameOf(p.server, p.tool)).toBe(name);
      expect(one.lookup(name)).toEqual(p);
    }
  });
});
