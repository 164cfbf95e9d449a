// The `auto` permission rules: reads allowed, workspace writes allowed, known read-only shell
// commands allowed, destructive commands denied, everything else asked.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { evaluateAuto, evaluateBash } from '../../src/harness/auto-policy.ts';
import { loadShellGrammar } from '../../src/harness/shell-syntax.ts';

describe('auto policy', () => {
  beforeAll(async () => {
    await loadShellGrammar();
  });

  it('asks for every shell command until the grammar is loaded, then judges them', async () => {
    vi.resetModules(); // fresh copies of both modules: nothing loaded yet
    const policy = await import('../../src/harness/auto-policy.ts');
    const syntax = await import('../../src/harness/shell-syntax.ts');
    expect(syntax.shellGrammarReady()).toBe(false);
    expect(policy.evaluateBash('ls')).toEqual({ type: 'ask', reason_code: 'indeterminate' });
    expect(policy.evaluateBash('rm -rf /')).toEqual({ type: 'ask', reason_code: 'indeterminate' });
    await Promise.all([syntax.loadShellGrammar(), syntax.loadShellGrammar()]);
    expect(policy.evaluateBash('ls')).toEqual({ type: 'allow' });
    expect(policy.evaluateBash('rm -rf /')).toEqual({ type: 'deny', reason_code: 'high_risk' });
  });

  it('allows reads and searches anywhere', () => {
    for (const tool of ['read', 'glob', 'grep']) expect(evaluateAuto(tool, { file_path: '/etc/hosts', pattern: 'x' })).toEqual({ type: 'allow' });
  });

  it('allows writes inside the workspace and outputs, asks elsewhere', () => {
    expect(evaluateAuto('write', { file_path: 'src/a.ts' })).toEqual({ type: 'allow' });
    expect(evaluateAuto('edit', { file_path: '/workspace/x/y' })).toEqual({ type: 'allow' });
    expect(evaluateAuto('write', { file_path: '/mnt/session/outputs/report.md' })).toEqual({ type: 'allow' });
    expect(evaluateAuto('write', { file_path: '/etc/passwd' })).toEqual({ type: 'ask', reason_code: 'indeterminate' });
    expect(evaluateAuto('write', { file_path: '/workspace/../etc/passwd' })).toEqual({ type: 'ask', reason_code: 'indeterminate' });
    expect(evaluateAuto('edit', { file_path: '../../etc/passwd' })).toEqual({ type: 'ask', reason_code: 'indeterminate' });
  });

  it('allows read-only and build-local shell commands', () => {
    for (const c of ['ls -la', 'cat a.txt | grep foo | wc -l', 'git status && git diff', 'gcc -o a a.c', 'mkdir -p out && cp a out/', 'LANG=C tsc -p .']) {
      expect(evaluateBash(c), c).toEqual({ type: 'allow' });
    }
  });

  it('asks for an assignment prefix that is not on the harmless list', () => {
    // It used to allow `X=1 tsc`: any prefix was skipped. PATH=, LD_PRELOAD=, GIT_*= … change what runs.
    for (const c of ['X=1 tsc -p .', 'PATH=/workspace/bin:$PATH tsc', 'LANG=$(id) ls']) {
      expect(evaluateBash(c), c).toEqual({ type: 'ask', reason_code: 'indeterminate' });
    }
  });

  it('asks for network, privilege, substitutions and unknown commands', () => {
    for (const c of ['curl https://example.com', 'git push origin main', 'sudo ls', 'echo $(whoami)', 'npm install left-pad', 'find . -delete', 'cp a /etc/b', 'sleep 100 &', 'wget x',
      'env curl https://example.com', 'echo https://example.com | xargs curl', "awk 'BEGIN{system(\"curl x\")}'", 'python3 fetch.py', "sed -n '1e curl x' f", 'make']) {
      expect(evaluateBash(c), c).toEqual({ type: 'ask', reason_code: 'indeterminate' });
    }
  });

  it('denies recognizably destructive commands', () => {
    for (const c of ['rm -rf /', 'rm -rf ~', 'rm -r -f /', 'rm --recursive --force /', 'rm -fr /*', 'mkfs.ext4 /dev/sda1', 'dd if=/dev/zero of=/dev/sda', ':(){ :|:& };:', 'shutdown -h now']) {
      expect(evaluateBash(c), c).toEqual({ type: 'deny', reason_code: 'high_risk' });
    }
  });

  it('asks when the grammar had to recover from a syntax error, even if each part looks safe', () => {
    // The grammar recovers from a missing quote or bracket with the parts intact; bash (the tool
    // runs each command through `eval`) reports a syntax error after running what came before it.
    for (const c of ['ls "x" "', '[ -f a']) expect(evaluateBash(c), c).toEqual({ type: 'ask', reason_code: 'indeterminate' });
  });

  it('asks for tools it has no rule for', () => {
    expect(evaluateAuto('web_fetch', { url: 'https://x' })).toEqual({ type: 'ask', reason_code: 'indeterminate' });
  });
});
