// Reading git's post-receive input: one "OLD NEW REF" line per updated ref.

export interface RefUpdate {
  branch: string;
  revision: string;
}

const ZERO = /^0+$/;

/** The branches created or updated by a push; deletions, tags and other refs are skipped. Throws on a malformed line. */
export function parsePostReceive(input: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  input.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 3 || !/^[0-9a-f]{4,64}$/i.test(parts[0]!) || !/^[0-9a-f]{4,64}$/i.test(parts[1]!)) {
      throw new Error(`post-receive line ${i + 1} is not "OLD NEW REF": ${JSON.stringify(line.slice(0, 100))}`);
    }
    const [, next, ref] = parts as [string, string, string];
    if (ZERO.test(next) || !ref.startsWith('refs/heads/')) return;
    updates.push({ branch: ref.slice('refs/heads/'.length), revision: next });
  });
  return updates;
}
