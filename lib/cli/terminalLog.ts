// A build's log streamed to a terminal piece by piece, neutralised as terminalText() does a whole one: colours kept
// (when on), every other control sequence shown as an escape, even when a sequence or a UTF-8 character is split
// between two pieces.
import { terminalText } from '../suggest/printable.js';

/** The start of a colour sequence that the next piece may finish (ESC, ESC [, ESC [ 1;3…). */
const OPEN_SGR = /\x1b(?:\[[0-9;:]{0,64})?$/;

export class TerminalLog {
  private readonly decoder = new TextDecoder('utf-8');
  /** A sequence's start held back for the next piece. */
  private held = '';
  /** A colour was shown: from then on each line ends with a reset. */
  private styled = false;
  private last = '';

  constructor(private readonly colour: boolean) {}

  /** The text to show for the next piece of the log. */
  push(data: Uint8Array): string {
    return this.render(this.held + this.decoder.decode(data, { stream: true }), false);
  }

  /** The text to show at the end: what was held back, and a newline (after a reset) if the log did not end its last line. */
  end(): string {
    const text = this.render(this.held + this.decoder.decode(), true);
    const all = this.last + text;
    if (!all || all.endsWith('\n')) return text;
    return `${text}${this.styled ? '\x1b[0m' : ''}\n`;
  }

  private render(text: string, final: boolean): string {
    const open = final ? null : OPEN_SGR.exec(text.slice(-70));
    this.held = open ? open[0] : '';
    let out = terminalText(open ? text.slice(0, text.length - open[0].length) : text, this.colour);
    // terminalText resets the lines of a piece that has a colour; a colour from an earlier piece needs the same.
    if (out.includes('\x1b')) this.styled = true;
    else if (this.styled) out = out.replace(/\n/g, '\x1b[0m\n');
    if (out) this.last = out.slice(-1);
    return out;
  }
}
