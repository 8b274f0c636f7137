// How deeply a line's JSON nests, found before JSON.parse: a line of 500,000 brackets is valid JSON that takes V8
// a third of a second to parse, and no message of the protocol nests deeper than three levels.
import { MAX_NESTING } from '../protocol/limits.js';

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;

/** Whether the JSON in `line` nests deeper than MAX_NESTING; brackets inside strings do not count. */
export function nestsTooDeep(line: Buffer, max = MAX_NESTING): boolean {
  // Fewer opening brackets than the limit cannot nest deeper than it: counted natively, this is every normal line.
  let openers = 0;
  for (const b of [OPEN_ARRAY, OPEN_OBJECT]) {
    for (let i = line.indexOf(b); i !== -1 && openers <= max; i = line.indexOf(b, i + 1)) openers++;
  }
  if (openers <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
