// The JSON line locator against an oracle: the value at a path replaced by a marker is found on the line the locator names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineOfPath, syntaxError } from '../../lib/common/jsonLines.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into `v`, the root's included. */
function paths(v: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const here = [at];
  if (Array.isArray(v)) return here.concat(...v.map((x, i) => paths(x, [...at, i])));
  if (v && typeof v === 'object') return here.concat(...Object.entries(v).map(([k, x]) => paths(x, [...at, k])));
  return here;
}

function replaced(v: Json, path: Array<string | number>, by: Json): Json {
  if (path.length === 0) return by;
  const [k, ...rest] = path;
  if (Array.isArray(v)) return v.map((x, i) => (i === k ? replaced(x, rest, by) : x));
  const o = v as { [k: string]: Json };
  return Object.fromEntries(Object.entries(o).map(([key, x]) => [key, key === k ? replaced(x, rest, by) : x]));
}

const MARK = '\u0000mark\u0000';

describe('lineOfPath', () => {
  it('names the line where the value at a path begins, in any layout JSON.stringify makes', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(0, 1, 2, '\t'), fc.nat(), (raw, indent, pick) => {
      const v = JSON.parse(JSON.stringify(raw)) as Json; // -0 and the like as JSON has them
      const all = paths(v);
      const path = all[pick % all.length]!;
      const text = JSON.stringify(v, null, indent);
      const marked = JSON.stringify(replaced(v, path, MARK), null, indent);
      const want = marked.slice(0, marked.indexOf(JSON.stringify(MARK))).split('\n').length;
      return lineOfPath(text, path) === want;
    }), { numRuns: 300 });
  });

  it('stops at the deepest value a path reaches (a missing key names its object)', () => {
    const text = '{\n  "forges": {\n    "github": {}\n  },\n  "repositories": [\n    {"repository": "a"},\n    {"x": 1}\n  ]\n}';
    expect(lineOfPath(text, ['repositories', 1, 'x'])).toBe(7);
    expect(lineOfPath(text, ['forges', 'bitbucket'])).toBe(2);
    expect(lineOfPath(text, ['forges', 'github', 'secretFile'])).toBe(3);
    expect(lineOfPath(text, [])).toBe(1);
  });
});

describe('syntaxError', () => {
  it('agrees with JSON.parse on what is JSON, for any text made of JSON with a character changed', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.constantFrom(',', '}', ']', '"', ':', 'x', '1', ' ', '\\', '{', '\n'), (v, at, c) => {
      const good = JSON.stringify(v, null, 1);
      const k = at % (good.length + 1);
      const text = good.slice(0, k) + c + good.slice(k + 1);
      let json = true;
      try { JSON.parse(text); } catch { json = false; }
      return (syntaxError(text) === undefined) === json;
    }), { numRuns: 500 });
  });

  it('names the line and what was expected there', () => {
    expect(syntaxError('{\n  "a": 1,\n  "b": ,\n}')).toEqual({ line: 3, message: 'expected a value (a string, number, object, array, true, false or null), found ","' });
    expect(syntaxError('{\n  "a": 1\n  "b": 2\n}')).toEqual({ line: 3, message: 'expected "," or "}", found "\\"b\\": 2"' });
    expect(syntaxError('{"a": 1')).toEqual({ line: 1, message: 'expected "," or "}", found the end of the file' });
    expect(syntaxError('{"a": 1}')).toBeUndefined();
  });
});
