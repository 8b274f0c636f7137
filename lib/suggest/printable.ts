// Text from the master (a build's message, its output's tail, a signal name) made safe to print on a terminal: no
// control sequence, no bidi override, no invisible character gets through as itself.

// C0 controls but tab and newline, DEL, C1 controls (U+009B is a one-byte CSI), bidi embeddings, overrides and
// isolates, zero-width characters and the BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** `text` with every unsafe character shown as a visible escape (ESC as \x1b, U+202E as \u202e); `keepNewlines` for multi-line text. */
export function printable(text: string, keepNewlines = false): string {
  const safe = text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
  return keepNewlines ? safe : safe.replace(/\n/g, '\\n');
}

/** Colour and style (SGR) sequences: the only control sequences a build's output may send to a terminal. */
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;:]{0,64}m/g;

/**
 * A build's output made safe for a terminal: colour sequences kept when `colour` (else dropped), every other control
 * character, sequence, C1, bidi or invisible character shown as a visible escape (a cursor move, a screen clear, an
 * OSC 52 clipboard write or a title change does nothing). Lines whose colours were changed end with a reset, so one
 * build's colour does not run into the next line's prefix.
 */
export function terminalText(text: string, colour: boolean): string {
  let out = '';
  let at = 0;
  let styled = false;
  for (const m of text.matchAll(SGR)) {
    out += printable(text.slice(at, m.index), true);
    if (colour) {
      out += m[0];
      styled = true;
    }
    at = m.index + m[0].length;
  }
  out += printable(text.slice(at), true);
  return styled ? out.replace(/\n/g, '\x1b[0m\n') : out;
}
