// The bash grammar the `auto` policy judges commands with: tree-sitter-bash (maintained by the
// tree-sitter project) run through web-tree-sitter, both WebAssembly, so nothing is built natively
// and nothing is fetched at run time. Loading is asynchronous (WASM compilation); parsing after that
// is synchronous and takes tens of microseconds. Until the grammar is loaded `parseShell` answers
// undefined and the policy asks, so a call that races start-up is never allowed by accident.
import { createRequire } from 'node:module';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

export type ShellNode = Node;

let parser: Parser | undefined;
let loading: Promise<void> | undefined;

/** Loads the grammar once; the composition root awaits it at start-up. Safe to call repeatedly. */
export function loadShellGrammar(): Promise<void> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    await Parser.init();
    const bash = await Language.load(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
    const p = new Parser();
    p.setLanguage(bash);
    parser = p;
  })().catch((err: unknown) => {
    loading = undefined; // a later call may retry; meanwhile the policy keeps asking
    throw err;
  });
  return loading;
}

export function shellGrammarReady(): boolean {
  return parser !== undefined;
}

/**
 * Parses `source` and hands the syntax tree to `use`; the tree lives in WASM memory and is freed
 * afterwards, so `use` must not keep nodes. Undefined while the grammar is not loaded.
 */
export function parseShell<T>(source: string, use: (root: ShellNode) => T): T | undefined {
  if (!parser) return undefined;
  const tree: Tree | null = parser.parse(source);
  if (!tree) return undefined;
  try {
    return use(tree.rootNode);
  } finally {
    tree.delete();
  }
}
