// Where the simplebb command prints: one JSON object per line for scripts, or text for people, neutralised and
// coloured only as the terminal allows.

/** What a command prints to, and how. */
export interface Output {
  /** One JSON object per line instead of tables (--json). */
  json: boolean;
  /** stdout is a terminal: a build's log is shown with its control sequences made visible. */
  terminal: boolean;
  /** Colour is on: a terminal, and no NO_COLOR. */
  colour: boolean;
  /** Writes text as it is (callers have made it printable). */
  write: (text: string) => void;
  /** Writes bytes as they are (a log to a pipe or a file). */
  bytes: (data: Uint8Array) => void;
}

// Characters JSON.stringify leaves raw that a terminal may act on or that hide text: C1 controls (U+009B is a
// one-byte CSI), bidi embeddings, overrides and isolates, zero-width characters, line separators and the BOM.
const RAW_IN_JSON = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** `value` as one line of JSON in which every control, bidi and invisible character is a \u escape: the same value, safe to print. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** `value` with `type` as its first field (what kind of line it is), whatever `value` itself holds. */
export function tagged(type: string, value: object): Record<string, unknown> {
  return Object.assign({ type }, value, { type });
}
