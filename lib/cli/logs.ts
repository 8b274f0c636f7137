// `simplebb logs ID BUILDER`: the output the master kept of one build. On a terminal its control sequences are
// shown as escapes (colours kept unless NO_COLOR); to a pipe or a file it goes byte for byte.
import type { Api } from './api.js';
import type { Output } from './output.js';
import { terminalText } from '../suggest/printable.js';

export async function logs(api: Api, out: Output, id: string, builder: string): Promise<number> {
  const log = await api.bytes(`/api/v1/reports/${encodeURIComponent(id)}/${encodeURIComponent(builder)}/log`, { notFound: `no report of builder ${builder} for suggestion ${id}` });
  if (!out.terminal) {
    out.bytes(log);
    return 0;
  }
  const text = terminalText(log.toString('utf8'), out.colour);
  // A log that does not end its last line would leave the shell's prompt on it.
  out.write(text && !text.endsWith('\n') ? `${text}${text.includes('\x1b[') ? '\x1b[0m' : ''}\n` : text);
  return 0;
}
