// Builder labels: the rules for their names and values, the `KEY=VALUE` text form, and the labels a builder's scripts give it.
// No dependencies: clientd's flags, the master's schemas and simplebb-suggest's selectors all use it.

/** A label's name: a letter or digit, then letters, digits, ".", "_", "-", ":" or "/" (`script:foo`, `example.com/pool`). */
export const LABEL_NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
export const LABEL_NAME_TEXT = 'a label name must be 1 to 64 letters, digits, ".", "_", "-", ":" or "/", starting with a letter or digit';
/** A label's value: printable without quotes in a selector, so `os=linux` needs no escaping anywhere. */
export const LABEL_VALUE_RULE = /^[A-Za-z0-9._:/+-]{1,128}$/;
export const LABEL_VALUE_TEXT = 'a label value must be 1 to 128 letters, digits, ".", "_", "-", "+", ":" or "/"';
/** The most labels one builder may give itself (besides `script:*`): enough for any pool/zone scheme, small on the wire. */
export const MAX_LABELS = 64;
/** The prefix of the labels a builder has one of per buildscript: `script:foo=true`. */
export const SCRIPT_PREFIX = 'script:';

export type Labels = Record<string, string>;

/** Returns null when `name` is a valid label name, else the rule it breaks. */
export function labelNameProblem(name: string): string | null {
  return LABEL_NAME_RULE.test(name) ? null : LABEL_NAME_TEXT;
}

/** Returns null when `value` is a valid label value, else the rule it breaks. */
export function labelValueProblem(value: string): string | null {
  return LABEL_VALUE_RULE.test(value) ? null : LABEL_VALUE_TEXT;
}

/** What is wrong with a whole set of labels (their number, a name, a value), or null. */
export function labelsProblem(labels: Labels): string | null {
  const names = Object.keys(labels);
  if (names.length > MAX_LABELS) return `at most ${MAX_LABELS} labels, got ${names.length}`;
  for (const n of names) {
    const p = labelNameProblem(n) ?? (n.startsWith(SCRIPT_PREFIX) ? `${n}: script: labels come from the buildscripts dir` : null);
    if (p) return `label ${JSON.stringify(n.slice(0, 64))}: ${p}`;
    const v = labels[n]!;
    const q = typeof v === 'string' ? labelValueProblem(v) : 'a label value must be a string';
    if (q) return `label ${n}: ${q}`;
  }
  return null;
}

/** Parses one `KEY=VALUE`; throws one line naming what is wrong. */
export function parseLabel(text: string): [string, string] {
  const shown = JSON.stringify(text.slice(0, 80));
  const at = text.indexOf('=');
  if (at < 0) throw new Error(`label ${shown} is not KEY=VALUE`);
  const name = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  const p = labelNameProblem(name) ?? (name.startsWith(SCRIPT_PREFIX) ? 'script: labels come from the buildscripts dir, one per script' : null);
  if (p) throw new Error(`label ${shown}: ${p}`);
  const q = labelValueProblem(value);
  if (q) throw new Error(`label ${shown}: ${q}`);
  return [name, value];
}

/** Parses `k=v,k=v` (SIMPLEBB_LABELS) and repeated `--label k=v` into one set; a later one of a name wins. */
export function parseLabels(list: string | undefined, flags: readonly string[] = []): Labels {
  const labels: Labels = {};
  const items = [...(list ? list.split(',').filter((s) => s.trim() !== '') : []), ...flags];
  for (const item of items) {
    const [k, v] = parseLabel(item);
    labels[k] = v;
  }
  if (Object.keys(labels).length > MAX_LABELS) throw new Error(`at most ${MAX_LABELS} labels, got ${Object.keys(labels).length}`);
  return labels;
}

/** A builder's labels as selectors see them: its own and discovered ones, and `script:NAME=true` per buildscript. */
export function withScripts(labels: Labels, projects: Iterable<string>): Labels {
  const all: Labels = { ...labels };
  for (const p of projects) all[`${SCRIPT_PREFIX}${p}`] = 'true';
  return all;
}

/** `k=v k=v`, sorted by name, for logs and tables. */
export function formatLabels(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(' ');
}
