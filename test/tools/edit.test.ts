import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUNTIMES, textOf, type RuntimeFixture } from './runtimes.ts';

describe.each(RUNTIMES)('edit tool on $name runtime', (factory) => {
  let f: RuntimeFixture;
  beforeEach(async () => {
    f = await factory.create();
  });
  afterEach(async () => {
    await f.dispose();
  });

  async function file(name: string, content: string): Promise<void> {
    const out = await f.call('write', { file_path: name, content });
    expect(out.isError).toBe(false);
  }
  const bytes = async (name: string) => (await f.sh(`base64 -w0 ${name}`)).trim();
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

  it('replaces a unique match, leaves everything else byte-identical, and shows the region', async () => {
    await file('app.py', 'def f():\n    return 1\n\n\ndef g():\n    return 2');
    const out = await f.call('edit', { file_path: 'app.py', old_string: 'return 2', new_string: 'return 3\n    # done' });
    expect(out.isError).toBe(false);
    expect(textOf(out)).toBe(
      `Edited ${f.rt.workspace}/app.py: replaced 1 occurrence.\n` +
        '     3\t\n     4\t\n     5\tdef g():\n     6\t    return 3\n     7\t    # done',
    );
    expect(await bytes('app.py')).toBe(b64('def f():\n    return 1\n\n\ndef g():\n    return 3\n    # done'));
  });

  it('inserts new_string literally ($& and $1 are not patterns)', async () => {
    await file('a.txt', 'price: X\n');
    await f.call('edit', { file_path: 'a.txt', old_string: 'X', new_string: "$& $1 $$ $'" });
    expect(await f.sh('cat a.txt')).toBe("price: $& $1 $$ $'\n");
  });

  it('can delete text with an empty new_string', async () => {
    await file('a.txt', 'keep\ndrop me\nkeep\n');
    await f.call('edit', { file_path: 'a.txt', old_string: 'drop me\n', new_string: '' });
    expect(await f.sh('cat a.txt')).toBe('keep\nkeep\n');
  });

  it('refuses an ambiguous match and says how many and where', async () => {
    await file('a.txt', 'x = 1\ny = 2\nx = 1\nx = 1\n');
    const out = await f.call('edit', { file_path: 'a.txt', old_string: 'x = 1', new_string: 'x = 9' });
    expect(out.isError).toBe(true);
    expect(textOf(out)).toBe(
      `old_string occurs 3 times in ${f.rt.workspace}/a.txt (at lines 1, 3, 4). Include more surrounding context to match exactly one, or set replace_all: true to replace every occurrence.`,
    );
    expect(await f.sh('cat a.txt')).toBe('x = 1\ny = 2\nx = 1\nx = 1\n');
  });

  it('replaces every occurrence with replace_all', async () => {
    await file('a.txt', 'x = 1\ny = 2\nx = 1\n');
    const out = await f.call('edit', { file_path: 'a.txt', old_string: 'x = 1', new_string: 'x = 9', replace_all: true });
    expect(textOf(out)).toMatch(/^Edited .*a\.txt: replaced 2 occurrences\./);
    expect(await f.sh('cat a.txt')).toBe('x = 9\ny = 2\nx = 9\n');
  });

  it('counts non-overlapping occurrences', async () => {
    await file('a.txt', 'aaaa');
    await f.call('edit', { file_path: 'a.txt', old_string: 'aa', new_string: 'b', replace_all: true });
    expect(await f.sh('cat a.txt')).toBe('bb');
  });

  it('reports old_string not found, with a whitespace hint when only whitespace differs', async () => {
    await file('a.py', 'def f():\n\treturn 1\n');
    const plain = await f.call('edit', { file_path: 'a.py', old_string: 'return 2', new_string: 'x' });
    expect(plain.isError).toBe(true);
    expect(textOf(plain)).toBe(`old_string was not found in ${f.rt.workspace}/a.py. It must match the file exactly, including whitespace and indentation.`);
    const ws = await f.call('edit', { file_path: 'a.py', old_string: 'def f():\n    return 1', new_string: 'x' });
    expect(textOf(ws)).toMatch(/A match that differs only in whitespace starts at line 1/);
  });

  it('hints when old_string includes line-number prefixes from read', async () => {
    await file('a.txt', 'hello\nworld\n');
    const out = await f.call('edit', { file_path: 'a.txt', old_string: '     1\thello', new_string: 'bye' });
    expect(textOf(out)).toMatch(/line-number prefixes from read output/);
  });

  it('rejects an empty old_string and identical strings', async () => {
    await file('a.txt', 'hello');
    const empty = await f.call('edit', { file_path: 'a.txt', old_string: '', new_string: 'x' });
    expect(empty).toEqual({ content: [{ type: 'text', text: 'old_string must not be empty (use write to create or overwrite a file)' }], isError: true });
    const same = await f.call('edit', { file_path: 'a.txt', old_string: 'hello', new_string: 'hello' });
    expect(same.isError).toBe(true);
    expect(textOf(same)).toMatch(/identical/);
  });

  it('reports a missing file and a directory', async () => {
    const missing = await f.call('edit', { file_path: 'nope.txt', old_string: 'a', new_string: 'b' });
    expect(missing).toEqual({
      content: [{ type: 'text', text: `File does not exist: ${f.rt.workspace}/nope.txt (use write to create it)` }],
      isError: true,
    });
    await f.sh('mkdir d');
    expect(textOf(await f.call('edit', { file_path: 'd', old_string: 'a', new_string: 'b' }))).toMatch(/is a directory/);
  });

  it('keeps CRLF line endings and matches LF old_string against them', async () => {
    await file('win.txt', 'one\r\ntwo\r\nthree\r\n');
    const out = await f.call('edit', { file_path: 'win.txt', old_string: 'one\ntwo', new_string: 'uno\ndos' });
    expect(out.isError).toBe(false);
    expect(await bytes('win.txt')).toBe(b64('uno\r\ndos\r\nthree\r\n'));
  });

  it('keeps a byte order mark and a missing final newline', async () => {
    await f.sh("printf '\\xef\\xbb\\xbfname = 1' > bom.txt");
    await f.call('edit', { file_path: 'bom.txt', old_string: '1', new_string: '2' });
    expect(await f.sh('od -An -tx1 bom.txt')).toMatch(/^\s*ef bb bf 6e 61 6d 65 20 3d 20 32\s*$/);
  });

  it('refuses files that are not valid UTF-8 rather than corrupting them', async () => {
    await f.sh("printf 'caf\\xe9 = 1\\n' > latin1.txt");
    const out = await f.call('edit', { file_path: 'latin1.txt', old_string: '1', new_string: '2' });
    expect(out.isError).toBe(true);
    expect(textOf(out)).toMatch(/is not valid UTF-8 text/);
    expect(await f.sh('od -An -tx1 latin1.txt')).toMatch(/63 61 66 e9/);
  });

  it('keeps the file mode', async () => {
    await file('run.sh', '#!/bin/sh\necho a\n');
    await f.sh('chmod 751 run.sh');
    await f.call('edit', { file_path: 'run.sh', old_string: 'echo a', new_string: 'echo b' });
    expect(await f.sh('stat -c %a run.sh; ./run.sh')).toBe('751\nb\n');
  });
});
