// Markdown for messages, built as React elements from marked's tokens: nothing the agent writes is
// ever inserted as HTML (raw HTML renders as text), links open only http(s)/mailto targets, and
// images become links (the CSP would block third-party images anyway).
import { Fragment, type ReactNode } from 'react';
import { Lexer, type Token, type Tokens } from 'marked';

const SAFE_URL = /^(https?:|mailto:)/i;

function inline(tokens: Token[] | undefined, key = ''): ReactNode[] {
  return (tokens ?? []).map((t, i) => {
    const k = `${key}${i}`;
    switch (t.type) {
      case 'strong': return <strong key={k}>{inline((t as Tokens.Strong).tokens, k)}</strong>;
      case 'em': return <em key={k}>{inline((t as Tokens.Em).tokens, k)}</em>;
      case 'del': return <del key={k}>{inline((t as Tokens.Del).tokens, k)}</del>;
      case 'codespan': return <code key={k}>{(t as Tokens.Codespan).text}</code>;
      case 'br': return <br key={k} />;
      case 'link': {
        const l = t as Tokens.Link;
        return SAFE_URL.test(l.href) ? <a key={k} href={l.href} target="_blank" rel="noreferrer noopener">{inline(l.tokens, k)}</a> : <Fragment key={k}>{inline(l.tokens, k)}</Fragment>;
      }
      case 'image': {
        const img = t as Tokens.Image;
        return SAFE_URL.test(img.href) ? <a key={k} href={img.href} target="_blank" rel="noreferrer noopener">[image: {img.text}]</a> : <Fragment key={k}>[image: {img.text}]</Fragment>;
      }
      case 'text': {
        const tx = t as Tokens.Text;
        return tx.tokens ? <Fragment key={k}>{inline(tx.tokens, k)}</Fragment> : <Fragment key={k}>{tx.text}</Fragment>;
      }
      case 'escape': return <Fragment key={k}>{(t as Tokens.Escape).text}</Fragment>;
      default: return <Fragment key={k}>{'raw' in t ? String(t.raw) : ''}</Fragment>;
    }
  });
}

function block(tokens: Token[], key = ''): ReactNode[] {
  return tokens.map((t, i) => {
    const k = `${key}${i}`;
    switch (t.type) {
      case 'space': return null;
      case 'paragraph': return <p key={k}>{inline((t as Tokens.Paragraph).tokens, k)}</p>;
      case 'heading': {
        const h = t as Tokens.Heading;
        const Tag = `h${Math.min(6, h.depth + 2)}` as 'h3';
        return <Tag key={k}>{inline(h.tokens, k)}</Tag>;
      }
      case 'code': return <pre key={k} className="code"><code>{(t as Tokens.Code).text}</code></pre>;
      case 'blockquote': return <blockquote key={k}>{block((t as Tokens.Blockquote).tokens, k)}</blockquote>;
      case 'hr': return <hr key={k} />;
      case 'list': {
        const l = t as Tokens.List;
        const items = l.items.map((it, j) => <li key={j}>{it.task ? (it.checked ? '☑ ' : '☐ ') : null}{block(it.tokens, `${k}-${j}-`)}</li>);
        return l.ordered ? <ol key={k} start={typeof l.start === 'number' ? l.start : undefined}>{items}</ol> : <ul key={k}>{items}</ul>;
      }
      case 'table': {
        const tb = t as Tokens.Table;
        return (
          <div key={k} className="md-table"><table>
            <thead><tr>{tb.header.map((c, j) => <th key={j}>{inline(c.tokens, `${k}h${j}`)}</th>)}</tr></thead>
            <tbody>{tb.rows.map((r, j) => <tr key={j}>{r.map((c, m) => <td key={m}>{inline(c.tokens, `${k}r${j}c${m}`)}</td>)}</tr>)}</tbody>
          </table></div>
        );
      }
      case 'text': {
        const tx = t as Tokens.Text;
        return <Fragment key={k}>{tx.tokens ? inline(tx.tokens, k) : tx.text}</Fragment>;
      }
      case 'html': return <p key={k}>{(t as Tokens.HTML).text}</p>;
      default: return <p key={k}>{'raw' in t ? String(t.raw) : ''}</p>;
    }
  });
}

export function Markdown({ text }: { text: string }) {
  let tokens: Token[];
  try {
    tokens = new Lexer({ gfm: true }).lex(text);
  } catch {
    return <div className="ev-text">{text}</div>;
  }
  return <div className="md">{block(tokens)}</div>;
}
