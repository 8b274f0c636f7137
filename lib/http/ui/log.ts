// A build's kept output as a terminal would show it, in escaped HTML: ANSI colours as classed spans (anser),
// `\r` progress lines collapsed, every other control character shown as a visible symbol, each line an anchor.
import Anser from 'anser';
import { escape, raw, type Html } from './html.js';

/** OSC (title, clipboard: OSC 52, hyperlinks: OSC 8, …): a terminal acts on it and shows nothing, so neither do we. */
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
/** Other string sequences (DCS, SOS, PM, APC), likewise invisible on a terminal. */
const STRING_SEQ = /\x1b[P^_X][^\x1b]*(?:\x1b\\)?/g;
/** What anser leaves of control characters (a stray ESC, BEL, C1), and text-direction overrides that could make a line lie. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The 16 colours a class may name; anything else (256 and true colour) is shown without colour. */
const COLOURS = new Set(['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white']);
const PALETTE = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
const DECORATIONS = new Set(['bold', 'dim', 'italic', 'underline', 'strikethrough', 'reverse', 'hidden']);

/** Keeps what follows the last `\r` of each line, as a terminal's progress bar ends up (a `\r\n` ending is a newline). */
export function collapseReturns(text: string): string {
  return text.split('\n').map((line) => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    const i = l.lastIndexOf('\r');
    return i < 0 ? l : l.slice(i + 1);
  }).join('\n');
}

/** Anser's class ("ansi-red", "ansi-bright-red", "ansi-palette-9") as one of ours, or none. */
function colourClass(name: string | null, side: 'fg' | 'bg'): string | undefined {
  if (!name) return undefined;
  const m = /^ansi-(bright-)?([a-z]+)$/.exec(name);
  if (m && COLOURS.has(m[2]!)) return `ansi-${m[1] ?? ''}${m[2]}-${side}`;
  const p = /^ansi-palette-(\d+)$/.exec(name);
  if (p && Number(p[1]) < 16) return `ansi-${Number(p[1]) >= 8 ? 'bright-' : ''}${PALETTE[Number(p[1]) % 8]}-${side}`;
  return undefined;
}

function visible(text: string): string {
  return escape(text).replace(CONTROL, (c) => `<span class="ctl" title="U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}">${c === '\x1b' ? '␛' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`}</span>`);
}

/** The log as a <pre> of lines `<span id="L1">`, numbered links to themselves. */
export function renderLog(output: string): Html {
  const text = collapseReturns(output.replace(OSC, '').replace(STRING_SEQ, ''));
  const chunks = Anser.ansiToJson(text, { use_classes: true, remove_empty: true });
  const lines: string[] = [];
  let current = '';
  const end = (): void => {
    lines.push(current);
    current = '';
  };
  for (const c of chunks) {
    const classes = [colourClass(c.fg, 'fg'), colourClass(c.bg, 'bg'), ...c.decorations.filter((d) => DECORATIONS.has(d)).map((d) => `ansi-${d}`)].filter(Boolean);
    const parts = c.content.split('\n');
    parts.forEach((part, i) => {
      if (i > 0) end();
      if (part === '') return;
      current += classes.length > 0 ? `<span class="${classes.join(' ')}">${visible(part)}</span>` : visible(part);
    });
  }
  if (current !== '' || lines.length === 0) end();
  // The newline inside each line's element: copied text keeps its lines, and a block's last newline draws no empty line.
  const body = lines.map((l, i) => `<span class="line" id="L${i + 1}"><a class="ln" href="#L${i + 1}" aria-hidden="true">${i + 1}</a>${l}\n</span>`).join('');
  return raw(`<pre class="log">${body}</pre>`);
}
