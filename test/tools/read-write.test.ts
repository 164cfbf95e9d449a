import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { READ_DEFAULT_LINES, READ_MAX_IMAGE_BYTES } from '../../src/tools/read.ts';
import { RUNTIMES, textOf, type RuntimeFixture } from './runtimes.ts';

const PNG_1x1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe.each(RUNTIMES)('write and read tools on $name runtime', (factory) => {
  let f: RuntimeFixture;
  beforeEach(async () => {
    f = await factory.create();
  });
  afterEach(async () => {
    await f.dispose();
  });

  /** Writes raw bytes through exec (the tools under test are not used for setup). */
  async function put(path: string, data: Buffer): Promise<void> {
    const res = await f.rt.exec(['bash', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', '_', path], {
      stdin: data,
      timeoutMs: 10_000,
      maxOutputBytes: 1024,
      signal: new AbortController().signal,
    });
    expect(res.exitCode).toBe(0);
  }

  describe('write', () => {
    it('creates a file with parent directories and reports the bytes written', async () => {
      const out = await f.call('write', { file_path: 'a/b/c.txt', content: 'héllo\nworld\n' });
      expect(out).toEqual({
        content: [{ type: 'text', text: `Created ${f.rt.workspace}/a/b/c.txt: wrote 13 bytes (2 lines).` }],
        isError: false,
      });
      expect(await f.sh('cat a/b/c.txt')).toBe('héllo\nworld\n');
    });

    it('overwrites an existing file exactly, without adding a newline', async () => {
      await f.call('write', { file_path: 'x.txt', content: 'a much longer first version\n' });
      const out = await f.call('write', { file_path: `${f.rt.workspace}/x.txt`, content: 'short' });
      expect(textOf(out)).toBe(`Overwrote ${f.rt.workspace}/x.txt: wrote 5 bytes (1 line).`);
      expect(await f.sh('od -c x.txt | head -1')).toMatch(/s\s+h\s+o\s+r\s+t\s*$/m);
      expect(await f.sh('stat -c %s x.txt')).toBe('5\n');
    });

    it('writes an empty file', async () => {
      expect(textOf(await f.call('write', { file_path: 'empty', content: '' }))).toMatch(/wrote 0 bytes \(0 lines\)/);
      expect(await f.sh('stat -c %s empty')).toBe('0\n');
    });

    it('refuses to write over a directory', async () => {
      await f.sh('mkdir d');
      const out = await f.call('write', { file_path: 'd', content: 'x' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toBe(`Cannot write ${f.rt.workspace}/d: it is a directory`);
    });

    it("surfaces the sandbox's own error when the location is not writable", async () => {
      await f.sh('mkdir locked && chmod 555 locked');
      // Root ignores permission bits (the host runtime in CI may be root; bubblewrap runs as 1000),
      // but even root may not write to sysfs attributes like this one.
      const root = (await f.sh('id -u')).trim() === '0';
      const target = root ? '/sys/kernel/notes' : `${f.rt.workspace}/locked/f.txt`;
      const out = await f.call('write', { file_path: target, content: 'x' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toBe(`Cannot write ${target}: Permission denied`);
    });

    it('rejects an empty path and a path with a NUL byte', async () => {
      expect(textOf(await f.call('write', { file_path: '', content: 'x' }))).toBe("'file_path' must not be empty");
      expect(textOf(await f.call('write', { file_path: 'a\0b', content: 'x' }))).toBe("'file_path' must not contain NUL bytes");
    });
  });

  describe('read', () => {
    it('returns a written file with cat -n style line numbers', async () => {
      await f.call('write', { file_path: 'f.txt', content: 'alpha\n\tbeta\ngamma' });
      const out = await f.call('read', { file_path: 'f.txt' });
      expect(out).toEqual({ content: [{ type: 'text', text: '     1\talpha\n     2\t\tbeta\n     3\tgamma' }], isError: false });
    });

    it('returns a view_range, inclusive and 1-based', async () => {
      await f.call('write', { file_path: 'f.txt', content: 'l1\nl2\nl3\nl4\nl5\n' });
      expect(textOf(await f.call('read', { file_path: 'f.txt', view_range: [2, 3] }))).toBe('     2\tl2\n     3\tl3');
      expect(textOf(await f.call('read', { file_path: 'f.txt', view_range: [4, -1] }))).toBe('     4\tl4\n     5\tl5');
      expect(textOf(await f.call('read', { file_path: 'f.txt', view_range: [5, 5] }))).toBe('     5\tl5');
    });

    it('clamps a view_range end past the end of the file and says how long the file is', async () => {
      await f.call('write', { file_path: 'f.txt', content: 'l1\nl2\nl3\n' });
      const out = await f.call('read', { file_path: 'f.txt', view_range: [2, 10] });
      expect(out.isError).toBe(false);
      expect(textOf(out)).toBe('     2\tl2\n     3\tl3\n\n[The file has 3 lines; showing lines 2-3.]');
    });

    it('rejects invalid view_ranges with a clear message', async () => {
      await f.call('write', { file_path: 'f.txt', content: 'l1\nl2\nl3\n' });
      const cases: Array<[unknown, RegExp]> = [
        [[0, 2], /start must be at least 1/],
        [[3, 2], /end must be -1 \(end of file\) or at least start/],
        [[2, -2], /end must be -1/],
        [[4, -1], /start line 4 is beyond the end of the file \(3 lines\)/],
        [[1], /'view_range' must have exactly 2 items \(got 1\)/],
        [[1, 'x'], /'view_range' item 1 must be a number/],
        ['1-2', /'view_range' must be an array \(got string\)/],
      ];
      for (const [view_range, msg] of cases) {
        const out = await f.call('read', { file_path: 'f.txt', view_range });
        expect(out.isError, JSON.stringify(view_range)).toBe(true);
        expect(textOf(out)).toMatch(msg);
      }
    });

    it(`shows the first ${READ_DEFAULT_LINES} lines by default and says how to read on`, async () => {
      await f.sh('seq 1 2500 > long.txt');
      const text = textOf(await f.call('read', { file_path: 'long.txt' }));
      const lines = text.split('\n');
      expect(lines[0]).toBe('     1\t1');
      expect(lines[READ_DEFAULT_LINES - 1]).toBe(`  2000\t2000`);
      expect(text.endsWith('[Showing lines 1-2000 of 2500. Use view_range [2001, 2500] to read more.]')).toBe(true);
      expect(textOf(await f.call('read', { file_path: 'long.txt', view_range: [2001, -1] })).split('\n')).toHaveLength(500);
    });

    it('stops at the output size limit at a line boundary, even for an explicit range', async () => {
      await f.sh('for i in $(seq 1 300); do printf "%0999d\\n" $i; done > wide.txt');
      const text = textOf(await f.call('read', { file_path: 'wide.txt', view_range: [1, -1] }));
      expect(text.length).toBeLessThan(101_000);
      expect(text).toMatch(/\[Showing lines 1-(\d+) of 300 \(output size limit reached\)\. Use view_range \[(\d+), 300\] to read more\.\]$/);
    });

    it('cuts very long lines and says how long they were', async () => {
      await f.sh('head -c 5000 /dev/zero | tr "\\0" a > wide.txt; echo >> wide.txt; echo short >> wide.txt');
      const text = textOf(await f.call('read', { file_path: 'wide.txt' }));
      const [first, second] = text.split('\n');
      expect(first).toBe(`     1\t${'a'.repeat(2000)} [... line truncated: 5000 characters in total]`);
      expect(second).toBe('     2\tshort');
    });

    it('reads a text file too large to load whole by streaming the wanted lines', async () => {
      await f.sh('seq 1 2000000 > huge.txt'); // ~14.9 MB, above the whole-file limit
      const first = textOf(await f.call('read', { file_path: 'huge.txt', view_range: [1, 3] }));
      expect(first).toBe('     1\t1\n     2\t2\n     3\t3');
      const tail = textOf(await f.call('read', { file_path: 'huge.txt', view_range: [1999999, -1] }));
      expect(tail).toBe('1999999\t1999999\n2000000\t2000000');
      const dflt = textOf(await f.call('read', { file_path: 'huge.txt' }));
      expect(dflt).toMatch(/\[Showing lines 1-2000 of 2000000\. Use view_range \[2001, 4000\] to read more\.\]$/);
      const beyond = await f.call('read', { file_path: 'huge.txt', view_range: [2000001, -1] });
      expect(textOf(beyond)).toMatch(/beyond the end of the file \(2000000 lines\)/);
    }, 30_000);

    it('counts a last line without a newline, and does not invent one after a final newline', async () => {
      await f.call('write', { file_path: 'a.txt', content: 'x\n\n' });
      expect(textOf(await f.call('read', { file_path: 'a.txt' }))).toBe('     1\tx\n     2\t');
    });

    it('says when a file is empty', async () => {
      await f.sh('touch empty.txt');
      const out = await f.call('read', { file_path: 'empty.txt' });
      expect(out).toEqual({ content: [{ type: 'text', text: `(${f.rt.workspace}/empty.txt is an empty file)` }], isError: false });
    });

    it('reports a missing file', async () => {
      const out = await f.call('read', { file_path: 'nope.txt' });
      expect(out).toEqual({ content: [{ type: 'text', text: `File does not exist: ${f.rt.workspace}/nope.txt` }], isError: true });
    });

    it('reports a directory and suggests glob', async () => {
      await f.sh('mkdir -p dir');
      const out = await f.call('read', { file_path: 'dir' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toMatch(/is a directory, not a file\. Use glob/);
    });

    it('refuses special files instead of blocking on them', async () => {
      await f.sh('mkfifo pipe');
      const out = await f.call('read', { file_path: 'pipe' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toBe(`${f.rt.workspace}/pipe is not a regular file (fifo); read only reads regular files.`);
    });

    it('refuses binary files', async () => {
      await put(`${f.rt.workspace}/blob.bin`, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
      const out = await f.call('read', { file_path: 'blob.bin' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toMatch(/^Cannot read binary file .*blob\.bin \(8 bytes\)/);
    });

    it('returns a PNG as an image block, detected by content not name', async () => {
      await put(`${f.rt.workspace}/pic.dat`, PNG_1x1);
      const out = await f.call('read', { file_path: 'pic.dat' });
      expect(out).toEqual({
        content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1x1.toString('base64') } }],
        isError: false,
      });
    });

    it('detects jpeg, gif and webp', async () => {
      const samples: Array<[string, Buffer]> = [
        ['image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46])],
        ['image/gif', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')],
        ['image/webp', Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x1a, 0, 0, 0]), Buffer.from('WEBPVP8 ')])],
      ];
      for (const [mediaType, data] of samples) {
        await put(`${f.rt.workspace}/img`, data);
        const out = await f.call('read', { file_path: 'img' });
        expect(out.content[0]).toMatchObject({ type: 'image', source: { type: 'base64', media_type: mediaType, data: data.toString('base64') } });
      }
    });

    it('refuses an image over the size cap', async () => {
      await put(`${f.rt.workspace}/big.png`, Buffer.concat([PNG_1x1, Buffer.alloc(READ_MAX_IMAGE_BYTES)]));
      const out = await f.call('read', { file_path: 'big.png' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toMatch(/^Image .*big\.png is too large to return \(\d+ bytes; the limit is 3932160 bytes\)/);
    });

    it('returns a PDF as a document block', async () => {
      const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
      await put(`${f.rt.workspace}/doc.pdf`, pdf);
      const out = await f.call('read', { file_path: 'doc.pdf' });
      expect(out).toEqual({
        content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf.toString('base64') } }],
        isError: false,
      });
    });

    it('reads files outside the workspace by absolute path', async () => {
      await put(`${f.rt.outputsDir}/report.md`, Buffer.from('# done\n'));
      expect(textOf(await f.call('read', { file_path: `${f.rt.outputsDir}/report.md` }))).toBe('     1\t# done');
    });

    it('normalizes the path it reports', async () => {
      const out = await f.call('read', { file_path: './sub/../missing.txt' });
      expect(textOf(out)).toBe(`File does not exist: ${f.rt.workspace}/missing.txt`);
    });
  });
});
