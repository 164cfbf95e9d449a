// A malformed models file stops the real entry point (src/server/main.ts, as `npm start` runs it)
// with a non-zero exit and exactly one `hangar: …` line naming the file and the problem, no stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverNode } from '../kit/child-server.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hangar-models-start-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HANGAR_') && !k.startsWith('ANTHROPIC_') && !k.startsWith('OPENAI_')));
  const child = spawn(serverNode(), ['--disable-warning=ExperimentalWarning', 'src/server/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...inherited, HANGAR_HOST: '127.0.0.1', HANGAR_PORT: '0', HANGAR_DATA_DIR: join(root, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`the server did not exit within 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

describe('start-up with a bad models file', () => {
  it('a model on an undefined provider: one line naming the file and the problem, non-zero exit', async () => {
    const file = join(root, 'models.yaml');
    writeFileSync(file, 'models:\n  - id: llama3.1:8b\n    provider: ollama\n');
    const r = await run({ HANGAR_MODELS: file });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      `hangar: invalid configuration: HANGAR_MODELS (${file}): models (id "llama3.1:8b"): provider "ollama" is not defined; providers: anthropic`,
    ]);
  });

  it('invalid YAML: one line, non-zero exit, no stack trace', async () => {
    const file = join(root, 'broken.yaml');
    writeFileSync(file, 'providers: {local: [unclosed\n');
    const r = await run({ HANGAR_MODELS: file });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^hangar: invalid configuration: HANGAR_MODELS \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): not valid YAML: `));
  });
});
