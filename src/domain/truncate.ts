// Output truncation shared by the tools: results stay within a model-friendly size, and the model
// is told exactly how much it is not seeing.

/** Default cap for one tool result, in characters (UTF-16 code units). */
export const DEFAULT_MAX_CHARS = 30_000;

/**
 * Keeps the head and the tail of `text` (the start shows what ran, the end usually holds the
 * error or summary) and replaces the middle with `[... N characters truncated ...]`.
 * The result is at most `maxChars` long plus the note; surrogate pairs are never split.
 */
export function truncateMiddle(text: string, maxChars = DEFAULT_MAX_CHARS): string {
  if (text.length <= maxChars) return text;
  let headEnd = Math.ceil(maxChars / 2);
  let tailStart = text.length - Math.floor(maxChars / 2);
  // Prefer cutting at line boundaries when one is near, so lines are not chopped mid-way.
  const nl = text.lastIndexOf('\n', headEnd);
  if (nl > headEnd - 2_000 && nl > 0) headEnd = nl + 1;
  const nl2 = text.indexOf('\n', tailStart);
  if (nl2 !== -1 && nl2 < tailStart + 2_000) tailStart = nl2 + 1;
  if (isLowSurrogate(text.charCodeAt(headEnd))) headEnd--;
  if (isLowSurrogate(text.charCodeAt(tailStart))) tailStart++;
  const cut = tailStart - headEnd;
  const head = text.slice(0, headEnd);
  const tail = text.slice(tailStart);
  return `${head}${head.endsWith('\n') ? '' : '\n'}[... ${cut} characters truncated ...]\n${tail}`;
}

/**
 * Keeps whole lines from the start while they fit in `maxChars`; returns how many lines were kept.
 * For listings (search results, file lists) where a cut in the middle would be confusing.
 */
export function takeLines(lines: readonly string[], maxChars: number): { kept: string[]; omitted: number } {
  const kept: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > maxChars && kept.length > 0) break;
    kept.push(line);
    used += line.length + 1;
  }
  return { kept, omitted: lines.length - kept.length };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
