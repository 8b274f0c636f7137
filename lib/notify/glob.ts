// Name patterns in notification rules: `*` for any run of characters (slashes too), `?` for one, everything else literal.

/** A matcher for `pattern`; `*` alone matches every name. */
export function glob(pattern: string): (name: string) => boolean {
  if (pattern === '*') return () => true;
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  const re = new RegExp(`^${source}$`, 's');
  return (name) => re.test(name);
}

/** A matcher for any of `patterns`; none given: every name. */
export function anyGlob(patterns: readonly string[] | undefined): (name: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const each = patterns.map(glob);
  return (name) => each.some((m) => m(name));
}
