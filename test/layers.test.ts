// Which room may import which (README's code map): read from every file's imports, so the layout is a guarantee, not a habit.
import { describe, expect, it } from 'vitest';
import { readTree, resolveSpec, type Tree } from './imports.js';

const ROOMS = ['common', 'protocol', 'wire', 'exec', 'store', 'master', 'builder', 'suggest', 'cli', 'http', 'masterd', 'forges', 'notify'] as const;
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
  // The simplebb command talks HTTP with the global fetch: no wire, and of simplebb-suggest only the neutralising of text.
  cli: { rooms: ['protocol', 'common'], files: ['lib/suggest/printable.ts', 'lib/forges/forge.ts'] },
  // What forges send and how it is checked: pure, no sockets or disk; the master's inbox and the HTTP routes use it.
  forges: { rooms: ['protocol', 'common'] },
  // The web side is an adapter over the master's facade and events and the record's read side, never a store implementation.
  http: { rooms: ['master', 'protocol', 'common'], files: ['lib/store/store.ts', 'lib/store/history.ts', 'lib/forges/forge.ts'] },
  // Subscribers that tell the outside world: the master's events and the record's outbox port, processes through exec.
  notify: { rooms: ['master', 'exec', 'protocol', 'common', 'forges'], files: ['lib/store/store.ts'] },
  masterd: { rooms: ['common', 'protocol', 'wire', 'exec', 'store', 'master', 'http', 'forges', 'notify'] },
};

/** Node modules a room must not touch: the master's decisions stay free of sockets, disk, processes and HTTP. */
const NEVER: Partial<Record<Room, string[]>> = {
  master: ['node:net', 'node:tls', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:http', 'node:https', 'node:dgram', 'better-sqlite3', 'pino'],
  protocol: ['node:net', 'node:tls', 'node:fs', 'node:child_process', 'pino'],
  store: ['node:net', 'node:tls', 'node:child_process'],
  http: ['node:fs', 'node:fs/promises', 'node:child_process', 'better-sqlite3'],
  forges: ['node:net', 'node:tls', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:http', 'node:https', 'better-sqlite3', 'pino'],  // After-scripts run through exec (one group, a timeout, the tree killed); the outbox is reached through the store port.
  notify: ['node:child_process', 'better-sqlite3'],
};

/** Files loaded at run time only for their types: zod is the master's, and builders and suggesters never load it. */
const TYPES_ONLY_OUTSIDE_MASTER = ['lib/protocol/messages.ts'];

function roomOf(file: string): Room | undefined {
  const m = /^lib\/([^/]+)\//.exec(file);
  return m && (ROOMS as readonly string[]).includes(m[1]!) ? (m[1] as Room) : undefined;
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
      if (TYPES_ONLY_OUTSIDE_MASTER.includes(target) && !imp.typeOnly && room !== 'masterd' && room !== 'master' && room !== 'http' && room !== 'protocol') {
        out.push(`${file} (${room}) loads ${target} (zod) at run time`);
      }
    }
  }
  return out;
}

describe('the rooms of lib/', () => {
  const tree = readTree();

  it('has every file in a room', () => {
    expect([...tree.keys()].filter((f) => f.startsWith('lib/') && !roomOf(f))).toEqual([]);
  });

  it('imports only what the table allows', () => {
    expect(violations(tree)).toEqual([]);
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
  });
});
