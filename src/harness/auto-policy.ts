// The `auto` permission policy: a deliberately conservative rule set that decides allow / ask /
// deny per call. Reads are allowed; writes inside the workspace or outputs are allowed (except
// files that make later commands run programs: git config, shell start-up files …); a shell
// command is parsed with a real bash grammar (./shell-syntax.ts) and allowed only when every part
// of it (each simple command, argument, redirection, substitution and assignment) is known to be
// safe; recognizably destructive commands are denied wherever they appear; everything else asks.
// docs/notes/policy.md lists the rules.
import { parseShell, type ShellNode } from './shell-syntax.ts';

export type AutoDecision = { type: 'allow' } | { type: 'ask'; reason_code: string } | { type: 'deny'; reason_code: string };

const ALLOW: AutoDecision = { type: 'allow' };
const ASK: AutoDecision = { type: 'ask', reason_code: 'indeterminate' };
const DENY: AutoDecision = { type: 'deny', reason_code: 'high_risk' };

const WRITABLE_ROOTS = ['/workspace', '/mnt/session/outputs'];
/** Longer inputs are not worth judging: ask. */
const MAX_COMMAND_CHARS = 20_000;

// ---------------------------------------------------------------------------------------------
// Paths

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

/**
 * Files that other allowed programs read as configuration that can name a program to run
 * (git's `core.fsmonitor`, `core.pager`, hooks, a planted bare repository's `config`/`HEAD`; HOME
 * is /workspace, so `~/.gitconfig` lives there) or that a shell sources. Writing them asks.
 */
const SENSITIVE_NAMES = new Set([
  'config', 'HEAD', '.gitconfig', '.gitmodules', '.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.profile',
  '.inputrc', '.zshrc', '.zshenv', '.npmrc', '.yarnrc', '.netrc', '.curlrc', '.wgetrc', '.ripgreprc',
]);

function sensitive(normalized: string): boolean {
  const segs = normalized.split('/');
  return segs.includes('.git') || SENSITIVE_NAMES.has(segs[segs.length - 1] ?? '');
}

function insideWritable(path: unknown): boolean {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) return false;
  const p = normalizePath(path);
  return WRITABLE_ROOTS.some((root) => p === root || p.startsWith(`${root}/`));
}

/** A path a write may go to: inside the writable roots and not a sensitive file. */
function writableTarget(path: unknown): boolean {
  return insideWritable(path) && !sensitive(normalizePath(path as string));
}

const HARMLESS_SINKS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr']);

// ---------------------------------------------------------------------------------------------
// The judge: walks the syntax tree, collecting the strictest verdict. It keeps walking after the
// first "ask" so that a destructive command hidden anywhere (a substitution, a subshell) denies.

class Judge {
  asks: string[] = [];
  denies: string[] = [];
  ask(why: string): void { this.asks.push(why); }
  deny(why: string): void { this.denies.push(why); }
}

const LIST_TOKENS = new Set([';', '&&', '||', '|', '|&', '(', ')', '{', '}', '!', 'do', 'done']);
const STRUCTURE = new Set(['program', 'list', 'pipeline', 'compound_statement', 'subshell', 'negated_command', 'redirected_statement', 'do_group']);
const REDIRECTS = new Set(['file_redirect', 'heredoc_redirect', 'herestring_redirect']);

function visit(n: ShellNode, j: Judge, depth = 0): void {
  if (depth > 100) return j.ask('nesting too deep');
  if (n.isError || n.isMissing) j.ask(`syntax error near ${JSON.stringify(n.text.slice(0, 40))}`);
  if (!n.isNamed) {
    if (n.type === '&') j.ask('background job');
    else if (!LIST_TOKENS.has(n.type)) j.ask(`token ${n.type}`);
    return;
  }
  if (STRUCTURE.has(n.type)) {
    for (const c of n.children) visit(c, j, depth + 1);
    return;
  }
  switch (n.type) {
    case 'comment':
      return;
    case 'command':
      return judgeCommand(n, j, depth);
    case 'file_redirect':
    case 'heredoc_redirect':
    case 'herestring_redirect':
      return judgeRedirect(n, j, depth);
    case 'for_statement':
      return judgeFor(n, j, depth);
    case 'test_command':
      if (n.children[0]?.type === '[') return judgeTest(n, j, depth);
      j.ask('[[ ]] (evaluates arithmetic)');
      break;
    case 'function_definition':
      j.ask('function definition (it could shadow a command)');
      if (isForkBomb(n)) j.deny('fork bomb');
      break;
    case 'variable_assignment':
    case 'variable_assignments':
      j.ask('shell variable assignment');
      break;
    default:
      // declarations, unset, if/while/case, [[ ]], (( )) … are not judged: ask.
      j.ask(`construct ${n.type}`);
  }
  // Still look inside for destructive commands and substitutions.
  for (const c of n.children) if (c.isNamed) visitInner(c, j, depth + 1);
}

/** Inside an asked construct: commands are judged as usual, words only for what they hide. */
function visitInner(n: ShellNode, j: Judge, depth: number): void {
  if (n.type === 'word' || n.type === 'variable_name' || n.type === 'number') return;
  if (WORD_TYPES.has(n.type)) {
    word(n, j, depth);
    return;
  }
  visit(n, j, depth);
}

const WORD_TYPES = new Set([
  'word', 'number', 'raw_string', 'string', 'concatenation', 'simple_expansion', 'expansion', 'ansi_c_string', 'translated_string',
  'command_substitution', 'process_substitution', 'arithmetic_expansion', 'brace_expression', 'extglob_pattern', 'string_content',
]);

/**
 * The literal value of a word, or undefined when the shell would compute it (a variable, a glob,
 * a brace or tilde expansion). Substitutions and anything unusual also ask.
 */
function word(n: ShellNode, j: Judge, depth: number): string | undefined {
  if (depth > 200) {
    j.ask('nesting too deep');
    return undefined;
  }
  switch (n.type) {
    case 'word':
      return unquotedWord(n.text, j);
    case 'number':
      return /^[0-9]+$/.test(n.text) ? n.text : unquotedWord(n.text, j);
    case 'raw_string':
      return n.text.slice(1, -1);
    case 'string':
    case 'translated_string': {
      let out = '';
      let literal = n.type === 'string';
      for (const c of n.children) {
        if (!c.isNamed) continue; // the quotes
        if (c.type === 'string_content') {
          if (hiddenSubstitution(c.text)) j.ask(`unparsed substitution in ${JSON.stringify(c.text.slice(0, 40))}`);
          out += c.text.replace(/\\([$`"\\\n])/g, (_, ch: string) => (ch === '\n' ? '' : ch));
        } else {
          word(c, j, depth + 1);
          literal = false;
        }
      }
      return literal ? out : undefined;
    }
    case 'concatenation': {
      let out = '';
      let literal = true;
      for (const c of n.children) {
        const v = word(c, j, depth + 1);
        if (v === undefined) literal = false;
        else out += v;
      }
      return literal ? out : undefined;
    }
    case 'simple_expansion':
      return undefined; // $name, $1, $@: a value, never code
    case 'expansion':
      // Only plain ${name}: operators can run code (${x@P}, subscripts evaluated as arithmetic).
      if (!/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(n.text)) {
        j.ask(`parameter expansion ${n.text.slice(0, 40)}`);
        for (const c of n.children) if (c.isNamed) visitInner(c, j, depth + 1);
      }
      return undefined;
    case 'ansi_c_string':
    case 'brace_expression':
    case 'extglob_pattern':
      return undefined;
    case 'command_substitution':
    case 'process_substitution':
    case 'arithmetic_expansion':
      j.ask(n.type.replace('_', ' '));
      for (const c of n.children) if (c.isNamed) visitInner(c, j, depth + 1);
      return undefined;
    default:
      j.ask(`word of type ${n.type}`);
      for (const c of n.children) if (c.isNamed) visitInner(c, j, depth + 1);
      return undefined;
  }
}

/**
 * A backtick or `$(`, `$[`, `${` left in text the grammar called literal: it misread something.
 * (Defence in depth: no input is known to reach it; exported for its test.)
 */
export function hiddenSubstitution(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '`' || (text[i] === '$' && ['(', '[', '{'].includes(text[i + 1] ?? ''))) return true;
  }
  return false;
}

/** Unescapes an unquoted word; undefined when it has glob or tilde/brace expansion characters. */
function unquotedWord(text: string, j: Judge): string | undefined {
  let out = '';
  let literal = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      if (text[i + 1] !== '\n') out += text[i + 1] ?? '';
      i++;
      continue;
    }
    // The grammar gives substitutions their own nodes; a bare `$`/backtick here is something it
    // did not understand (e.g. the obsolete `$[...]` arithmetic), so do not trust it.
    if (ch === '$' || ch === '`' || ((ch === '<' || ch === '>') && text[i + 1] === '(')) {
      j.ask(`unparsed expansion in ${JSON.stringify(text.slice(0, 40))}`);
      return undefined;
    }
    if ('*?[]{}'.includes(ch) || (ch === '~' && i === 0)) literal = false;
    out += ch;
  }
  return literal ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Assignments, redirections, loops

/** Prefix assignments (`NAME=value cmd`) that change no program lookup or behaviour worth asking about. */
const HARMLESS_ASSIGNMENTS = new Set(['LANG', 'LC_ALL', 'LC_COLLATE', 'LC_CTYPE', 'LC_MESSAGES', 'LC_NUMERIC', 'LC_TIME', 'TZ', 'NO_COLOR', 'FORCE_COLOR', 'COLUMNS']);

function judgeAssignment(n: ShellNode, j: Judge, depth: number): void {
  const name = n.childForFieldName('name');
  const value = n.childForFieldName('value');
  const literal = value ? word(value, j, depth + 1) : '';
  if (!name || name.type !== 'variable_name' || !HARMLESS_ASSIGNMENTS.has(name.text)) j.ask(`assignment to ${name?.text ?? '?'}`);
  else if (literal === undefined || !n.children.some((c) => c.type === '=')) j.ask(`computed assignment to ${name.text}`);
}

const DISK_DEVICE = /^\/dev\/(sd|hd|vd|xvd|nvme|mmcblk)[a-z0-9]*$/;

function judgeRedirect(n: ShellNode, j: Judge, depth: number): void {
  if (n.type === 'herestring_redirect' || n.type === 'heredoc_redirect') {
    const start = n.type === 'heredoc_redirect' ? n.children.findIndex((c) => c.type === 'heredoc_start') : -1;
    n.children.forEach((c, k) => {
      if (c.type === 'heredoc_start' || c.type === 'heredoc_end' || c.type === 'file_descriptor' || c.type === '<<' || c.type === '<<-' || c.type === '<<<') return;
      if (c.type === 'heredoc_body') {
        const quoted = /['"\\]/.test(n.children[start]?.text ?? '');
        // The grammar does not parse backticks (or `$[…]`) in a here-document; bash runs them.
        if (!quoted && /`|\$\[/.test(c.text)) j.ask('substitution in a here-document');
        for (const part of c.namedChildren) if (part.type !== 'heredoc_content') word(part, j, depth + 1);
      } else if (start >= 0 && k > start && WORD_TYPES.has(c.type)) {
        // `sort <<EOF --compress-program=sh`: bash passes the word to the command, the grammar
        // files it under the here-document.
        j.ask('arguments after a here-document');
        word(c, j, depth + 1);
      } else if (start < 0 && WORD_TYPES.has(c.type)) word(c, j, depth + 1);
      else visit(c, j, depth + 1); // what follows on the line: `| cmd`, `&& cmd`, `> file`, `&`
    });
    return;
  }
  const op = n.children.find((c) => !c.isNamed)?.type ?? '';
  const dest = n.childForFieldName('destination');
  if (!dest) return j.ask('redirection without a target');
  const words = n.namedChildren.filter((c) => c.type !== 'file_descriptor');
  if (words.length > 1) {
    // `sort > out --compress-program=sh`: bash passes the later words to the command, the grammar
    // files them under the redirection. Judge them as words and ask.
    j.ask('arguments after a redirection');
    for (const w of words.slice(1)) word(w, j, depth + 1);
  }
  const target = word(dest, j, depth + 1);
  if ((op === '>&' || op === '<&' || op === '>&-' || op === '<&-') && target !== undefined && /^([0-9]+-?|-)$/.test(target)) return; // fd duplication
  if (target === undefined) return j.ask('redirection to a computed path');
  if (/^\/dev\/(tcp|udp)\//.test(normalizePath(target))) return j.ask('network redirection'); // bash opens a socket
  if (op === '<') return; // reading is allowed
  if (DISK_DEVICE.test(normalizePath(target))) return j.deny('write to a disk device');
  if (HARMLESS_SINKS.has(target)) return;
  if (!writableTarget(target)) j.ask(`redirection to ${target}`);
}

function judgeFor(n: ShellNode, j: Judge, depth: number): void {
  const variable = n.childForFieldName('variable');
  // The loop variable stays set afterwards: only plain lower-case names, never PATH, IFS, http_proxy …
  if (n.children[0]?.type !== 'for' || !variable || !/^[a-z][a-z0-9_]*$/.test(variable.text) || variable.text.includes('proxy')) {
    j.ask('loop');
  }
  for (const c of n.children) {
    if (c.type === 'variable_name' || !c.isNamed) continue;
    if (c.type === 'do_group') visit(c, j, depth + 1);
    else if (c.type === 'comment') continue;
    else if (WORD_TYPES.has(c.type)) word(c, j, depth + 1);
    else visit(c, j, depth + 1);
  }
}

/**
 * `[ … ]` is the `test` builtin: plain words, no arithmetic evaluation (unlike `[[ … ]]`). A `<` or
 * `>` inside is a redirection to bash even where the grammar reads a comparison: ask.
 */
const TEST_TOKENS = new Set(['[', ']', '=', '==', '!=', '!']); // unescaped ( ) are shell syntax to bash
function judgeTest(n: ShellNode, j: Judge, depth: number): void {
  if (depth > 100) return j.ask('nesting too deep');
  for (const c of n.children) {
    if (!c.isNamed) {
      if (!TEST_TOKENS.has(c.type)) j.ask(`token ${c.type} in [ ]`);
    } else if (c.type === 'unary_expression' || c.type === 'binary_expression' || c.type === 'parenthesized_expression') judgeTest(c, j, depth + 1);
    else if (c.type === 'test_operator') continue;
    else if (WORD_TYPES.has(c.type)) word(c, j, depth + 1);
    else visit(c, j, depth + 1);
  }
}

/** `f(){ f|f& };f` and the like: a function that calls itself in a pipeline or the background. */
function isForkBomb(n: ShellNode): boolean {
  const name = n.childForFieldName('name')?.text;
  const body = n.childForFieldName('body');
  if (!name || !body) return false;
  const calls = body.descendantsOfType('command_name').filter((c) => c?.text === name).length;
  const spawns = body.descendantsOfType(['pipeline']).length > 0 || body.text.includes('&');
  return calls > 0 && spawns;
}

// ---------------------------------------------------------------------------------------------
// Simple commands

interface Arg { lit: string | undefined; raw: string }

function judgeCommand(n: ShellNode, j: Judge, depth: number): void {
  let nameNode: ShellNode | undefined;
  const args: Arg[] = [];
  for (const c of n.children) {
    if (c.type === 'variable_assignment') judgeAssignment(c, j, depth);
    else if (REDIRECTS.has(c.type)) judgeRedirect(c, j, depth);
    else if (c.type === 'command_name') nameNode = c;
    else if (c.isNamed) args.push({ lit: word(c, j, depth + 1), raw: c.text });
    else j.ask(`token ${c.type}`);
  }
  if (!nameNode) return; // only assignments: judged above
  const inner = nameNode.namedChildren[0];
  const literalName = inner ? word(inner, j, depth + 1) : undefined;
  if (literalName === undefined) return j.ask('command name is computed');
  destructive(literalName, args, j, 0);
  let name = literalName;
  if (name.includes('/')) {
    // A program given by path runs whatever is there; only the system's own copies are known.
    const m = /^\/(?:usr\/)?bin\/([a-z0-9][a-z0-9._+-]*)$/.exec(name);
    if (!m) return j.ask(`program given by path: ${name}`);
    name = m[1]!;
  }
  const rule = RULES.get(name);
  if (!rule) return j.ask(`command ${name}`);
  const why = rule(args);
  if (why) j.ask(`${name}: ${why}`);
}

const ROOT_TARGETS = new Set(['/', '/*', '/.', '~', '~/', '~/*', '$HOME', '$HOME/', '${HOME}', '/..']);
const unquote = (s: string) => s.replace(/^['"]|['"]$/g, '');

/** Programs that run the command given after their own options. */
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'nohup', 'nice', 'ionice', 'timeout', 'time', 'command', 'builtin', 'exec', 'xargs', 'stdbuf', 'setsid', 'unbuffer', 'chroot', 'strace', 'ltrace', 'watch', 'busybox', 'flock']);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash']);

/** Recognizably destructive commands deny, also behind wrappers and inside `sh -c '…'`. */
function destructive(name: string, args: Arg[], j: Judge, level: number): void {
  const base = name.split('/').pop()!;
  const vals = args.map((a) => a.lit ?? unquote(a.raw));
  if (WRAPPERS.has(base)) {
    const i = vals.findIndex((v) => !v.startsWith('-') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(v) && !/^[0-9.]+[smhd]?$/.test(v));
    if (i >= 0 && level < 5) destructive(vals[i]!, args.slice(i + 1), j, level + 1);
    return;
  }
  if (SHELLS.has(base)) {
    const c = vals.findIndex((v) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(v)); // -c, -lc, -ec …
    const script = c >= 0 ? args[c + 1]?.lit : undefined;
    if (script !== undefined && level < 5) {
      parseShell(script, (root) => {
        const inner = new Judge();
        visit(root, inner);
        if (inner.denies.length) j.deny(`in ${base} -c: ${inner.denies[0]}`);
      });
    }
    return;
  }
  if (['shutdown', 'reboot', 'halt', 'poweroff'].includes(base)) return j.deny(base);
  if (base === 'init' && (vals[0] === '0' || vals[0] === '6')) return j.deny('init 0/6');
  if (base === 'systemctl' && vals.some((v) => ['poweroff', 'reboot', 'halt', 'kexec'].includes(v))) return j.deny('systemctl poweroff');
  if (/^mkfs(\.\w+)?$/.test(base) || base === 'mke2fs' || base === 'wipefs') return j.deny(base);
  if (base === 'dd' && vals.some((v) => /^of=\/dev\/(?!null$)/.test(v))) return j.deny('dd to a device');
  if (base === 'rm') {
    const recursive = vals.some((a) => a === '--recursive' || /^-[a-zA-Z]*[rR]/.test(a));
    if (recursive && vals.some((a) => ROOT_TARGETS.has(a))) return j.deny('recursive removal of / or home');
  }
  if (base === 'chmod' || base === 'chown') {
    if (vals.includes('/') && (base === 'chown' || vals.some((v) => /^[0-7]*777$/.test(v) || /^(a|ugo)?\+rwx$/.test(v)))) return j.deny(`${base} on /`);
  }
}

// ---------------------------------------------------------------------------------------------
// What each known command may do. A rule returns why to ask, or undefined when the call is safe.

type Rule = (args: Arg[]) => string | undefined;

const anyArgs: Rule = () => undefined;
const nonLiteral = (args: Arg[]) => args.some((a) => a.lit === undefined);
/** Options and operands of a command whose options matter must be literal (a glob or variable could spell `--exec`). */
const literalOnly = (more: (v: string[]) => string | undefined): Rule => (args) =>
  nonLiteral(args) ? 'computed arguments' : more(args.map((a) => a.lit!));
const operands = (vals: string[]) => {
  const dd = vals.indexOf('--');
  return dd < 0 ? vals.filter((v) => !v.startsWith('-')) : [...vals.slice(0, dd).filter((v) => !v.startsWith('-')), ...vals.slice(dd + 1)];
};
const badWrite = (paths: string[]) => paths.find((p) => !HARMLESS_SINKS.has(p) && !writableTarget(p));

/** Only read, print or compute; no option runs a program or writes a file. */
const READ_ONLY = [
  'ls', 'cat', 'head', 'tail', 'wc', 'echo', 'pwd', 'true', 'false', 'test', '[', ':', 'grep', 'egrep', 'fgrep', 'cut', 'tr',
  'cmp', 'diff', 'stat', 'file', 'du', 'df', 'whoami', 'id', 'uname', 'printenv', 'which', 'type', 'basename', 'dirname',
  'realpath', 'readlink', 'md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'seq', 'sleep', 'jq', 'nl', 'tac', 'comm', 'paste',
  'fold', 'rev',
];

const FIND_ACTIONS = new Set(['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls']);

/** Read-only or workspace-local git subcommands; their option checks follow. */
const SAFE_GIT = new Set(['status', 'diff', 'log', 'show', 'branch', 'rev-parse', 'ls-files', 'blame', 'add', 'commit', 'init', 'stash', 'describe']);

/**
 * Whether `v` is a long option naming one of `names`, also abbreviated: git's parse-options and
 * getopt_long accept any unambiguous prefix (`--ext` is `--ext-diff`, `--outp` is `--output`).
 */
function longOption(v: string, names: string[]): boolean {
  if (!v.startsWith('--') || v === '--') return false;
  const given = v.slice(2).split('=')[0]!;
  return names.some((n) => n.startsWith(given) || given.startsWith(n));
}

const GIT_DANGEROUS_LONG = ['ext-diff', 'output', 'output-directory', 'exec', 'edit', 'edit-description', 'template', 'separate-git-dir', 'upload-pack',
  'receive-pack', 'gpg-sign', 'interactive', 'patch', 'open-files-in-pager', 'config', 'config-env', 'textconv', 'help'];

const git: Rule = literalOnly((vals) => {
  let i = 0;
  // Global options: only these; `-c`, `--exec-path`, `--git-dir`, `--config-env`, `-p` … ask.
  while (i < vals.length && vals[i]!.startsWith('-')) {
    if (vals[i] === '--no-pager') i++;
    else if (vals[i] === '-C' && vals[i + 1] !== undefined) i += 2;
    else return `global option ${vals[i]}`;
  }
  const sub = vals[i];
  if (!sub || !SAFE_GIT.has(sub)) return `subcommand ${sub ?? '(none)'}`;
  const rest = vals.slice(i + 1);
  // Options that run a program, open an editor or write a file elsewhere.
  const bad = rest.find((v) =>
    longOption(v, GIT_DANGEROUS_LONG) ||
    (['add', 'commit', 'stash'].includes(sub) && /^-[a-zA-Z]*[piSe]/.test(v)) ||
    (sub === 'commit' && v.startsWith('-S')));
  return bad ? `option ${bad}` : undefined;
});

function writesTo(targets: (vals: string[]) => string[]): Rule {
  return literalOnly((vals) => {
    const bad = badWrite(targets(vals));
    return bad === undefined ? undefined : `writes ${bad}`;
  });
}

/** The value of `-t DIR` / `--target-directory=DIR`, if any. */
function targetDirectory(vals: string[]): string[] {
  const out: string[] = [];
  vals.forEach((v, k) => {
    if (/^--t/.test(v)) out.push(v.includes('=') ? v.slice(v.indexOf('=') + 1) : vals[k + 1] ?? '');
    else if (/^-[a-zA-Z]*t$/.test(v)) out.push(vals[k + 1] ?? '');
    else if (/^-[a-zA-Z]*t./.test(v)) out.push(v.slice(v.indexOf('t') + 1));
  });
  return out;
}

/** Operands minus the values of the given short options. */
function operandsSkipping(vals: string[], valued: RegExp): string[] {
  const out: string[] = [];
  for (let k = 0; k < vals.length; k++) {
    const v = vals[k]!;
    if (v === '--') { out.push(...vals.slice(k + 1)); break; }
    if (valued.test(v)) { k++; continue; }
    if (!v.startsWith('-')) out.push(v);
  }
  return out;
}

const compilerBad = (re: RegExp): Rule => literalOnly((vals) => {
  const bad = vals.find((v) => re.test(v) || v.startsWith('@'));
  if (bad) return `option ${bad}`;
  const o = vals.indexOf('-o');
  const out = o >= 0 ? vals[o + 1] : vals.find((v) => /^-o./.test(v))?.slice(2);
  if (out !== undefined && badWrite([out])) return `writes ${out}`;
  const abs = vals.find((v) => v.startsWith('/') && !insideWritable(v));
  return abs ? `path outside the workspace ${abs}` : undefined;
});

const RULES = new Map<string, Rule>([
  ...READ_ONLY.map((c) => [c, anyArgs] as [string, Rule]),
  // `printf -v NAME` assigns a variable (PATH …): the format must be a literal non-option.
  ['printf', (args) => (args[0]?.lit === undefined || args[0].lit.startsWith('-') ? 'option or computed format' : undefined)],
  ['date', literalOnly((v) => v.find((a) => /^-[a-zA-Z]*s/.test(a) || longOption(a, ['set'])) && 'sets the clock')],
  ['tree', literalOnly((v) => v.find((a) => /^-o/.test(a)) && 'writes a file')],
  ['uniq', literalOnly((v) => { const ops = operands(v); return ops.length > 1 && badWrite([ops[1]!]) ? `writes ${ops[1]}` : undefined; })],
  ['sort', literalOnly((v) => v.find((a) => longOption(a, ['compress-program', 'output', 'temporary-directory']) || /^-[a-zA-Z]*[oT]/.test(a)) && 'runs a compressor or writes files')],
  ['rg', literalOnly((v) => v.find((a) => /^--(pre|search-zip|hostname-bin)/.test(a) || /^-[a-zA-Z]*z/.test(a)) && 'runs a preprocessor')],
  ['find', literalOnly((v) => v.find((a) => FIND_ACTIONS.has(a)) && 'runs or deletes')],
  ['git', git],
  ['cd', literalOnly((v) => {
    const ops = v.filter((a) => a !== '-P' && a !== '-L');
    return ops.length === 1 && ops[0] !== '-' && insideWritable(ops[0]) ? undefined : 'leaves the workspace';
  })],
  ['mkdir', writesTo((v) => operandsSkipping(v, /^(-m|--mode)$/))],
  ['touch', writesTo((v) => operandsSkipping(v, /^-[a-zA-Z]*[rdt]$/))],
  ['tee', writesTo((v) => operands(v))],
  ['cp', literalOnly((v) => {
    if (v.some((a) => longOption(a, ['symbolic-link', 'link']) || /^-[a-zA-Z]*[sl]/.test(a))) return 'makes links';
    const ops = operandsSkipping(v, /^(-[a-zA-Z]*[tS])$/);
    const dests = [...targetDirectory(v), ...(targetDirectory(v).length ? [] : ops.slice(-1))];
    const bad = badWrite(dests);
    return bad === undefined && ops.length > 0 ? undefined : `writes ${bad ?? '?'}`;
  })],
  ['mv', literalOnly((v) => {
    const bad = badWrite([...operandsSkipping(v, /^(-[a-zA-Z]*[tS])$/), ...targetDirectory(v)]);
    return bad === undefined ? undefined : `moves ${bad}`;
  })],
  ['tsc', compilerBad(/^$/)],
  ['gcc', compilerBad(/^(-B|-wrapper|-fplugin|-specs|--specs|-Wl,|-Xlinker|-Wa,|-Xassembler|-fuse-ld|--sysroot|-isysroot|-fprofile|-save-temps|-MF|-dumpdir)/)],
  ['rustc', compilerBad(/^(-C|--codegen|-Z|--extern|-L|--sysroot|--out-dir|--emit)/)],
]);
for (const alias of ['g++', 'cc', 'c++']) RULES.set(alias, RULES.get('gcc')!);

// ---------------------------------------------------------------------------------------------

/** The fork bomb the grammar may parse oddly (a function named `:`), matched on the raw text. */
const FORK_BOMB = /:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:/;

/** The decision with the reasons behind it (the reasons are for tests and debugging). */
export function explainBash(command: unknown): { decision: AutoDecision; reasons: string[] } {
  if (typeof command !== 'string' || !command.trim()) return { decision: ASK, reasons: ['no command'] };
  if (FORK_BOMB.test(command)) return { decision: DENY, reasons: ['fork bomb'] };
  if (command.length > MAX_COMMAND_CHARS || command.includes('\0')) return { decision: ASK, reasons: ['too long'] };
  const judged = parseShell(command, (root) => {
    const j = new Judge();
    visit(root, j);
    if (root.hasError) j.ask('syntax error'); // bash may read it differently from the grammar's recovery
    return j;
  });
  if (!judged) return { decision: ASK, reasons: ['shell grammar not loaded'] };
  if (judged.denies.length) return { decision: DENY, reasons: judged.denies };
  if (judged.asks.length) return { decision: ASK, reasons: judged.asks };
  return { decision: ALLOW, reasons: [] };
}

export function evaluateBash(command: unknown): AutoDecision {
  return explainBash(command).decision;
}

export function evaluateAuto(tool: string, input: Record<string, unknown>): AutoDecision {
  switch (tool) {
    case 'read':
    case 'glob':
    case 'grep':
      return ALLOW;
    case 'write':
    case 'edit':
      return writableTarget(input.file_path) ? ALLOW : ASK;
    case 'bash':
      if (input.restart === true && input.command === undefined) return ALLOW;
      return evaluateBash(input.command);
    default:
      return ASK;
  }
}
