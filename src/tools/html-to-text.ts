// HTML → readable markdown-ish text for `web_fetch`. A small tolerant parser (implied end tags,
// raw-text elements, truncated input) builds a light tree; a renderer writes headings as `#`, links
// as `[text](href)`, lists, block quotes, code, simple tables and paragraphs. Scripts, styles,
// hidden elements and other non-content are dropped. Linear in the input; depth is capped.

export interface HtmlToTextOptions {
  /** The page URL: relative links and images are resolved against it (and `<base href>`). */
  baseUrl?: string;
}

export interface HtmlText {
  /** `<title>`, whitespace-collapsed; undefined when absent or empty. */
  title: string | undefined;
  /** The rendered body; never has more than one blank line in a row, no trailing spaces. */
  text: string;
}

interface Element {
  tag: string;
  attrs: Record<string, string>;
  children: Array<Element | string>;
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr', 'keygen', 'frame']);
// Content never parsed as HTML; these are skipped entirely (title/textarea are handled apart).
const RAW_TEXT = new Set(['script', 'style', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'textarea', 'title']);
const SKIP = new Set(['head', 'script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'embed', 'canvas', 'audio', 'video', 'select', 'textarea', 'map', 'xmp', 'noembed', 'noframes', 'title']);
// Elements that belong in <head>; anything else implies the head ended (pages often omit </head>).
const HEAD_CONTENT = new Set(['title', 'meta', 'link', 'style', 'script', 'base', 'noscript', 'template', 'head', 'html']);
const PARAGRAPH_BLOCKS = new Set(['p', 'dl', 'section', 'article', 'main', 'header', 'footer', 'aside', 'nav', 'figure', 'figcaption', 'form', 'fieldset', 'details', 'summary', 'address', 'center', 'caption', 'legend', 'hgroup', 'search', 'menu', 'body', 'html']);
const LINE_BLOCKS = new Set(['div', 'dt', 'tr', 'tbody', 'thead', 'tfoot', 'option', 'label']);
// Starting one of these closes an open <p>.
const CLOSES_P = new Set(['address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'main', 'menu', 'nav', 'ol', 'p', 'pre', 'section', 'table', 'ul']);
const BLOCKISH = new Set(['p', 'div', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'table', 'section', 'article']);
const MAX_DEPTH = 256;

export function htmlToText(html: string, options: HtmlToTextOptions = {}): HtmlText {
  const { root, title, baseHref } = parse(html);
  let base: URL | undefined;
  try {
    if (options.baseUrl) base = new URL(options.baseUrl);
    if (baseHref) base = new URL(baseHref, base);
  } catch {
    // an unusable base leaves links as written
  }
  const out = new Output();
  renderChildren(root, out, { base });
  return { title: title ? collapse(title).trim() || undefined : undefined, text: out.finish() };
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

function parse(html: string): { root: Element; title: string | undefined; baseHref: string | undefined } {
  const root: Element = { tag: '#root', attrs: {}, children: [] };
  const stack: Element[] = [root];
  let title: string | undefined;
  let baseHref: string | undefined;
  const top = () => stack[stack.length - 1];
  const addText = (text: string) => {
    if (text === '') return;
    if (stack.length > 1 && /[^ \t\n\r\f]/.test(text)) closeHead();
    const kids = top().children;
    const last = kids[kids.length - 1];
    if (typeof last === 'string') kids[kids.length - 1] = last + text;
    else kids.push(text);
  };
  /** Pops up to and including the nearest element named in `tags`, unless a `boundary` comes first. */
  const closeOpen = (tags: ReadonlySet<string>, boundary: ReadonlySet<string>) => {
    for (let i = stack.length - 1; i > 0; i--) {
      const tag = stack[i].tag;
      if (tags.has(tag)) {
        stack.length = i;
        return;
      }
      if (boundary.has(tag)) return;
    }
  };
  const closeHead = () => {
    if (stack.some((e) => e.tag === 'head')) closeTag('head');
  };
  const closeTag = (tag: string) => {
    for (let i = stack.length - 1; i > 0; i--) {
      if (stack[i].tag === tag) {
        stack.length = i;
        return;
      }
    }
  };

  const len = html.length;
  let i = 0;
  while (i < len) {
    const lt = html.indexOf('<', i);
    if (lt === -1) {
      addText(decodeEntities(html.slice(i)));
      break;
    }
    if (lt > i) addText(decodeEntities(html.slice(i, lt)));
    const next = html.charCodeAt(lt + 1);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end === -1 ? len : end + 3;
    } else if (html.startsWith('<![CDATA[', lt)) {
      const end = html.indexOf(']]>', lt + 9);
      addText(html.slice(lt + 9, end === -1 ? len : end));
      i = end === -1 ? len : end + 3;
    } else if (next === 33 /* ! */ || next === 63 /* ? */) {
      const end = html.indexOf('>', lt);
      i = end === -1 ? len : end + 1;
    } else if (next === 47 /* / */) {
      END_TAG.lastIndex = lt;
      const m = END_TAG.exec(html);
      if (m) {
        const tag = m[1].toLowerCase();
        if (tag === 'br') top().children.push({ tag: 'br', attrs: {}, children: [] });
        else closeTag(tag);
        i = lt + m[0].length;
      } else {
        const end = html.indexOf('>', lt);
        i = end === -1 ? len : end + 1;
      }
    } else if (isAsciiLetter(next)) {
      const tagEnd = parseStartTag(html, lt);
      if (!tagEnd) break; // truncated inside a tag: nothing more to render
      const { tag, attrs, end } = tagEnd;
      i = end;
      if (RAW_TEXT.has(tag)) {
        const close = findRawEnd(html, tag, i);
        const content = html.slice(i, close.contentEnd);
        if (tag === 'title') title ??= decodeEntities(content);
        i = close.resume;
        continue;
      }
      if (tag === 'base' && baseHref === undefined && attrs.href) baseHref = attrs.href;
      if (!HEAD_CONTENT.has(tag)) closeHead();
      if (CLOSES_P.has(tag)) closeOpen(P_SET, BUTTON_SCOPE);
      if (tag === 'li') closeOpen(LI_SET, LIST_SCOPE);
      else if (tag === 'dt' || tag === 'dd') closeOpen(DT_DD, DL_SCOPE);
      else if (tag === 'tr') closeOpen(TR_SET, TABLE_SCOPE);
      else if (tag === 'td' || tag === 'th') closeOpen(CELL_SET, ROW_SCOPE);
      else if (tag === 'thead' || tag === 'tbody' || tag === 'tfoot') closeOpen(SECTION_SET, TABLE_ONLY);
      else if (tag === 'option') closeOpen(OPTION_SET, SELECT_SCOPE);
      else if (tag === 'a') closeOpen(A_SET, TABLE_ONLY); // links do not nest
      if (HEADINGS.has(tag) && HEADINGS.has(top().tag)) stack.length--;
      const el: Element = { tag, attrs, children: [] };
      top().children.push(el);
      if (!VOID.has(tag) && stack.length < MAX_DEPTH) stack.push(el);
      if (tag === 'plaintext') {
        addText(html.slice(i));
        break;
      }
    } else {
      addText('<');
      i = lt + 1;
    }
  }
  return { root, title, baseHref };
}

const END_TAG = /<\/([a-zA-Z][^\s/>]*)[^>]*>/y;
const P_SET = new Set(['p']);
const BUTTON_SCOPE = new Set(['button', 'table', 'td', 'th', 'caption', 'html']);
const LI_SET = new Set(['li']);
const LIST_SCOPE = new Set(['ul', 'ol', 'menu', 'table']);
const DT_DD = new Set(['dt', 'dd']);
const DL_SCOPE = new Set(['dl', 'table']);
const TR_SET = new Set(['tr']);
const TABLE_SCOPE = new Set(['table', 'thead', 'tbody', 'tfoot']);
const CELL_SET = new Set(['td', 'th']);
const ROW_SCOPE = new Set(['tr', 'table']);
const SECTION_SET = new Set(['thead', 'tbody', 'tfoot']);
const TABLE_ONLY = new Set(['table']);
const OPTION_SET = new Set(['option']);
const A_SET = new Set(['a']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const SELECT_SCOPE = new Set(['select', 'datalist']);

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}

/** Parses `<tag attr=... >` at `lt`; undefined when the input ends inside the tag. */
function parseStartTag(html: string, lt: number): { tag: string; attrs: Record<string, string>; end: number } | undefined {
  const len = html.length;
  let i = lt + 1;
  while (i < len && !isSpace(html.charCodeAt(i)) && html[i] !== '/' && html[i] !== '>') i++;
  const tag = html.slice(lt + 1, i).toLowerCase();
  const attrs: Record<string, string> = {};
  for (;;) {
    while (i < len && (isSpace(html.charCodeAt(i)) || html[i] === '/')) i++;
    if (i >= len) return undefined;
    if (html[i] === '>') return { tag, attrs, end: i + 1 };
    const nameStart = i;
    while (i < len && !isSpace(html.charCodeAt(i)) && html[i] !== '/' && html[i] !== '>' && (html[i] !== '=' || i === nameStart)) i++;
    const name = html.slice(nameStart, i).toLowerCase();
    while (i < len && isSpace(html.charCodeAt(i))) i++;
    let value = '';
    if (html[i] === '=') {
      i++;
      while (i < len && isSpace(html.charCodeAt(i))) i++;
      const q = html[i];
      if (q === '"' || q === "'") {
        const close = html.indexOf(q, i + 1);
        if (close === -1) return undefined;
        value = html.slice(i + 1, close);
        i = close + 1;
      } else {
        const start = i;
        while (i < len && !isSpace(html.charCodeAt(i)) && html[i] !== '>') i++;
        value = html.slice(start, i);
      }
    }
    if (name && !(name in attrs)) attrs[name] = decodeEntities(value, true);
  }
}

/** Where a raw-text element's content ends (`</tag`), and where parsing resumes after its end tag. */
function findRawEnd(html: string, tag: string, from: number): { contentEnd: number; resume: number } {
  const re = new RegExp(`</${tag}(?=[\\s/>])[^>]*>?`, 'gi');
  re.lastIndex = from;
  const m = re.exec(html);
  return m ? { contentEnd: m.index, resume: m.index + m[0].length } : { contentEnd: html.length, resume: html.length };
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

interface RenderContext {
  base: URL | undefined;
  /** Ordered-list counters are per list element. */
  listStyle?: { ordered: boolean; next: number };
  /** Lists inside a list item are separated by line breaks, top-level ones by blank lines. */
  inListItem?: boolean;
  /**
   * Inside a subtree being flattened (link text, heading, cell): nested links, headings and code
   * render as plain content, so no subtree is flattened twice (keeps the work linear).
   */
  inline?: boolean;
}

/**
 * Accumulates lines; block separation and line prefixes (quotes, list markers) live here. The
 * current line is kept as parts plus flags (never re-read as a string: querying a long
 * concatenated string makes V8 flatten it, which would make long lines quadratic).
 */
class Output {
  readonly #lines: string[] = [];
  #parts: string[] | undefined; // undefined = no line started
  #hasText = false; // the current line has more than its prefix
  #endsWithSpace = false;
  #pendingSpace = false;
  #breaks = 0;
  readonly #prefixes: Array<{ first: string; rest: string; used: boolean }> = [];

  /** Inline text; whitespace collapses to single spaces. */
  write(text: string): void {
    const collapsed = collapse(text).replace(/\u00a0/g, ' ');
    if (collapsed === '') return;
    const leading = collapsed.startsWith(' ');
    const trailing = collapsed.endsWith(' ');
    const body = collapsed.trim();
    if (body === '') {
      this.#pendingSpace = true;
      return;
    }
    this.#ensureLine();
    if ((leading || this.#pendingSpace) && this.#hasText && !this.#endsWithSpace) this.#push(' ');
    this.#push(body);
    this.#pendingSpace = trailing;
  }

  /** Preformatted text: kept verbatim, line by line. */
  raw(text: string): void {
    text.split('\n').forEach((line, n) => {
      if (n > 0) this.#breaks = Math.max(this.#breaks, 1);
      this.#ensureLine();
      if (line !== '') this.#push(line);
    });
    this.#pendingSpace = false;
  }

  /** Ends the current line (1) or paragraph (2). Nothing happens before the first content. */
  block(n: 1 | 2): void {
    if (this.#parts === undefined && this.#lines.length === 0) return;
    this.#breaks = Math.max(this.#breaks, n);
    this.#pendingSpace = false;
  }

  /** `<br>`: a line break; two in a row make a blank line. */
  lineBreak(): void {
    if (this.#parts === undefined && this.#lines.length === 0) return;
    this.#breaks = Math.min(2, this.#breaks + 1);
    this.#pendingSpace = false;
  }

  /** Appends to the last line even when a break is pending (a trailer for the block just ended). */
  appendToLine(text: string): void {
    if (this.#parts === undefined) this.write(text);
    else this.#push(text);
  }

  pushPrefix(first: string, rest: string): void {
    this.#prefixes.push({ first, rest, used: false });
  }

  popPrefix(): void {
    this.#prefixes.pop();
  }

  #push(piece: string): void {
    this.#parts!.push(piece);
    this.#hasText = true;
    this.#endsWithSpace = piece.endsWith(' ');
  }

  #ensureLine(): void {
    if (this.#parts !== undefined && this.#breaks === 0) return;
    if (this.#parts !== undefined) {
      this.#lines.push(this.#parts.join(''));
      // A blank separator line carries only the prefixes already in effect (an enclosing quote),
      // not one that starts with the next line.
      if (this.#breaks > 1) this.#lines.push(this.#prefixes.filter((p) => p.used).map((p) => p.rest).join('').trimEnd());
    }
    this.#breaks = 0;
    const prefix = this.#prefixes.map((p) => {
      if (p.used) return p.rest;
      p.used = true;
      return p.first;
    }).join('');
    this.#parts = [prefix];
    this.#hasText = false;
    this.#endsWithSpace = prefix.endsWith(' ');
  }

  finish(): string {
    const lines = this.#parts === undefined ? this.#lines : [...this.#lines, this.#parts.join('')];
    return lines.map((l) => l.trimEnd()).join('\n').replace(/\n{3,}/g, '\n\n').trim();
  }
}

function renderChildren(el: Element, out: Output, ctx: RenderContext): void {
  for (const child of el.children) {
    if (typeof child === 'string') out.write(child);
    else renderElement(child, out, ctx);
  }
}

function isHidden(el: Element): boolean {
  const a = el.attrs;
  if ('hidden' in a || a['aria-hidden'] === 'true') return true;
  if (el.tag === 'dialog' && !('open' in a)) return true;
  if (el.tag === 'input' && a.type?.toLowerCase() === 'hidden') return true;
  const style = a.style?.toLowerCase().replace(/\s+/g, '');
  return style !== undefined && (style.includes('display:none') || style.includes('visibility:hidden'));
}

function renderElement(el: Element, out: Output, ctx: RenderContext): void {
  const tag = el.tag;
  if (SKIP.has(tag) || isHidden(el)) return;
  switch (tag) {
    case 'br':
      out.lineBreak();
      return;
    case 'hr':
      out.block(2);
      out.write('---');
      out.block(2);
      return;
    case 'h1': case 'h2': case 'h3': case 'h4': case 'h5': case 'h6': {
      if (ctx.inline) return renderChildren(el, out, ctx);
      const text = inlineText(el, ctx);
      out.block(2);
      if (text) out.write(`${'#'.repeat(Number(tag[1]))} ${text}`);
      out.block(2);
      return;
    }
    case 'a':
      if (ctx.inline) return renderChildren(el, out, ctx);
      renderLink(el, out, ctx);
      return;
    case 'img': {
      const alt = collapse(el.attrs.alt ?? '').trim();
      if (!alt) return;
      const src = resolveUrl(el.attrs.src, ctx.base);
      out.write(src && !src.startsWith('data:') ? ` ![${escapeBrackets(alt)}](${src}) ` : ` ${alt} `);
      return;
    }
    case 'pre':
      renderPre(el, out);
      return;
    case 'code': case 'kbd': case 'samp': case 'tt': {
      if (ctx.inline) return renderChildren(el, out, ctx);
      const text = inlineText(el, ctx);
      if (!text) return;
      const fence = text.includes('`') ? '``' : '`';
      out.write(`${fence}${fence === '``' ? ' ' : ''}${text}${fence === '``' ? ' ' : ''}${fence}`);
      return;
    }
    case 'ul': case 'ol': {
      const gap = ctx.inListItem ? 1 : 2;
      out.block(gap);
      const start = Number.parseInt(el.attrs.start ?? '1', 10);
      renderChildren(el, out, { ...ctx, listStyle: { ordered: tag === 'ol', next: Number.isFinite(start) ? start : 1 } });
      out.block(gap);
      return;
    }
    case 'li': {
      const style = ctx.listStyle ?? { ordered: false, next: 1 };
      const marker = style.ordered ? `${style.next++}. ` : '- ';
      out.block(1);
      out.pushPrefix(marker, ' '.repeat(marker.length));
      renderChildren(el, out, { ...ctx, listStyle: undefined, inListItem: true });
      out.popPrefix();
      out.block(1);
      return;
    }
    case 'dd':
      out.block(1);
      out.pushPrefix(': ', '  ');
      renderChildren(el, out, ctx);
      out.popPrefix();
      out.block(1);
      return;
    case 'blockquote':
      out.block(2);
      out.pushPrefix('> ', '> ');
      renderChildren(el, out, ctx);
      out.popPrefix();
      out.block(2);
      return;
    case 'table':
      renderTable(el, out, ctx);
      return;
    case 'td': case 'th':
      // Cells outside a table we could lay out: keep them apart.
      out.write(' ');
      renderChildren(el, out, ctx);
      out.write(' ');
      return;
  }
  const para = PARAGRAPH_BLOCKS.has(tag);
  const line = LINE_BLOCKS.has(tag);
  if (para) out.block(2);
  else if (line) out.block(1);
  renderChildren(el, out, ctx);
  if (para) out.block(2);
  else if (line) out.block(1);
}

function renderLink(el: Element, out: Output, ctx: RenderContext): void {
  const raw = el.attrs.href?.trim();
  const resolved = raw && !raw.startsWith('#') ? resolveUrl(raw, ctx.base) : undefined;
  const href = resolved !== undefined && /^(https?|mailto):/i.test(resolved) ? resolved : undefined;
  if (containsBlock(el)) {
    // A card-style link wrapping headings and paragraphs: keep the blocks, then name the target.
    renderChildren(el, out, ctx);
    if (href) out.appendToLine(` (${href})`);
    return;
  }
  const text = inlineText(el, ctx);
  if (!text) return;
  // Keep the whitespace the page had around the link text (it was trimmed by inlineText).
  const content = textContent(el);
  const before = /^[ \t\n\r\f]/.test(content) ? ' ' : '';
  const after = /[ \t\n\r\f]$/.test(content) ? ' ' : '';
  out.write(href ? `${before}[${escapeBrackets(text)}](${href})${after}` : `${before}${text}${after}`);
}

function textContent(el: Element): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textContent(c))).join('');
}

function renderPre(el: Element, out: Output): void {
  let text = preText(el).replace(/^\r?\n/, '').replace(/\s+$/, '');
  if (text === '') return;
  text = text.replace(/\r\n?/g, '\n');
  const fence = text.includes('```') ? '~~~' : '```';
  out.block(2);
  out.raw(`${fence}\n${text}\n${fence}`);
  out.block(2);
}

function preText(el: Element): string {
  let s = '';
  for (const child of el.children) {
    if (typeof child === 'string') s += child;
    else if (child.tag === 'br') s += '\n';
    else if (!SKIP.has(child.tag)) s += preText(child);
  }
  return s;
}

function renderTable(table: Element, out: Output, ctx: RenderContext): void {
  const rows: Element[] = [];
  const caption: Element[] = [];
  let layout = false;
  const collect = (el: Element) => {
    for (const child of el.children) {
      if (typeof child === 'string') continue;
      if (child.tag === 'tr') rows.push(child);
      else if (child.tag === 'caption') caption.push(child);
      else if (child.tag === 'thead' || child.tag === 'tbody' || child.tag === 'tfoot') collect(child);
    }
  };
  collect(table);
  const cellsOf = (row: Element) => row.children.filter((c): c is Element => typeof c !== 'string' && (c.tag === 'td' || c.tag === 'th'));
  for (const row of rows) for (const cell of cellsOf(row)) if (containsBlock(cell)) layout = true;
  out.block(2);
  for (const c of caption) {
    renderChildren(c, out, ctx);
    out.block(2);
  }
  if (layout || rows.length === 0) {
    // A table used for page layout: its cells are just blocks of content.
    for (const row of rows) {
      for (const cell of cellsOf(row)) {
        out.block(1);
        renderChildren(cell, out, ctx);
        out.block(1);
      }
    }
    out.block(2);
    return;
  }
  const grid = rows.map((r) => cellsOf(r).map((c) => inlineText(c, ctx).replace(/\|/g, '\\|')));
  const width = Math.max(1, ...grid.map((r) => r.length));
  const line = (cells: string[]) => `| ${[...cells, ...new Array<string>(width - cells.length).fill('')].join(' | ')} |`;
  grid.forEach((cells, n) => {
    if (grid.length === 1 && cells.length <= 1) {
      out.write(cells[0] ?? '');
      return;
    }
    out.block(1);
    out.write(line(cells));
    if (n === 0) {
      out.block(1);
      out.write(line(new Array<string>(width).fill('---')));
    }
  });
  out.block(2);
}

const blockCache = new WeakMap<Element, boolean>();

/** Whether the subtree holds block content; memoized, so nested tables cost linear time. */
function containsBlock(el: Element): boolean {
  let found = blockCache.get(el);
  if (found === undefined) {
    found = el.children.some((c) => typeof c !== 'string' && (BLOCKISH.has(c.tag) || containsBlock(c)));
    blockCache.set(el, found);
  }
  return found;
}

/** A subtree flattened to one line (for headings, link text, table cells). */
function inlineText(el: Element, ctx: RenderContext): string {
  const sub = new Output();
  renderChildren(el, sub, { base: ctx.base, inline: true });
  return sub.finish().split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

function resolveUrl(href: string | undefined, base: URL | undefined): string | undefined {
  if (!href) return undefined;
  try {
    const u = new URL(href.trim(), base);
    return u.href.replace(/[()\s]/g, (c) => encodeURIComponent(c).replace('(', '%28').replace(')', '%29'));
  } catch {
    return undefined;
  }
}

function escapeBrackets(text: string): string {
  return text.replace(/[[\]]/g, (c) => `\\${c}`);
}

function collapse(text: string): string {
  return text.replace(/[ \t\n\r\f]+/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Character references
// ---------------------------------------------------------------------------------------------

// Named references 160..255 in code point order (the HTML 4 Latin-1 set).
const LATIN1 = 'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml';
const GREEK_UPPER = 'Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho _ Sigma Tau Upsilon Phi Chi Psi Omega';
const GREEK_LOWER = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf sigma tau upsilon phi chi psi omega';
const OTHER: Record<string, number> = {
  quot: 34, amp: 38, apos: 39, lt: 60, gt: 62, OElig: 338, oelig: 339, Scaron: 352, scaron: 353, Yuml: 376, fnof: 402,
  circ: 710, tilde: 732, ensp: 8194, emsp: 8195, thinsp: 8201, zwnj: 8204, zwj: 8205, lrm: 8206, rlm: 8207,
  ndash: 8211, mdash: 8212, lsquo: 8216, rsquo: 8217, sbquo: 8218, ldquo: 8220, rdquo: 8221, bdquo: 8222,
  dagger: 8224, Dagger: 8225, bull: 8226, hellip: 8230, permil: 8240, prime: 8242, Prime: 8243, lsaquo: 8249,
  rsaquo: 8250, euro: 8364, trade: 8482, larr: 8592, uarr: 8593, rarr: 8594, darr: 8595, harr: 8596,
  minus: 8722, infin: 8734, ne: 8800, le: 8804, ge: 8805, times: 215, divide: 247, nbsp: 160, check: 10003,
};

export const NAMED_ENTITIES: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  LATIN1.split(' ').forEach((name, n) => map.set(name, String.fromCodePoint(160 + n)));
  GREEK_UPPER.split(' ').forEach((name, n) => name !== '_' && map.set(name, String.fromCodePoint(913 + n)));
  GREEK_LOWER.split(' ').forEach((name, n) => map.set(name, String.fromCodePoint(945 + n)));
  for (const [name, cp] of Object.entries(OTHER)) map.set(name, String.fromCodePoint(cp));
  return map;
})();

// References that browsers also decode without the trailing semicolon (the common legacy ones).
// Longest first, so a longer name wins over its prefix.
const LEGACY_NO_SEMICOLON_LIST = ['quot', 'nbsp', 'copy', 'amp', 'reg', 'lt', 'gt'];

// Numeric references 128..159 mean windows-1252 characters (HTML spec).
const WINDOWS_1252: Record<number, number> = {
  128: 8364, 130: 8218, 131: 402, 132: 8222, 133: 8230, 134: 8224, 135: 8225, 136: 710, 137: 8240, 138: 352, 139: 8249,
  140: 338, 142: 381, 145: 8216, 146: 8217, 147: 8220, 148: 8221, 149: 8226, 150: 8211, 151: 8212, 152: 732,
  153: 8482, 154: 353, 155: 8250, 156: 339, 158: 382, 159: 376,
};

const ENTITY = /&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[a-zA-Z][a-zA-Z0-9]{0,31})(;?)/g;

/**
 * Decodes character references: decimal and hex numeric ones (invalid → U+FFFD, 128-159 as
 * windows-1252) and the common named ones. Unknown names stay as written. In attribute values a
 * reference without `;` followed by a letter, digit or `=` stays as written (query strings).
 */
export function decodeEntities(text: string, inAttribute = false): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (match, body: string, semi: string, offset: number) => {
    if (body.startsWith('#')) {
      const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return numericReference(cp);
    }
    const value = NAMED_ENTITIES.get(body);
    if (value !== undefined && semi) return value;
    // Without `;`, browsers decode the longest legacy name at the start (`&lt3` is `<3`).
    const legacy = LEGACY_NO_SEMICOLON_LIST.find((name) => body.startsWith(name));
    if (legacy === undefined) return match;
    const rest = body.slice(legacy.length);
    const following = rest === '' ? (semi || text.charAt(offset + match.length)) : rest;
    if (inAttribute && /^[a-zA-Z0-9=]/.test(following)) return match;
    return NAMED_ENTITIES.get(legacy)! + rest + semi;
  });
}

function numericReference(cp: number): string {
  if (WINDOWS_1252[cp] !== undefined) return String.fromCodePoint(WINDOWS_1252[cp]);
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(cp);
}
