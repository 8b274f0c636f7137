// Reading a list of the API page by page: `next` cursors are followed until enough items are in or the list ends.
import type { Api } from './api.js';
import { pageIn } from './shapes.js';

/** The largest page the API gives (its `limit` is 1 to 500). */
export const MAX_PAGE = 500;

/** Up to `limit` items of the list `key` at `path`, newest first as the API orders them; `more` when the list went on. */
export async function collect<T>(api: Api, path: string, key: string, query: Record<string, string | undefined>, limit: number): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = pageIn<T>(await api.json(path, { query: { ...query, limit: String(Math.min(MAX_PAGE, limit - items.length)), cursor } }), key, path);
    items.push(...page.items.slice(0, limit - items.length));
    // A cursor seen before, or a page that brought nothing, would go round for ever: the list ends there.
    if (!page.next || seen.has(page.next) || !page.items.length) return { items, more: false };
    if (items.length >= limit) return { items, more: true };
    seen.add(page.next);
    cursor = page.next;
  }
}
