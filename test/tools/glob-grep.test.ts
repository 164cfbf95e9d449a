import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUNTIMES, textOf, type RuntimeFixture } from './runtimes.ts';

describe.each(RUNTIMES)('glob and grep tools on $name runtime', (factory) => {
  let f: RuntimeFixture;
  let ws: string;
  beforeEach(async () => {
    f = await factory.create();
    ws = f.rt.workspace;
    // Distinct mtimes so newest-first order is deterministic.
    await f.sh(
      [
        'mkdir -p src/sub .hidden .git node_modules/pkg',
        'printf "export const a = 1;\\n" > a.ts',
        'printf "import x from \\"y\\";\\nconst TODO = 2;\\n" > src/b.ts',
        'printf "// TODO: later\\nlet c = [1, 2];\\n" > src/sub/c.ts',
        'printf "secret TODO\\n" > .hidden/d.ts',
        'printf "TODO in git\\n" > .git/e.ts',
        'printf "TODO ignored\\n" > node_modules/pkg/f.ts',
        'printf "node_modules\\n" > .gitignore',
        'printf "# readme\\n" > README.md',
        'touch -d "2020-01-01" a.ts; touch -d "2021-01-01" src/b.ts; touch -d "2022-01-01" src/sub/c.ts; touch -d "2019-01-01" .hidden/d.ts',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await f.dispose();
  });

  describe('glob', () => {
    it('finds files at any depth, newest first, as absolute paths; hidden included, .git and ignored excluded', async () => {
      const out = await f.call('glob', { pattern: '**/*.ts' });
      expect(out.isError).toBe(false);
      expect(textOf(out).split('\n')).toEqual([`${ws}/src/sub/c.ts`, `${ws}/src/b.ts`, `${ws}/a.ts`, `${ws}/.hidden/d.ts`]);
    });

    it('anchors patterns containing a slash at the search directory', async () => {
      expect(textOf(await f.call('glob', { pattern: 'src/*.ts' }))).toBe(`${ws}/src/b.ts`);
      expect(textOf(await f.call('glob', { pattern: 'src/**/*.ts' })).split('\n')).toEqual([`${ws}/src/sub/c.ts`, `${ws}/src/b.ts`]);
    });

    it('searches under path', async () => {
      expect(textOf(await f.call('glob', { pattern: '*.ts', path: 'src/sub' }))).toBe(`${ws}/src/sub/c.ts`);
    });

    it('accepts an absolute pattern and keeps its first level anchored', async () => {
      expect(textOf(await f.call('glob', { pattern: `${ws}/*.ts` }))).toBe(`${ws}/a.ts`);
      expect(textOf(await f.call('glob', { pattern: `${ws}/src/**/*.ts` })).split('\n')).toEqual([`${ws}/src/sub/c.ts`, `${ws}/src/b.ts`]);
    });

    it('supports brace alternatives', async () => {
      expect(textOf(await f.call('glob', { pattern: '*.{md,gitignore}' })).split('\n').sort()).toEqual([`${ws}/.gitignore`, `${ws}/README.md`]);
    });

    it('says so when nothing matches (not an error)', async () => {
      const out = await f.call('glob', { pattern: '**/*.rs' });
      expect(out).toEqual({ content: [{ type: 'text', text: `No files found matching "**/*.rs" in ${ws}` }], isError: false });
    });

    it("reports an invalid glob with ripgrep's message", async () => {
      const out = await f.call('glob', { pattern: 'src/[' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toMatch(/^glob failed: error parsing glob 'src\/\[': unclosed character class/);
    });

    it('handles file names with spaces and newlines', async () => {
      await f.sh("touch 'with space.log' $'new\\nline.log'");
      const text = textOf(await f.call('glob', { pattern: '*.log' }));
      expect(text).toContain(`${ws}/with space.log`);
      expect(text).toContain(`${ws}/new\nline.log`);
    });

    it('reports a missing or non-directory path', async () => {
      expect(await f.call('glob', { pattern: '*', path: 'nope' })).toEqual({
        content: [{ type: 'text', text: `Directory does not exist: ${ws}/nope` }],
        isError: true,
      });
      expect(textOf(await f.call('glob', { pattern: '*', path: 'a.ts' }))).toMatch(/is not a directory/);
    });

    it('caps the number of results and gives the total', async () => {
      await f.sh('mkdir many && cd many && for i in $(seq 1 600); do : > f$i.txt; done');
      const text = textOf(await f.call('glob', { pattern: 'many/*.txt' }));
      const lines = text.split('\n');
      expect(lines.filter((l) => l.startsWith('/'))).toHaveLength(500);
      expect(text.endsWith('[Showing the 500 most recently modified of 600 matching files. Use a narrower pattern or path.]')).toBe(true);
    });
  });

  describe('grep', () => {
    it('returns path:line:text for every match, sorted by path, skipping .git and ignored files', async () => {
      const out = await f.call('grep', { pattern: 'TODO' });
      expect(out.isError).toBe(false);
      expect(textOf(out).split('\n')).toEqual([`${ws}/.hidden/d.ts:1:secret TODO`, `${ws}/src/b.ts:2:const TODO = 2;`, `${ws}/src/sub/c.ts:1:// TODO: later`]);
    });

    it('searches a single file, still naming it', async () => {
      expect(textOf(await f.call('grep', { pattern: 'c = \\[', path: 'src/sub/c.ts' }))).toBe(`${ws}/src/sub/c.ts:2:let c = [1, 2];`);
    });

    it('supports regex syntax and inline flags', async () => {
      expect(textOf(await f.call('grep', { pattern: '(?i)^export\\s+const\\s+\\w+', path: ws }))).toBe(`${ws}/a.ts:1:export const a = 1;`);
    });

    it('accepts a pattern that starts with a dash', async () => {
      await f.sh('printf -- "--flag\\n" > opts.txt');
      expect(textOf(await f.call('grep', { pattern: '--flag' }))).toBe(`${ws}/opts.txt:1:--flag`);
    });

    it('says so when nothing matches (not an error)', async () => {
      const out = await f.call('grep', { pattern: 'nothing_like_this' });
      expect(out).toEqual({ content: [{ type: 'text', text: `No matches found for pattern "nothing_like_this" in ${ws}` }], isError: false });
    });

    it("reports an invalid regex as an error with ripgrep's message", async () => {
      const out = await f.call('grep', { pattern: 'foo(' });
      expect(out.isError).toBe(true);
      expect(textOf(out)).toMatch(/^grep failed: regex parse error:[\s\S]*unclosed group/);
    });

    it('reports a missing path', async () => {
      expect(await f.call('grep', { pattern: 'x', path: '/no/such/dir' })).toEqual({
        content: [{ type: 'text', text: 'Path does not exist: /no/such/dir' }],
        isError: true,
      });
    });

    it('caps output at whole lines and gives the total number of matching lines', async () => {
      await f.sh('mkdir big && for i in $(seq 1 3000); do echo "match number $i"; done > big/m.txt');
      const text = textOf(await f.call('grep', { pattern: 'match number', path: 'big' }));
      expect(text.length).toBeLessThan(31_000);
      const m = text.match(/\[Showing (\d+) of 3000 matching lines\. Use a more specific pattern or path to see the rest\.\]$/);
      expect(m).not.toBeNull();
      const shown = text.split('\n').filter((l) => l.startsWith(`${ws}/big/m.txt:`));
      expect(shown).toHaveLength(Number(m![1]));
      expect(shown[0]).toBe(`${ws}/big/m.txt:1:match number 1`);
    });

    it('shows a preview of very long matching lines', async () => {
      await f.sh('{ printf "needle "; head -c 10000 /dev/zero | tr "\\0" z; echo; } > wide.txt');
      const text = textOf(await f.call('grep', { pattern: 'needle', path: 'wide.txt' }));
      expect(text.length).toBeLessThan(1_000);
      expect(text.startsWith(`${ws}/wide.txt:1:needle zzz`)).toBe(true);
    });
  });
});
