// Output cut into pieces that each fit one protocol line.
import { MAX_CHUNK_CHARS } from '../protocol/limits.js';

/** Splits text into pieces of at most `max` UTF-16 units without cutting a surrogate pair. */
export function splitText(text: string, max = MAX_CHUNK_CHARS): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + max);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(i, end));
    i = end;
  }
  return parts;
}
