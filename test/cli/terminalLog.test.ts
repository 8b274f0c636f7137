// A log streamed to a terminal in pieces shows exactly what it shows in one piece, wherever the pieces are cut (in
// the middle of a colour sequence, an OSC sequence or a UTF-8 character), and nothing but colours gets through.
import { describe, expect, it } from 'vitest';
import { TerminalLog } from '../../lib/cli/terminalLog.js';
import { terminalText } from '../../lib/suggest/printable.js';

const LOG = '\x1b[1;31mred\x1b[0m é😀 a\x1b[2Jb\x1b]52;c;ZXZpbA==\x07c\u009bd\u202ee\n\x1b[32mgreen\nplain\rover\nlast';

function shown(pieces: Uint8Array[], colour: boolean): string {
  const view = new TerminalLog(colour);
  return pieces.map((p) => view.push(p)).join('') + view.end();
}

describe('TerminalLog', () => {
  it('shows a log cut anywhere in two, or byte by byte, as it shows it whole', () => {
    const bytes = Buffer.from(LOG);
    for (const colour of [true, false]) {
      const whole = shown([bytes], colour);
      // Whole, it is what terminalText shows (the log starts with a colour, so every line ends with a reset), and its last line is ended.
      expect(whole).toBe(`${terminalText(LOG, colour)}${colour ? '\x1b[0m' : ''}\n`);
      for (let i = 1; i < bytes.length; i++) expect(shown([bytes.subarray(0, i), bytes.subarray(i)], colour)).toBe(whole);
      expect(shown([...bytes].map((b) => Uint8Array.of(b)), colour)).toBe(whole);
    }
  });

  it('lets only colour sequences through, and resets lines after a colour from an earlier piece', () => {
    const out = shown([Buffer.from('plain\n\x1b[31mred'), Buffer.from(' still\nnext\n')], true);
    expect(out).toBe('plain\x1b[0m\n\x1b[31mred still\x1b[0m\nnext\x1b[0m\n');
    const hostile = shown([Buffer.from(LOG)], true);
    expect(hostile.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]/);
    expect(shown([Buffer.from('ends with ESC \x1b')], true)).toBe('ends with ESC \\x1b\n');
    expect(shown([], true)).toBe('');
  });
});
