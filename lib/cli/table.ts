// Aligned columns for people: each column as wide as its widest cell, two spaces apart, no trailing blanks. Every
// cell is made printable here, so that no text from the master reaches a terminal as itself; colour never counts as width.
import { printable } from '../suggest/printable.js';

export type Colour = 'red' | 'green' | 'yellow' | 'dim' | 'bold';
const SGR: Record<Colour, number> = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 };

/** A cell: its text, and the colour it is painted in when colour is on. */
export type Cell = string | { text: string; colour?: Colour | undefined };

/** `text` in `colour` when `on`, else as it is. */
export function paint(text: string, colour: Colour | undefined, on: boolean): string {
  return on && colour && text ? `\x1b[${SGR[colour]}m${text}\x1b[0m` : text;
}

/** One cell's text made safe for a single line: printable, and tabs shown as \t (a tab would break the alignment). */
export function cellText(text: string): string {
  return printable(text).replace(/\t/g, '\\t');
}

// Combining marks take no column; East Asian wide characters and emoji take two (wcwidth's rule, in short).
const COMBINING = /\p{M}/u;
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;

/** How many terminal columns `text` (printable, without colour) takes. */
export function width(text: string): number {
  let n = 0;
  for (const c of text) n += COMBINING.test(c) ? 0 : WIDE.test(c) ? 2 : 1;
  return n;
}

/** The rows under their header (none for name and value lines) as aligned lines, each ending with a newline. */
export function table(header: string[] | null, rows: Cell[][], colour: boolean): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'string' ? { text: cellText(c) } : { text: cellText(c.text), colour: c.colour })));
  const all = [...(header ? [header.map((h) => ({ text: h, colour: undefined as Colour | undefined }))] : []), ...cells];
  if (!all.length) return '';
  const columns = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(0, ...all.map((r) => (r[i] ? width(r[i]!.text) : 0))));
  return all.map((r) => {
    const line = r.map((c, i) => {
      const pad = i === r.length - 1 ? '' : ' '.repeat(widths[i]! - width(c.text));
      return paint(c.text, c.colour, colour) + pad;
    }).join('  ');
    return line.trimEnd() + '\n';
  }).join('');
}
