// Selectors over builder labels (`os=linux && arch in (x64,arm64) && mem>=8 && !pool=flaky`): parse, print, match, explain a miss.
// No dependencies: simplebb-suggest checks `--on` with it before it connects.

/** The longest selector taken: far beyond any hand-written one, small beside a line. */
export const MAX_SELECTOR_CHARS = 4096;
/** How deeply `(` and `!` may nest: the parser recurses once per level, and a hostile selector must not exhaust the stack. */
export const MAX_SELECTOR_DEPTH = 64;

export type CompareOp = '<' | '<=' | '>' | '>=';

/** A parsed selector. `has` is a bare name: the label is there, whatever its value. */
export type Selector =
  | { kind: 'or'; left: Selector; right: Selector }
  | { kind: 'and'; left: Selector; right: Selector }
  | { kind: 'not'; of: Selector }
  | { kind: 'has'; name: string }
  | { kind: 'eq'; name: string; value: string }
  | { kind: 'ne'; name: string; value: string }
  | { kind: 'in'; name: string; values: string[] }
  | { kind: 'cmp'; name: string; op: CompareOp; value: number };

/** A selector that does not parse: `column` is 1-based, counted in characters of the text given. */
export class SelectorError extends Error {
  constructor(readonly column: number, readonly problem: string) {
    super(`selector: column ${column}: ${problem}`);
  }
}

/** The characters of a name or a value (labels.ts's rules allow no others, so no quoting is ever needed). */
const WORD = /[A-Za-z0-9._:/+-]/;
const NUMBER = /^-?\d+(\.\d+)?$/;

type Token =
  | { t: 'word'; text: string; at: number }
  | { t: 'op'; text: '&&' | '||' | '!' | '(' | ')' | ',' | '=' | '!=' | '<' | '<=' | '>' | '>='; at: number }
  | { t: 'end'; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') { i++; continue; }
    const two = text.slice(i, i + 2);
    if (two === '&&' || two === '||' || two === '!=' || two === '<=' || two === '>=') {
      tokens.push({ t: 'op', text: two, at: i + 1 });
      i += 2;
      continue;
    }
    if (c === '!' || c === '(' || c === ')' || c === ',' || c === '=' || c === '<' || c === '>') {
      tokens.push({ t: 'op', text: c, at: i + 1 });
      i++;
      continue;
    }
    if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text[i]!)) i++;
      tokens.push({ t: 'word', text: text.slice(start, i), at: start + 1 });
      continue;
    }
    if (c === '&' || c === '|') throw new SelectorError(i + 1, `"${c}" alone: write "${c}${c}"`);
    throw new SelectorError(i + 1, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ t: 'end', at: text.length + 1 });
  return tokens;
}

const shown = (tok: Token): string => (tok.t === 'end' ? 'the end' : `"${tok.text}"`);

/** Parses a selector; throws a SelectorError naming the column of the first thing that is wrong. */
export function parseSelector(text: string): Selector {
  if (text.length > MAX_SELECTOR_CHARS) throw new SelectorError(MAX_SELECTOR_CHARS + 1, `longer than ${MAX_SELECTOR_CHARS} characters`);
  const tokens = tokenize(text);
  if (tokens.length === 1) throw new SelectorError(1, 'the selector is empty');
  let p = 0;
  const peek = (): Token => tokens[p]!;
  const next = (): Token => tokens[p++]!;
  const isOp = (tok: Token, op: string): boolean => tok.t === 'op' && tok.text === op;

  const value = (after: string): string => {
    const tok = next();
    if (tok.t !== 'word') throw new SelectorError(tok.at, `expected a value after "${after}", got ${shown(tok)}`);
    return tok.text;
  };
  /** A chain of `sub`s joined by `op`, grouped to the left. */
  const chain = (kind: 'or' | 'and', op: '||' | '&&', sub: (depth: number) => Selector, depth: number): Selector => {
    let left = sub(depth);
    while (isOp(peek(), op)) {
      next();
      left = { kind, left, right: sub(depth) };
    }
    return left;
  };
  const or = (depth: number): Selector => chain('or', '||', and, depth);
  const and = (depth: number): Selector => chain('and', '&&', unary, depth);
  const unary = (depth: number): Selector => {
    const tok = peek();
    if (depth > MAX_SELECTOR_DEPTH) throw new SelectorError(tok.at, `nests deeper than ${MAX_SELECTOR_DEPTH} levels`);
    if (isOp(tok, '!')) {
      next();
      return { kind: 'not', of: unary(depth + 1) };
    }
    if (isOp(tok, '(')) {
      next();
      const inner = or(depth + 1);
      const close = next();
      if (!isOp(close, ')')) throw new SelectorError(close.at, `expected ")" to close the "(" at column ${tok.at}, got ${shown(close)}`);
      return inner;
    }
    return comparison();
  };
  const comparison = (): Selector => {
    const tok = next();
    if (tok.t !== 'word') throw new SelectorError(tok.at, `expected a label name, "!" or "(", got ${shown(tok)}`);
    const name = tok.text;
    if (!/^[A-Za-z0-9]/.test(name)) throw new SelectorError(tok.at, `a label name starts with a letter or digit, got "${name}"`);
    const op = peek();
    if (op.t === 'word' && op.text === 'in') {
      next();
      const open = next();
      if (!isOp(open, '(')) throw new SelectorError(open.at, `expected "(" after "in", got ${shown(open)}`);
      const values = [value('(')];
      for (;;) {
        const sep = next();
        if (isOp(sep, ')')) break;
        if (!isOp(sep, ',')) throw new SelectorError(sep.at, `expected "," or ")" in the list of "in", got ${shown(sep)}`);
        values.push(value(','));
      }
      return { kind: 'in', name, values };
    }
    if (op.t !== 'op' || !['=', '!=', '<', '<=', '>', '>='].includes(op.text)) {
      if (op.t === 'word') throw new SelectorError(op.at, `expected "=", "!=", "in", "<", "<=", ">", ">=", "&&" or "||" after "${name}", got ${shown(op)}`);
      return { kind: 'has', name };
    }
    next();
    const v = next();
    if (v.t !== 'word') throw new SelectorError(v.at, `expected a value after "${op.text}", got ${shown(v)}`);
    if (op.text === '=') return { kind: 'eq', name, value: v.text };
    if (op.text === '!=') return { kind: 'ne', name, value: v.text };
    if (!NUMBER.test(v.text)) throw new SelectorError(v.at, `"${op.text}" compares numbers, got "${v.text}"`);
    return { kind: 'cmp', name, op: op.text as CompareOp, value: Number(v.text) };
  };

  const tree = or(0);
  const rest = peek();
  if (rest.t !== 'end') throw new SelectorError(rest.at, `expected "&&", "||" or the end, got ${shown(rest)}`);
  return tree;
}

/** Returns null when `text` parses, else the one-line error. */
export function selectorProblem(text: string): string | null {
  try {
    parseSelector(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A selector as text that parses back to a selector with the same matches (and/or are printed flat, parentheses only where needed). */
export function printSelector(s: Selector): string {
  switch (s.kind) {
    case 'or': return `${printSelector(s.left)} || ${printSelector(s.right)}`;
    case 'and': return `${wrap(s.left, 'or')} && ${wrap(s.right, 'or')}`;
    case 'not': return `!${s.of.kind === 'and' || s.of.kind === 'or' ? `(${printSelector(s.of)})` : printSelector(s.of)}`;
    default: return atom(s);
  }
}

function wrap(s: Selector, kind: 'or'): string {
  return s.kind === kind ? `(${printSelector(s)})` : printSelector(s);
}

function atom(s: Selector): string {
  switch (s.kind) {
    case 'has': return s.name;
    case 'eq': return `${s.name}=${s.value}`;
    case 'ne': return `${s.name}!=${s.value}`;
    case 'in': return `${s.name} in (${s.values.join(',')})`;
    case 'cmp': return `${s.name}${s.op}${s.value}`;
    default: return printSelector(s);
  }
}

/** A label's value as a number, when it is one. */
function numeric(v: string | undefined): number | undefined {
  return v !== undefined && NUMBER.test(v) ? Number(v) : undefined;
}

/**
 * Whether labels match a selector. `k!=v` is `!(k=v)` (true for a builder without `k`); a comparison needs a
 * numeric value (a builder without `k`, or with a value that is not a number, does not match `k>=8`).
 */
export function matches(s: Selector, labels: Readonly<Record<string, string>>): boolean {
  switch (s.kind) {
    case 'or': return matches(s.left, labels) || matches(s.right, labels);
    case 'and': return matches(s.left, labels) && matches(s.right, labels);
    case 'not': return !matches(s.of, labels);
    case 'has': return Object.hasOwn(labels, s.name);
    case 'eq': return Object.hasOwn(labels, s.name) && labels[s.name] === s.value;
    case 'ne': return !(Object.hasOwn(labels, s.name) && labels[s.name] === s.value);
    case 'in': return Object.hasOwn(labels, s.name) && s.values.includes(labels[s.name]!);
    case 'cmp': {
      const n = numeric(Object.hasOwn(labels, s.name) ? labels[s.name] : undefined);
      if (n === undefined) return false;
      return s.op === '<' ? n < s.value : s.op === '<=' ? n <= s.value : s.op === '>' ? n > s.value : n >= s.value;
    }
  }
}

/** How far labels are from matching: how many comparisons would have to change (0 when they match). */
export function distance(s: Selector, labels: Readonly<Record<string, string>>): number {
  switch (s.kind) {
    case 'or': return Math.min(distance(s.left, labels), distance(s.right, labels));
    case 'and': return distance(s.left, labels) + distance(s.right, labels);
    default: return matches(s, labels) ? 0 : 1;
  }
}

const SCRIPT = 'script:';

/** What a builder has of a label, for a reason: ` (has arch=x64)` or ''. */
function having(name: string, labels: Readonly<Record<string, string>>): string {
  return Object.hasOwn(labels, name) ? ` (has ${name}=${labels[name]})` : '';
}

/** Why labels do not match `s`, in words after a builder's name ("lacks arch=arm64"); '' when they match. */
export function whyNot(s: Selector, labels: Readonly<Record<string, string>>): string {
  if (matches(s, labels)) return '';
  switch (s.kind) {
    case 'or': return `${whyNot(s.left, labels)} and ${whyNot(s.right, labels)}`;
    case 'and': return [s.left, s.right].map((x) => whyNot(x, labels)).filter(Boolean).join(', ');
    case 'not': return s.of.kind === 'and' || s.of.kind === 'or' ? `matches ${printSelector(s.of)}` : `has ${atom(s.of)}`;
    case 'has': return s.name.startsWith(SCRIPT) ? `has no script ${s.name.slice(SCRIPT.length)}` : `has no label ${s.name}`;
    case 'eq':
      if (s.name.startsWith(SCRIPT) && s.value === 'true') return `has no script ${s.name.slice(SCRIPT.length)}`;
      return `lacks ${atom(s)}${having(s.name, labels)}`;
    case 'ne': return `has ${s.name}=${s.value}`;
    default: return `lacks ${atom(s)}${having(s.name, labels)}`;
  }
}
