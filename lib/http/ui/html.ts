// HTML built from tagged templates: every interpolated value is escaped unless it is already Html, so a page cannot
// carry markup that did not come from a template in this folder.

/** Markup known to be safe: made by `html`, `raw` or `join`, never from a string that came from outside. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The one escape function: text to HTML text or attribute value (always quote attributes). */
export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escape(String(v));
}

/** The template tag: `html\`<td>${name}</td>\`` escapes `name`; Html and arrays of Html pass through as they are. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup this folder made by other means (the log renderer, the trend's SVG numbers); never text from outside. */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** A URL path segment: escaped for the path, then (by the template) for the attribute. */
export function seg(text: string): string {
  return encodeURIComponent(text);
}

/** A query string from the parameters that are set, `?a=1&b=2`, or '' when none is. */
export function query(params: Record<string, string | undefined>): string {
  const set = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');
  return set.length === 0 ? '' : `?${new URLSearchParams(set).toString()}`;
}
