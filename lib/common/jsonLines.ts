// Where in a JSON text a value is: the line of the value at a path (what a schema's issue names), and where and
// why a text is not JSON, so that a configuration file's error says which line to look at.

/** The 1-based line of character `at` in `text`. */
export function lineAt(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Where `text` stops being JSON, for a JSON.parse failure (whose message names a position only sometimes, and then
 * with a snippet of the text in it): the line and what was expected there. Undefined if `text` is JSON.
 */
export function syntaxError(text: string): { line: number; message: string } | undefined {
  let i = 0;
  const fail = (what: string): never => {
    const found = i >= text.length ? 'the end of the file' : JSON.stringify(text.slice(i, i + 12).split('\n')[0]);
    throw Object.assign(new Error(`expected ${what}, found ${found}`), { at: i });
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = (): void => {
    if (text[i] !== '"') fail('a string in double quotes');
    for (i++; ; i++) {
      const c = text.charCodeAt(i);
      if (i >= text.length || c < 0x20) fail('the string\'s closing quote');
      if (c === 0x22) return void i++;
      if (c === 0x5c) {
        i++;
        if (text[i] === 'u' ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5)) : !'"\\/bfnrt'.includes(text[i] ?? 'x')) fail('an escape such as \\n or \\u00e9');
        if (text[i] === 'u') i += 4;
      }
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          string();
          ws();
          if (text[i] !== ':') fail('":" after the key');
          i++;
        }
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) return void i++;
        fail(`"," or "${close}"`);
      }
    }
    if (c === '"') return string();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail('a value (a string, number, object, array, true, false or null)');
    i += m![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail('the end of the file after the value');
    return undefined;
  } catch (err) {
    return { line: lineAt(text, (err as { at: number }).at), message: (err as Error).message };
  }
}

/**
 * The line where the value at `path` begins in `text` (valid JSON), or, when the path goes deeper than the text,
 * the line of the deepest value it reaches. A small scanner: strings, numbers and literals are skipped, objects and
 * arrays are walked only along the path.
 */
export function lineOfPath(text: string, path: ReadonlyArray<PropertyKey>): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const skipString = (): string => {
    const start = i;
    i++; // the opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const skipValue = (): void => {
    ws();
    const c = text[i];
    if (c === '"') return void skipString();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      for (;;) {
        ws();
        if (text[i] === close) return void i++;
        if (c === '{') {
          skipString();
          ws();
          i++; // the colon
        }
        skipValue();
        ws();
        if (text[i] === ',') i++;
      }
    }
    while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
  };
  /** Moves to the start of member `key` of the object or array at i; false when it has none. */
  const enter = (key: PropertyKey): boolean => {
    ws();
    const c = text[i];
    if (c !== '{' && c !== '[') return false;
    i++;
    for (let index = 0; ; index++) {
      ws();
      if (text[i] === '}' || text[i] === ']' || i >= text.length) return false;
      let here: PropertyKey = index;
      if (c === '{') {
        here = skipString();
        ws();
        i++;
        ws();
      }
      if (String(here) === String(key)) return true;
      skipValue();
      ws();
      if (text[i] === ',') i++;
    }
  };
  ws();
  for (const key of path) {
    const before = i;
    if (!enter(key)) {
      i = before;
      break;
    }
  }
  ws();
  return lineAt(text, i);
}
