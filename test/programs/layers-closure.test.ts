// What each program loads at run time, followed through its value imports: the start-up figures depend on it.
import { describe, expect, it } from 'vitest';
import { closure, readTree } from '../imports.js';

describe('the programs\' import closures', () => {
  const tree = readTree();

  it('keeps zod, commander and pino out of simplebb-suggest, and SQLite and zod out of simplebb-clientd', () => {
    const suggest = closure(tree, 'suggest.ts');
    for (const p of ['zod', 'commander', 'pino', 'better-sqlite3', 'chokidar']) expect(suggest.has(p), `simplebb-suggest loads ${p}`).toBe(false);
    const clientd = closure(tree, 'clientd.ts');
    for (const p of ['zod', 'better-sqlite3']) expect(clientd.has(p), `simplebb-clientd loads ${p}`).toBe(false);
    expect(closure(tree, 'masterd.ts').has('zod')).toBe(true); // the walk does find what is there
  });

  it('keeps zod, commander and pino out of simplebb, which talks HTTP with the global fetch', () => {
    const cli = closure(tree, 'simplebb.ts');
    for (const p of ['zod', 'commander', 'pino', 'better-sqlite3', 'chokidar']) expect(cli.has(p), `simplebb loads ${p}`).toBe(false);
    expect([...cli].every((p) => p.startsWith('node:')), `simplebb loads only builtins, not ${[...cli].join(', ')}`).toBe(true);
  });

  it('follows value imports through our files and skips type-only ones', () => {
    expect([...closure(new Map([['a.ts', [{ spec: './b.js', typeOnly: false }]], ['b.ts', [{ spec: 'zod', typeOnly: false }, { spec: 'pino', typeOnly: true }]]]), 'a.ts')]).toEqual(['zod']);
  });
});
