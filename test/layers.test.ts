// Which room may import which (docs: README's code map): read from every file's imports, so the layout is a guarantee, not a habit.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

interface Import { spec: string; typeOnly: boolean }

/** The imports of one TypeScript file: static, re-exports and dynamic, with whether each brings only types. */
function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const stat = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm;
  for (let m; (m = stat.exec(text));) {
    const names = m[3] ?? '';
    const allTypes = /^\{[^}]*\}$/.test(names.trim()) && names.replace(/[{}\s]/g, '').split(',').filter(Boolean).every((n) => n.startsWith('type'));
    out.push({ spec: m[4]!, typeOnly: Boolean(m[2]) || allTypes });
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

const ROOMS = ['common', 'protocol', 'wire', 'exec', 'store', 'master', 'builder', 'suggest', 'masterd'] as const;
type Room = (typeof ROOMS)[number];

/** Rooms each room may import from (besides itself), and single files of other rooms it may import. */
const MAY: Record<Room, { rooms: Room[]; files?: string[] }> = {
  common: { rooms: [] },
  protocol: { rooms: [] },
  wire: { rooms: ['protocol', 'common'] },
  exec: { rooms: ['protocol', 'common'] },
  store: { rooms: ['protocol', 'common'] },
  // The master's decisions see the record only through its interface (the port), never an implementation.
  master: { rooms: ['protocol', 'common'], files: ['lib/store/store.ts'] },
  builder: { rooms: ['protocol', 'wire', 'exec', 'common'] },
  suggest: { rooms: ['protocol', 'wire', 'common'] },
  masterd: { rooms: ['common', 'protocol', 'wire', 'exec', 'store', 'master'] },
};

/** Node modules a room must not touch: the master's decisions stay free of sockets, disk, processes and HTTP. */
const NEVER: Partial<Record<Room, string[]>> = {
  master: ['node:net', 'node:tls', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:http', 'node:https', 'node:dgram', 'better-sqlite3', 'pino'],
  protocol: ['node:net', 'node:tls', 'node:fs', 'node:child_process', 'pino'],
  store: ['node:net', 'node:tls', 'node:child_process'],
};

/** Files loaded at run time only for their types: zod is the master's, and builders and suggesters never load it. */
const TYPES_ONLY_OUTSIDE_MASTER = ['lib/protocol/messages.ts'];

export type Tree = Map<string, Import[]>;

function roomOf(file: string): Room | undefined {
  const m = /^lib\/([^/]+)\//.exec(file);
  return m && (ROOMS as readonly string[]).includes(m[1]!) ? (m[1] as Room) : undefined;
}

function resolveSpec(from: string, spec: string): string {
  return relative(ROOT, resolve(ROOT, dirname(from), spec)).replace(/\.js$/, '.ts');
}

/** Every import that breaks the table. */
export function violations(tree: Tree): string[] {
  const out: string[] = [];
  for (const [file, imports] of tree) {
    const room = roomOf(file);
    if (!room) continue;
    for (const imp of imports) {
      if (!imp.spec.startsWith('.')) {
        if (NEVER[room]?.includes(imp.spec) && !imp.typeOnly) out.push(`${file} (${room}) imports ${imp.spec}`);
        continue;
      }
      const target = resolveSpec(file, imp.spec);
      const to = roomOf(target);
      if (!to) {
        out.push(`${file} (${room}) imports ${target}, outside lib/`);
        continue;
      }
      if (to === room) continue;
      const rule = MAY[room];
      if (!rule.rooms.includes(to) && !rule.files?.includes(target)) out.push(`${file} (${room}) imports ${target} (${to})${imp.typeOnly ? ' for types' : ''}`);
      if (TYPES_ONLY_OUTSIDE_MASTER.includes(target) && !imp.typeOnly && room !== 'masterd' && room !== 'master' && room !== 'protocol') {
        out.push(`${file} (${room}) loads ${target} (zod) at run time`);
      }
    }
  }
  return out;
}

/** The packages a program loads at run time: its value imports followed through our files. */
export function closure(tree: Tree, entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of tree.get(file) ?? []) {
      if (imp.typeOnly) continue;
      if (imp.spec.startsWith('.')) walk(resolveSpec(file, imp.spec));
      else packages.add(imp.spec.split('/')[0]!.startsWith('@') ? imp.spec.split('/').slice(0, 2).join('/') : imp.spec.split('/')[0]!);
    }
  };
  walk(entry);
  return packages;
}

function readTree(): Tree {
  const tree: Tree = new Map();
  const add = (file: string): void => { tree.set(file, importsOf(readFileSync(join(ROOT, file), 'utf8'))); };
  const walk = (dir: string): void => {
    for (const f of readdirSync(join(ROOT, dir))) {
      const p = join(dir, f);
      if (statSync(join(ROOT, p)).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) add(p);
    }
  };
  walk('lib');
  for (const f of ['masterd.ts', 'clientd.ts', 'suggest.ts']) add(f);
  return tree;
}

describe('the rooms of lib/', () => {
  const tree = readTree();

  it('has every file in a room', () => {
    expect([...tree.keys()].filter((f) => f.startsWith('lib/') && !roomOf(f))).toEqual([]);
  });

  it('imports only what the table allows', () => {
    expect(violations(tree)).toEqual([]);
  });

  it('keeps zod, commander and pino out of simplebb-suggest, and SQLite and zod out of simplebb-clientd', () => {
    const suggest = closure(tree, 'suggest.ts');
    for (const p of ['zod', 'commander', 'pino', 'better-sqlite3', 'chokidar']) expect(suggest.has(p), `simplebb-suggest loads ${p}`).toBe(false);
    const clientd = closure(tree, 'clientd.ts');
    for (const p of ['zod', 'better-sqlite3']) expect(clientd.has(p), `simplebb-clientd loads ${p}`).toBe(false);
    expect(closure(tree, 'masterd.ts').has('zod')).toBe(true); // the walk does find what is there
  });

  it('finds a broken rule: a decision importing a socket, a store implementation, a wire piece; a client loading zod', () => {
    const bad: Tree = new Map([
      ['lib/master/x.ts', [{ spec: 'node:net', typeOnly: false }, { spec: '../store/sqlite.js', typeOnly: false }, { spec: '../wire/connection.js', typeOnly: false }, { spec: '../store/store.js', typeOnly: false }]],
      ['lib/builder/y.ts', [{ spec: '../protocol/messages.js', typeOnly: false }, { spec: '../master/relay.js', typeOnly: true }]],
      ['lib/common/z.ts', [{ spec: '../protocol/limits.js', typeOnly: false }]],
    ]);
    expect(violations(bad)).toEqual([
      'lib/master/x.ts (master) imports node:net',
      'lib/master/x.ts (master) imports lib/store/sqlite.ts (store)',
      'lib/master/x.ts (master) imports lib/wire/connection.ts (wire)',
      'lib/builder/y.ts (builder) loads lib/protocol/messages.ts (zod) at run time',
      'lib/builder/y.ts (builder) imports lib/master/relay.ts (master) for types',
      'lib/common/z.ts (common) imports lib/protocol/limits.ts (protocol)',
    ]);
    expect([...closure(new Map([['a.ts', [{ spec: './b.js', typeOnly: false }]], ['b.ts', [{ spec: 'zod', typeOnly: false }, { spec: 'pino', typeOnly: true }]]]), 'a.ts')]).toEqual(['zod']);
  });
});
