// HTML → markdown-ish text: structure, links, entities, noise removal and hostile input.
import { describe, expect, it } from 'vitest';
import { decodeEntities, htmlToText, NAMED_ENTITIES } from '../../src/tools/html-to-text.ts';

const text = (html: string, baseUrl = 'https://example.com/dir/page.html') => htmlToText(html, { baseUrl }).text;

describe('htmlToText structure', () => {
  it('extracts the title and renders headings as #', () => {
    const r = htmlToText('<html><head><title>  The\n Title </title></head><body><h1>Main</h1><h3>Sub <em>part</em></h3><p>Body</p></body></html>');
    expect(r.title).toBe('The Title');
    expect(r.text).toBe('# Main\n\n### Sub part\n\nBody');
  });

  it('has no title when there is none', () => {
    expect(htmlToText('<p>x</p>').title).toBeUndefined();
    expect(htmlToText('<title>  </title><p>x</p>').title).toBeUndefined();
  });

  it('separates paragraphs by one blank line and collapses whitespace', () => {
    expect(text('<p>one\n   two</p>\n\n\n<p>three</p><div>four</div><div>five</div>')).toBe('one two\n\nthree\n\nfour\nfive');
  });

  it('turns <br> into line breaks', () => {
    expect(text('<p>a<br>b<br/><br>c</p>')).toBe('a\nb\n\nc');
  });

  it('renders links as [text](absolute href), keeping surrounding spaces as written', () => {
    expect(text('<p>See <a href="other.html">the other page</a>, or <a href="/root">root</a>.</p>'))
      .toBe('See [the other page](https://example.com/dir/other.html), or [root](https://example.com/root).');
    expect(text('<p>word<a href="x"> spaced </a>word</p>')).toBe('word [spaced](https://example.com/dir/x) word');
  });

  it('drops fragment-only, javascript: and empty links to plain text', () => {
    expect(text('<a href="#top">Top</a> <a href="javascript:alert(1)">Click</a> <a href="/x"></a>')).toBe('Top Click');
  });

  it('honors <base href>', () => {
    expect(text('<head><base href="https://cdn.example.org/docs/"></head><a href="a.html">A</a>')).toBe('[A](https://cdn.example.org/docs/a.html)');
  });

  it('escapes brackets in link text and encodes parentheses in hrefs', () => {
    expect(text('<a href="/wiki/Foo_(bar)">[1] Foo</a>')).toBe('[\\[1\\] Foo](https://example.com/wiki/Foo_%28bar%29)');
  });

  it('renders unordered, ordered and nested lists', () => {
    expect(text('<p>Intro</p><ul><li>one</li><li>two<ul><li>a</li><li>b</li></ul></li><li>three</li></ul><ol start="3"><li>c<li>d</ol><p>After</p>'))
      .toBe('Intro\n\n- one\n- two\n  - a\n  - b\n- three\n\n3. c\n4. d\n\nAfter');
  });

  it('renders block quotes with > on every line', () => {
    expect(text('<blockquote><p>first</p><p>second</p></blockquote>')).toBe('> first\n>\n> second');
  });

  it('keeps preformatted text verbatim in a fence, and inline code in backticks', () => {
    expect(text('<p>Run <code>npm test</code>:</p><pre><code>if (a &lt; b) {\n  go();\n}\n</code></pre>'))
      .toBe('Run `npm test`:\n\n```\nif (a < b) {\n  go();\n}\n```');
    expect(text('<pre>has ``` inside</pre>')).toBe('~~~\nhas ``` inside\n~~~');
  });

  it('renders simple tables as markdown tables', () => {
    expect(text('<table><thead><tr><th>Name</th><th>Qty</th></tr></thead><tbody><tr><td>A|B</td><td>1</td></tr><tr><td>C</td></tr></tbody></table>'))
      .toBe('| Name | Qty |\n| --- | --- |\n| A\\|B | 1 |\n| C | |');
  });

  it('renders layout tables (cells with blocks) as plain blocks', () => {
    expect(text('<table><tr><td><h2>Left</h2><p>l</p></td><td><p>Right</p></td></tr></table>')).toBe('## Left\n\nl\n\nRight');
  });

  it('renders images with alt text only', () => {
    expect(text('<p>Logo: <img src="/logo.png" alt="ACME"> <img src="/pixel.gif"> <img src="data:image/png;base64,xx" alt="inline"></p>'))
      .toBe('Logo: ![ACME](https://example.com/logo.png) inline');
  });

  it('renders card links that wrap blocks as blocks followed by the target', () => {
    expect(text('<a href="/post"><h3>Post</h3><p>Excerpt</p></a><p>Next</p>')).toBe('### Post\n\nExcerpt (https://example.com/post)\n\nNext');
  });

  it('renders definition lists and horizontal rules', () => {
    expect(text('<dl><dt>Term</dt><dd>Meaning</dd></dl><hr><p>x</p>')).toBe('Term\n: Meaning\n\n---\n\nx');
  });
});

describe('htmlToText noise removal', () => {
  it('drops scripts, styles, templates, svg, noscript and comments', () => {
    const html = `<style>p{color:red}</style><script>document.write("<p>bad</p>")</script>
      <script type="module">const s = "</scr" + "ipt>";</script><noscript>Enable JS</noscript>
      <template><p>tpl</p></template><svg><text>svg text</text></svg><!-- a <p>comment</p> --><p>kept</p>`;
    expect(text(html)).toBe('kept');
  });

  it('drops hidden elements', () => {
    expect(text('<div hidden>a</div><p aria-hidden="true">b</p><span style="display: none">c</span><p style="visibility:hidden">d</p><dialog>e</dialog><p>shown</p>')).toBe('shown');
  });

  it('matches raw-text end tags case-insensitively', () => {
    expect(text('<SCRIPT>var a = 1;</ScRiPt><P>Upper</P>')).toBe('Upper');
  });

  it('ends the head at the first body content when </head> is missing', () => {
    const r = htmlToText('<html><head><title>T</title><meta charset="utf-8"><p>Body text');
    expect(r).toEqual({ title: 'T', text: 'Body text' });
  });
});

describe('htmlToText hostile and broken input', () => {
  it('survives truncated markup', () => {
    expect(text('<p>Complete</p><p>cut <a href="x')).toBe('Complete\n\ncut');
    expect(text('<p>open <b>bold')).toBe('open bold');
    expect(text('<script>never closed <p>x</p>')).toBe('');
    expect(text('<!-- never closed <p>x</p>')).toBe('');
  });

  it('treats stray < as text and ignores unknown end tags', () => {
    expect(text('<p>1 < 2 and 3 <> 4</p></div></span><p>ok</p>')).toBe('1 < 2 and 3 <> 4\n\nok');
  });

  it('handles very deep nesting without overflowing the stack', () => {
    const deep = `${'<div>'.repeat(50_000)}deep${'</div>'.repeat(50_000)}<p>after</p>`;
    expect(text(deep)).toBe('deep\n\nafter');
  });

  it('is fast on large input', () => {
    const big = '<p>Lorem ipsum <a href="/x">dolor</a> sit &amp; amet.</p>\n'.repeat(50_000);
    const started = Date.now();
    const out = text(big);
    expect(out.length).toBeGreaterThan(1_000_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('closes implied paragraphs, list items and cells', () => {
    expect(text('<p>one<p>two<ul><li>a<li>b</ul><table><tr><td>x<td>y<tr><td>z</table>'))
      .toBe('one\n\ntwo\n\n- a\n- b\n\n| x | y |\n| --- | --- |\n| z | |');
  });

  it('handles CDATA, doctype and processing instructions', () => {
    expect(text('<!DOCTYPE html><?xml version="1.0"?><p><![CDATA[raw & text]]></p>')).toBe('raw & text');
  });
});

describe('decodeEntities', () => {
  it('decodes named, decimal and hex references', () => {
    expect(decodeEntities('&lt;a&gt; &amp; &quot;q&quot; &apos;s&apos; caf&eacute; &copy; &mdash; &hellip; &#65;&#x42;&#X43; &#x1F600;'))
      .toBe('<a> & "q" \'s\' café © — … ABC 😀');
  });

  it('maps the Latin-1 table in code point order', () => {
    expect(NAMED_ENTITIES.get('nbsp')).toBe('\u00a0');
    expect(NAMED_ENTITIES.get('iquest')).toBe('¿');
    expect(NAMED_ENTITIES.get('Agrave')).toBe('À');
    expect(NAMED_ENTITIES.get('times')).toBe('×');
    expect(NAMED_ENTITIES.get('yuml')).toBe('ÿ');
    expect(NAMED_ENTITIES.get('Omega')).toBe('Ω');
    expect(NAMED_ENTITIES.get('omega')).toBe('ω');
  });

  it('replaces invalid numeric references and maps 128-159 as windows-1252', () => {
    expect(decodeEntities('&#0;|&#xD800;|&#x110000;|&#150;|&#153;')).toBe('\ufffd|\ufffd|\ufffd|–|™');
  });

  it('leaves unknown names alone and decodes legacy ones without a semicolon', () => {
    expect(decodeEntities('&bogus; &amp &lt3 &copy 2024 &eacute')).toBe('&bogus; & <3 © 2024 &eacute');
  });

  it('keeps query strings in attributes intact', () => {
    expect(decodeEntities('/p?a=1&copy=2&amp;b=3&lt', true)).toBe('/p?a=1&copy=2&b=3<');
  });

  it('renders &nbsp; as a plain space in text', () => {
    expect(text('<p>a&nbsp;&nbsp;b</p>')).toBe('a  b');
  });
});

describe('htmlToText pathological nesting stays fast', () => {
  it('nested links, code and tables', () => {
    const started = Date.now();
    const links = text(`${'<a href="/x">link '.repeat(20_000)}end`);
    expect(links.startsWith('[link](https://example.com/x)')).toBe(true);
    text(`${'<code>'.repeat(300)}${'x '.repeat(200_000)}`);
    text(`${'<table><tr><td><p>cell</p>'.repeat(300)}${'y '.repeat(200_000)}`);
    text(`${'<h1>'.repeat(300)}${'z '.repeat(200_000)}`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
