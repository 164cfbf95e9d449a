// MCP call results → tool_result blocks, including the kinds the Messages API cannot take.
import { describe, expect, it } from 'vitest';
import { mcpResultToBlocks } from '../../src/adapters/mcp/mcp-content.ts';

describe('mcpResultToBlocks', () => {
  it('keeps text and supported images, drops empty text', () => {
    expect(mcpResultToBlocks({ content: [{ type: 'text', text: '' }, { type: 'text', text: 'a' }, { type: 'image', mimeType: 'image/webp', data: 'AAAA' }] })).toEqual({
      content: [{ type: 'text', text: 'a' }, { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'AAAA' } }],
      isError: false,
    });
  });

  it('notes unsupported images, audio, blobs and links instead of dropping them', () => {
    const { content } = mcpResultToBlocks({
      content: [
        { type: 'image', mimeType: 'image/tiff', data: 'AAAA' },
        { type: 'audio', mimeType: 'audio/wav', data: 'AAAA' },
        { type: 'resource', resource: { uri: 'file:///a.bin', mimeType: 'application/octet-stream', blob: 'AAAAAAAA' } },
        { type: 'resource', resource: { uri: 'file:///p.png', mimeType: 'image/png', blob: 'iVBO' } },
        { type: 'resource_link', uri: 'https://x.test/doc', name: 'doc' },
      ],
    });
    expect(content).toEqual([
      { type: 'text', text: '[image (image/tiff) omitted: only JPEG, PNG, GIF and WebP images can be shown]' },
      { type: 'text', text: '[audio content (audio/wav) omitted: audio cannot be shown to the model]' },
      { type: 'text', text: '[binary resource file:///a.bin (application/octet-stream, about 6 bytes) omitted]' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
      { type: 'text', text: '[resource link: doc <https://x.test/doc>]' },
    ]);
  });

  it('falls back to structuredContent, then the legacy toolResult, then a placeholder', () => {
    expect(mcpResultToBlocks({ content: [], structuredContent: { n: 1 } }).content).toEqual([{ type: 'text', text: '{\n  "n": 1\n}' }]);
    expect(mcpResultToBlocks({ toolResult: 'legacy' }).content).toEqual([{ type: 'text', text: 'legacy' }]);
    expect(mcpResultToBlocks({ content: [] })).toEqual({ content: [{ type: 'text', text: '(no output)' }], isError: false });
    expect(mcpResultToBlocks({ isError: true })).toEqual({ content: [{ type: 'text', text: '(the tool reported an error without details)' }], isError: true });
  });

  it('caps the total text size with a truncation note', () => {
    const { content } = mcpResultToBlocks({ content: [{ type: 'text', text: 'x'.repeat(5_000) }] }, 1_000);
    const text = (content[0] as { text: string }).text;
    expect(text.length).toBeLessThan(1_200);
    expect(text).toMatch(/characters truncated/);
  });
});
