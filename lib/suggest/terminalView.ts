// simplebb-suggest --wait on a terminal: aligned columns, coloured verdicts, the last lines of a failed build's
// output, a status line of who is still running (redrawn every second), and a summary. Only when stdout is a
// terminal; piped, the output stays the plain, stable lines of suggester.ts.
import type { Verdict } from '../protocol/messages.js';

const COLORS = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** One builder's part in one suggestion, as the view tracks it. */
interface Part { builder: string; branch: string; startedAt?: number; verdict?: Verdict }

export class TerminalView {
  private readonly parts = new Map<string, Part>();
  private width = 0;
  private status = '';
  private timer: NodeJS.Timeout | undefined;

  /**
   * `text` is suggester.ts's own printable() and seconds() (passed in rather than imported, so that they stay in
   * the bundle's main file, which needs them too, instead of a chunk the git hook would load on every push).
   */
  constructor(
    private readonly write: (text: string) => void,
    private readonly color: boolean,
    private readonly text: { escape: (text: string, keepNewlines?: boolean) => string; seconds: (ms: number) => string },
    private readonly now: () => number = Date.now,
  ) {}

  /** A suggestion went to these builders: they are waited for. */
  accepted(id: string, branch: string, builders: string[]): void {
    for (const b of builders) {
      this.parts.set(`${id}\0${b}`, { builder: b, branch });
      this.width = Math.max(this.width, b.length);
    }
    if (builders.length && !this.timer) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    }
    this.draw();
  }

  started(id: string, builder: string): void {
    const p = this.parts.get(`${id}\0${builder}`);
    if (p) p.startedAt = this.now();
    this.draw();
  }

  /** A line above the status line. */
  line(text: string): void {
    this.clear();
    this.write(`${text}\n`);
    this.draw();
  }

  /** Bytes (a followed build's output) above the status line. */
  bytes(write: () => void): void {
    this.clear();
    write();
    this.draw();
  }

  /** One builder's verdict, aligned and coloured, with the last lines of its output when it did not succeed. */
  report(r: { id: string; builder: string; project: string; branch: string; verdict: Verdict; exitCode: number; signal?: string; durationMs: number; message?: string; tail?: string }): void {
    const p = this.parts.get(`${r.id}\0${r.builder}`);
    if (p) p.verdict = r.verdict;
    const exit = r.signal ? `signal ${this.text.escape(r.signal)}` : `exit ${r.exitCode}`;
    const why = r.message && r.verdict !== 'success' && r.verdict !== 'failure' ? `  (${this.text.escape(r.message)})` : '';
    let text = `${r.builder.padEnd(this.width)}  ${r.project} ${this.text.escape(r.branch)}  ${this.paint(r.verdict.padEnd(10), verdictColor(r.verdict))}${exit.padEnd(10)}  ${this.text.seconds(r.durationMs)}${why}`;
    if (r.tail) text += '\n' + this.text.escape(r.tail, true).split('\n').map((l) => this.paint(`  │ ${l}`, 'dim')).join('\n');
    this.line(text);
  }

  /** The last line: how many passed, and who did not. */
  summary(): void {
    this.close();
    const parts = [...this.parts.values()];
    if (!parts.length) return;
    const multi = new Set(parts.map((p) => p.branch)).size > 1;
    const who = (ps: Part[]): string => ps.map((p) => (multi ? `${p.builder} (${this.text.escape(p.branch)})` : p.builder)).join(', ');
    const passed = parts.filter((p) => p.verdict === 'success');
    const failed = parts.filter((p) => p.verdict === 'failure' || p.verdict === 'timeout' || p.verdict === 'lost');
    const other = parts.filter((p) => p.verdict !== undefined && !passed.includes(p) && !failed.includes(p));
    const noun = multi ? 'builds' : `builder${parts.length === 1 ? '' : 's'}`;
    const bits = [`${passed.length} of ${parts.length} ${noun} passed`];
    if (failed.length) bits.push(this.paint(`${failed.length} failed: ${who(failed)}`, 'red'));
    if (other.length) bits.push(this.paint(`${other.length} did not build it: ${who(other)}`, 'yellow'));
    this.write(`${this.paint(bits[0]!, failed.length ? 'bold' : 'green')}${bits.length > 1 ? `, ${bits.slice(1).join(', ')}` : ''}\n`);
  }

  /** Stops redrawing and removes the status line. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private draw(): void {
    const now = this.now();
    const open = [...this.parts.values()].filter((p) => p.verdict === undefined);
    const running = open.filter((p) => p.startedAt !== undefined).map((p) => `${p.builder} ${Math.floor((now - p.startedAt!) / 1000)} s`);
    const queued = open.filter((p) => p.startedAt === undefined).map((p) => p.builder);
    const text = [running.length ? `running: ${running.join(', ')}` : '', queued.length ? `waiting for: ${queued.join(', ')}` : ''].filter(Boolean).join(' · ');
    this.clear();
    if (!text) return;
    this.status = this.paint(`… ${text}`.slice(0, Math.max(20, (process.stdout.columns || 100) - 1)), 'dim');
    this.write(this.status);
  }

  private clear(): void {
    if (this.status) this.write('\r\x1b[K');
    this.status = '';
  }

  private paint(text: string, c: keyof typeof COLORS): string {
    return this.color ? `\x1b[${COLORS[c]}m${text}\x1b[0m` : text;
  }
}

function verdictColor(v: Verdict): keyof typeof COLORS {
  return v === 'success' ? 'green' : v === 'failure' || v === 'timeout' || v === 'lost' ? 'red' : 'yellow';
}
