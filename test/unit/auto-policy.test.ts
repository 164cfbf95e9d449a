// The `auto` permission rules: reads allowed, workspace writes allowed, known read-only shell
// commands allowed, destructive commands denied, everything else asked.
import { describe, expect, it } from 'vitest';
import { evaluateAuto, evaluateBash } from '../../src/harness/auto-policy.ts';

describe('auto policy', () => {
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
    for (const c of ['ls -la', 'cat a.txt | grep foo | wc -l', 'git status && git diff', 'gcc -o a a.c', 'mkdir -p out && cp a out/', 'X=1 tsc -p .']) {
      expect(evaluateBash(c), c).toEqual({ type: 'allow' });
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

  it('asks for tools it has no rule for', () => {
    expect(evaluateAuto('web_fetch', { url: 'https://x' })).toEqual({ type: 'ask', reason_code: 'indeterminate' });
  });
});
