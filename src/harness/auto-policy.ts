// The `auto` permission policy: a deliberately conservative rule set that decides allow / ask /
// deny per call. Reads are allowed; writes inside the workspace or outputs are allowed; shell
// commands are allowed only when every part is a known read-only or build-local command;
// recognizably destructive commands are denied; everything else asks the user.

export type AutoDecision = { type: 'allow' } | { type: 'ask'; reason_code: string } | { type: 'deny'; reason_code: string };

const ALLOW: AutoDecision = { type: 'allow' };
const ASK: AutoDecision = { type: 'ask', reason_code: 'indeterminate' };
const DENY: AutoDecision = { type: 'deny', reason_code: 'high_risk' };

const WRITABLE_ROOTS = ['/workspace', '/mnt/session/outputs'];

/**
 * Commands that only read state or work inside the current tree, and cannot start other programs
 * or reach the network. Interpreters, build tools and command runners (`env`, `xargs`, `awk`,
 * `sed`, `python`, `node`, `make` …) can do anything, so they ask.
 */
const SAFE_COMMANDS = new Set([
  'ls', 'cat', 'head', 'tail', 'wc', 'echo', 'printf', 'pwd', 'cd', 'true', 'false', 'test', '[',
  'grep', 'rg', 'egrep', 'fgrep', 'sort', 'uniq', 'cut', 'tr', 'diff', 'cmp', 'stat', 'file', 'du', 'df',
  'date', 'whoami', 'id', 'uname', 'printenv', 'which', 'type', 'basename', 'dirname', 'realpath',
  'tree', 'md5sum', 'sha256sum', 'sha1sum', 'jq', 'mkdir', 'touch', 'cp', 'mv',
  'tsc', 'rustc', 'gcc', 'g++', 'cc', 'javac', 'export', 'seq', 'sleep', 'tee', 'find',
]);

/** Read-only git subcommands; anything else (push, fetch, reset --hard, clean …) asks. */
const SAFE_GIT = new Set(['status', 'diff', 'log', 'show', 'branch', 'rev-parse', 'ls-files', 'blame', 'add', 'commit', 'init', 'stash']);

const HIGH_RISK: RegExp[] = [
  /\brm\s+(-[a-z]*\s+)*-[a-z]*r[a-z]*f?[a-z]*\s+(\/|~|\$HOME|\/\*)(\s|$)/i, // rm -rf / or ~
  /\bmkfs(\.\w+)?\b/,
  /\bdd\b[^|;&]*\bof=\/dev\//,
  /:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:/, // the classic fork bomb
  /\b(shutdown|reboot|halt|poweroff)\b/,
  /\bchmod\s+(-[a-z]+\s+)*[0-7]*777\s+\/(\s|$)/,
  />\s*\/dev\/sd[a-z]/,
];

function normalizePath(p: string): string {
  const abs = p.startsWith('/') ? p : `/workspace/${p}`;
  const parts: string[] = [];
  for (const seg of abs.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

function insideWritable(path: unknown): boolean {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) return false;
  const p = normalizePath(path);
  return WRITABLE_ROOTS.some((root) => p === root || p.startsWith(`${root}/`));
}

/** Splits a shell command line into simple commands on `;`, `&&`, `||`, `|` and newlines. */
function simpleCommands(command: string): string[][] {
  return command
    .split(/;|&&|\|\||\||\n/)
    .map((part) => part.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

const ROOT_TARGETS = new Set(['/', '/*', '/.', '~', '~/', '~/*', '$HOME', '$HOME/', '${HOME}', '/..']);

/** `rm` with a recursive flag in any spelling (-r, -R, -fr, --recursive) aimed at / or home. */
function isRecursiveRemovalOfRoot(args: string[]): boolean {
  const recursive = args.some((a) => a === '--recursive' || /^-[a-zA-Z]*[rR]/.test(a));
  return recursive && args.some((a) => ROOT_TARGETS.has(a.replace(/^['"]|['"]$/g, '')));
}

export function evaluateBash(command: unknown): AutoDecision {
  if (typeof command !== 'string' || !command.trim()) return ASK;
  if (HIGH_RISK.some((re) => re.test(command))) return DENY;
  // Substitutions, redirections to absolute paths and background jobs are hard to judge: ask.
  if (/[`$]\(|`|>\s*\/(?!dev\/null)|\bsudo\b|&\s*$/.test(command)) return ASK;
  for (const words of simpleCommands(command)) {
    let i = 0;
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++; // FOO=bar cmd
    const cmd = words[i];
    if (cmd === undefined) continue;
    if (cmd === 'git') {
      if (!SAFE_GIT.has(words[i + 1] ?? '')) return ASK;
      continue;
    }
    if (cmd === 'rm' && isRecursiveRemovalOfRoot(words.slice(i + 1))) return DENY;
    if (cmd === 'find' && words.some((w) => ['-delete', '-exec', '-execdir', '-ok', '-okdir', '-fprint', '-fprintf', '-fls'].includes(w))) return ASK;
    if (!SAFE_COMMANDS.has(cmd)) return ASK;
    if (['cp', 'mv', 'mkdir', 'touch', 'tee'].includes(cmd) && words.slice(i + 1).some((w) => w.startsWith('/') && !insideWritable(w))) return ASK;
  }
  return ALLOW;
}

export function evaluateAuto(tool: string, input: Record<string, unknown>): AutoDecision {
  switch (tool) {
    case 'read':
    case 'glob':
    case 'grep':
      return ALLOW;
    case 'write':
    case 'edit':
      return insideWritable(input.file_path) ? ALLOW : ASK;
    case 'bash':
      if (input.restart === true && input.command === undefined) return ALLOW;
      return evaluateBash(input.command);
    default:
      return ASK;
  }
}
