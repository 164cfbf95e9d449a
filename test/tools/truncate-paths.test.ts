import { describe, expect, it } from 'vitest';
import { takeLines, truncateMiddle } from '../../src/domain/truncate.ts';
import { resolvePath } from '../../src/tools/paths.ts';
import { ToolFailure } from '../../src/tools/builtin-tool.ts';

describe('truncateMiddle', () => {
  it('returns short text unchanged', () => {
    expect(truncateMiddle('abc', 10)).toBe('abc');
  });

  it('keeps head and tail and counts the characters cut', () => {
    const text = 'a'.repeat(100) + 'b'.repeat(100);
    const out = truncateMiddle(text, 50);
    expect(out).toBe(`${'a'.repeat(25)}\n[... 150 characters truncated ...]\n${'b'.repeat(25)}`);
  });

  it('cuts at line boundaries when one is near', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')}`).join('\n');
    const out = truncateMiddle(text, 100);
    const [, count] = out.match(/\[\.\.\. (\d+) characters truncated \.\.\.\]/)!;
    const shown = out.replace(/\[\.\.\. \d+ characters truncated \.\.\.\]\n/, '');
    expect(shown.length + Number(count)).toBe(text.length);
    for (const line of shown.split('\n')) expect(line).toMatch(/^line \d{3}$/);
  });

  it('never splits a surrogate pair', () => {
    const out = truncateMiddle('😀'.repeat(100), 51);
    expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});

describe('takeLines', () => {
  it('keeps whole lines within the budget and counts the rest', () => {
    expect(takeLines(['aaaa', 'bbbb', 'cccc'], 10)).toEqual({ kept: ['aaaa', 'bbbb'], omitted: 1 });
  });
  it('always keeps at least one line', () => {
    expect(takeLines(['a'.repeat(50)], 10)).toEqual({ kept: ['a'.repeat(50)], omitted: 0 });
  });
});

describe('resolvePath', () => {
  it('resolves relative paths against the workspace and normalizes', () => {
    expect(resolvePath('src/../a.txt', '/workspace')).toBe('/workspace/a.txt');
    expect(resolvePath('./dir/', '/workspace')).toBe('/workspace/dir');
    expect(resolvePath('/tmp//x/./y', '/workspace')).toBe('/tmp/x/y');
    expect(resolvePath('/', '/workspace')).toBe('/');
    expect(resolvePath('-rf', '/workspace')).toBe('/workspace/-rf');
  });

  it('rejects empty paths and NUL bytes with a message naming the field', () => {
    expect(() => resolvePath('', '/workspace')).toThrow(new ToolFailure("'file_path' must not be empty"));
    expect(() => resolvePath('  ', '/workspace', 'path')).toThrow("'path' must not be empty");
    expect(() => resolvePath('a\0b', '/workspace')).toThrow("'file_path' must not contain NUL bytes");
  });
});
