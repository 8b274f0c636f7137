// A followed build's live output as simplebb-suggest prints it: each builder's streams cut into lines, each line
// prefixed "NAME| ", the bytes themselves left as the build wrote them.
//
// Lines are cut in latin1 (one character per byte): decoding and encoding are copies, a multi-byte character split
// between two chunks comes out whole, and bytes that are not UTF-8 pass unchanged. --json decodes UTF-8 instead.

/** A line longer than this many bytes is printed in pieces rather than held whole. */
const MAX_PARTIAL = 1024 * 1024;

interface StreamState { decoder?: TextDecoder; partial: string; prefix: string }

export class LiveOutput {
  private readonly streams = new Map<string, StreamState>();

  /** The complete lines `data` ends, each prefixed with its builder's name and ended by a newline; undefined when none ends. */
  lines(builder: string, id: string, stream: string, data: Buffer): Buffer | undefined {
    const s = this.state(builder, id, stream);
    const text = s.partial + data.toString('latin1');
    const last = text.lastIndexOf('\n');
    if (last === -1) {
      if (text.length <= MAX_PARTIAL) {
        s.partial = text;
        return undefined;
      }
      s.partial = '';
      return Buffer.from(`${s.prefix}${text}\n`, 'latin1');
    }
    s.partial = text.slice(last + 1);
    // One native replace over the chunk rather than a loop over its lines: a build may print a million of them.
    return Buffer.from(s.prefix + text.slice(0, last + 1).replaceAll('\n', `\n${s.prefix}`).slice(0, -s.prefix.length), 'latin1');
  }

  /** `data` decoded as UTF-8 across chunks, for --json (which prints the text as it comes, in the chunks it came in). */
  text(builder: string, id: string, stream: string, data: Buffer): string {
    const s = this.state(builder, id, stream);
    s.decoder ??= new TextDecoder();
    return s.decoder.decode(data, { stream: true });
  }

  /** What is left once the builds are over: every unfinished last line, prefixed and ended by a newline. */
  rest(): Buffer[] {
    const out: Buffer[] = [];
    for (const s of this.streams.values()) if (s.partial) out.push(Buffer.from(`${s.prefix}${s.partial}\n`, 'latin1'));
    this.streams.clear();
    return out;
  }

  private state(builder: string, id: string, stream: string): StreamState {
    const key = `${builder}\0${id}\0${stream}`;
    let s = this.streams.get(key);
    if (!s) {
      // The builder's name is ASCII (its naming rule), so it is the same in latin1.
      s = { partial: '', prefix: `${builder}| ` };
      this.streams.set(key, s);
    }
    return s;
  }
}
