// The build page's log renderer without a browser: the head/tail budget of a long log (what is left out, counted
// in bytes and lines, at line ends) and the line renderer fed piece by piece (the same lines as at once, numbered
// on, in blocks of at most BLOCK_LINES, colour carried across line ends, markup inert).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { html } from '../../lib/http/ui/html.js';
import { BLOCK_LINES, LogLines, renderLog } from '../../lib/http/ui/log.js';
import { LogBudget, newlines } from '../../lib/http/ui/logBudget.js';

/** Text of short lines, with now and then a long one, as bytes. */
const logText = fc.array(fc.oneof(fc.constantFrom('a', 'é', '\n', '\x1b[31m', '\x1b[0m', '<', '\r'), fc.string({ maxLength: 40 })), { maxLength: 400 }).map((parts) => parts.join(''));

/** Splits `b` at the given points. */
function pieces(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let last = 0;
  for (const c of at) {
    out.push(b.subarray(last, c));
    last = c;
  }
  out.push(b.subarray(last));
  return out;
}

function budgetOf(input: Buffer, cuts: number[], head: number, tail: number): { head: Buffer; skipped: { bytes: number; lines: number }; tail: Buffer } {
  const budget = new LogBudget(head, tail);
  const shown = pieces(input, cuts).map((p) => budget.push(p));
  const end = budget.end();
  return { head: Buffer.concat(shown), ...end };
}

describe('a page\'s budget of a long log', () => {
  it('shows a head and a tail within their budgets, and what it leaves out is exactly the middle, its lines counted', () => {
    fc.assert(fc.property(logText, fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), (text, cuts, h, t) => {
      const input = Buffer.from(text);
      const r = budgetOf(input, cuts, h, t);
      expect(r.head.length).toBeLessThanOrEqual(h);
      expect(r.head.length + r.tail.length).toBeLessThanOrEqual(h + t);
      if (r.skipped.bytes > 0) expect(r.tail.length).toBeLessThanOrEqual(t);
      expect(r.head.length + r.skipped.bytes + r.tail.length).toBe(input.length);
      expect(input.subarray(0, r.head.length).equals(r.head)).toBe(true);
      expect(input.subarray(input.length - r.tail.length).equals(r.tail)).toBe(true);
      expect(r.skipped.lines).toBe(newlines(input.subarray(r.head.length, r.head.length + r.skipped.bytes)));
      if (input.length <= h) expect(r.skipped.bytes).toBe(0); // all of it shown (its last line, unended, at the end)
    }));
  });

  it('cuts at line ends when the lines are shorter than the budgets', () => {
    fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z]{0,20}$/), { minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (lines, cuts) => {
      const input = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const r = budgetOf(input, cuts, 64, 64);
      if (r.head.length > 0) expect(r.head.at(-1)).toBe(0x0a);
      if (r.skipped.bytes > 0) expect(input[r.head.length + r.skipped.bytes - 1]).toBe(0x0a);
    }));
  });
});

describe('the line renderer', () => {
  it('renders the same lines whatever pieces the bytes come in, one element per line, numbered from 1', () => {
    fc.assert(fc.property(logText, fc.array(fc.nat(), { maxLength: 10 }), (text, cuts) => {
      const whole = renderLog(text).value;
      const lines = new LogLines({ blocks: true });
      const body = pieces(Buffer.from(text), cuts).map((p) => lines.push(p)).join('') + lines.end();
      expect(`<pre class="log">${body === '' ? whole.slice(17, -6) : body}</pre>`).toBe(whole);
      const count = text === '' ? 1 : newlines(Buffer.from(text)) + (text.endsWith('\n') ? 0 : 1);
      expect(whole.match(/<span class="line" id="L\d+">/g)!.length).toBe(count);
      expect(whole).not.toMatch(/<(?!\/?(?:span|a|pre)[ >])/); // nothing but our own elements: the text's < is escaped
    }));
  });

  it('puts at most BLOCK_LINES lines in a block, and a gap numbers on after the lines left out', () => {
    const lines = new LogLines({ blocks: true });
    const first = lines.push(Buffer.from('x\n'.repeat(2500)));
    const blocks = `<pre class="log">${first}</pre>`.split('</pre>').slice(0, -1);
    expect(blocks.map((b) => (b.match(/class="line"/g) ?? []).length)).toEqual([BLOCK_LINES, BLOCK_LINES, 500]);
    const mark = lines.gap(7, html`<p class="cut">left out</p>`);
    expect(mark).toBe('</pre>\n<p class="cut">left out</p>\n<pre class="log">');
    expect(lines.push(Buffer.from('after\n'))).toContain('id="L2508"');
  });

  it('carries a colour over the end of a line, as a terminal does, and starts afresh after a gap', () => {
    const lines = new LogLines({ blocks: false });
    const out = lines.push(Buffer.from('\x1b[32mgreen\nstill green\x1b[0m plain\n'));
    expect(out).toContain('<span class="ansi-green-fg">still green</span> plain');
    lines.push(Buffer.from('\x1b[31mred\n'));
    lines.gap(0, html``);
    expect(lines.push(Buffer.from('fresh\n'))).toMatch(/<\/a>fresh\n<\/span>$/);
  });

  it('renders a partial last line marked as such (a running build\'s page), and a resumed reader numbers on', () => {
    const lines = new LogLines({ blocks: false, after: 41 });
    expect(lines.push(Buffer.from('50%\r100%'))).toBe('');
    expect(lines.end(true)).toContain('<span class="line partial" id="L42">');
    expect(lines.end(true)).toBe('');
  });
});
