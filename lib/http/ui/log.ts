// A build's output as a terminal would show it, in escaped HTML, line by line as it comes: ANSI colours as classed
// spans (anser, its state carried from line to line), `\r` progress lines collapsed, every other control character
// shown as a visible symbol, each line an anchor, the lines in blocks a browser may leave unpainted off screen.
import { StringDecoder } from 'node:string_decoder';
import Anser from 'anser';
import { escape, raw, type Html } from './html.js';

/** OSC (title, clipboard: OSC 52, hyperlinks: OSC 8, …): a terminal acts on it and shows nothing, so neither do we. */
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
/** Other string sequences (DCS, SOS, PM, APC), likewise invisible on a terminal. */
const STRING_SEQ = /\x1b[P^_X][^\x1b]*(?:\x1b\\)?/g;
/** What anser leaves of control characters (a stray ESC, BEL, C1), and text-direction overrides that could make a line lie. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Lines per block element: a block off screen costs the browser no layout or paint (content-visibility: auto). */
export const BLOCK_LINES = 1000;
/** A line longer than this is cut where it is rendered (the raw log keeps it): one line must not make a page of megabytes. */
const MAX_LINE_CHARS = 64 * 1024;

/** The 16 colours a class may name; anything else (256 and true colour) is shown without colour. */
const COLOURS = new Set(['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white']);
const PALETTE = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
const DECORATIONS = new Set(['bold', 'dim', 'italic', 'underline', 'strikethrough', 'reverse', 'hidden']);

/** Keeps what follows the last `\r` of each line, as a terminal's progress bar ends up (a `\r\n` ending is a newline). */
export function collapseReturns(text: string): string {
  return text.split('\n').map(collapseLine).join('\n');
}

function collapseLine(line: string): string {
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  const i = l.lastIndexOf('\r');
  return i < 0 ? l : l.slice(i + 1);
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

function classesOf(fg: string | null, bg: string | null, decorations: readonly string[]): string {
  return [colourClass(fg, 'fg'), colourClass(bg, 'bg'), ...decorations.filter((d) => DECORATIONS.has(d)).map((d) => `ansi-${d}`)].filter(Boolean).join(' ');
}

function visible(text: string): string {
  return escape(text).replace(CONTROL, (c) => `<span class="ctl" title="U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}">${c === '\x1b' ? '␛' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`}</span>`);
}

/** One line's anchor element; the newline inside it, so copied text keeps its lines and a block's last newline draws no empty line. */
function lineHtml(n: number, body: string, partial = false): string {
  return `<span class="line${partial ? ' partial' : ''}" id="L${n}"><a class="ln" href="#L${n}" aria-hidden="true">${n}</a>${body}\n</span>`;
}

/** What anser keeps between calls (its typings leave it out): the colours and decorations in force. */
interface AnserState { fg: string | null; bg: string | null; decorations: string[] }

export interface LogLinesOptions {
  /** Close one `<pre class="log">` and open the next every BLOCK_LINES lines (a page does; live pieces do not). */
  blocks: boolean;
  /** The number of the line before the first one rendered (a reader resuming in the middle). */
  after?: number;
}

/**
 * Renders a log piece by piece, as bytes come: only whole lines (the rest waits for its newline or the end), each
 * numbered on from the last, colours carried over line ends as a terminal carries them.
 */
export class LogLines {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private anser = new Anser();
  /** The number of the last line rendered. */
  line: number;
  private readonly blocks: boolean;

  constructor(options: LogLinesOptions) {
    this.blocks = options.blocks;
    this.line = options.after ?? 0;
  }

  /** The HTML of the whole lines that `chunk` completes. */
  push(chunk: Buffer): string {
    const text = this.rest + this.decoder.write(chunk);
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      this.rest = text.length > MAX_LINE_CHARS * 2 ? text.slice(0, MAX_LINE_CHARS * 2) : text;
      return '';
    }
    this.rest = text.slice(last + 1);
    let out = '';
    let start = 0;
    while (start <= last) {
      const nl = text.indexOf('\n', start);
      out += this.render(text.slice(start, nl));
      start = nl + 1;
    }
    return out;
  }

  /** The last line if it had no newline ('' when there is none); `partial`: it may go on (a running build's). */
  end(partial = false): string {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    return text === '' ? '' : this.render(text, partial);
  }

  /**
   * Leaves `lines` lines out (the middle of a log too long for a page), with a mark saying so: the block ends, the
   * mark stands between blocks, numbering goes on after the lines left out, and colours start afresh.
   */
  gap(lines: number, mark: Html): string {
    const pending = this.end();
    this.line += lines;
    this.anser = new Anser();
    return `${pending}</pre>\n${mark.value}\n<pre class="log">`;
  }

  private render(source: string, partial = false): string {
    const line = collapseLine(source.length > MAX_LINE_CHARS ? source.slice(0, MAX_LINE_CHARS) : source).replace(OSC, '').replace(STRING_SEQ, '');
    const state = this.anser as unknown as AnserState;
    const before = classesOf(state.fg, state.bg, state.decorations);
    let body = '';
    if (!line.includes('\x1b')) {
      // The common case: no sequence on this line, only the colour that the lines before left on.
      body = line === '' ? '' : before ? `<span class="${before}">${visible(line)}</span>` : visible(line);
    } else {
      const chunks = this.anser.ansiToJson(line, { use_classes: true, remove_empty: false });
      chunks.forEach((c, i) => {
        if (c.content === '') return;
        // The text before the line's first sequence is in the state the line began with.
        const classes = i === 0 && !c.was_processed ? before : classesOf(c.fg, c.bg, c.decorations);
        body += classes ? `<span class="${classes}">${visible(c.content)}</span>` : visible(c.content);
      });
    }
    this.line++;
    const boundary = this.blocks && this.line > 1 && (this.line - 1) % BLOCK_LINES === 0 ? '</pre>\n<pre class="log">' : '';
    return boundary + lineHtml(this.line, body, partial);
  }
}

/** A whole log at once (a test, a short output): the same lines and blocks as a page streams them. */
export function renderLog(output: string): Html {
  const lines = new LogLines({ blocks: true });
  const body = lines.push(Buffer.from(output)) + lines.end();
  return raw(`<pre class="log">${body === '' ? lineHtml(1, '') : body}</pre>`);
}
