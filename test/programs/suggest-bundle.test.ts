// simplebb-suggest runs on every git push, so `npm run build` bundles it (scripts/bundle-suggest.mjs): one file to
// read and compile, builtins taken without ESM namespaces, node:crypto and node:tls only when a token or --tls asks.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST, ROOT } from '../helpers.js';

const main = readFileSync(join(DIST, 'suggest.js'), 'utf8');
/** The builtins the bundle takes as it loads: the `const {...} = process.getBuiltinModule("node:x")` lines at its top. */
const atLoad = [...main.matchAll(/^const [^=]+= process\.getBuiltinModule\("(node:[\w/]+)"\);$/gm)].map((m) => m[1]);

describe('the simplebb-suggest bundle', () => {
  it('holds our code itself: no import of a file under lib/, no ESM import of a builtin', () => {
    expect(main.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(main).not.toMatch(/from ["']\.\/lib\//);
    expect(main).not.toMatch(/import\(["']\.\/lib\//);
    expect(main).not.toMatch(/^import .* from ["']node:/m);
    expect(main).toContain('function runSuggest');
  });

  it('loads net, fs, util and events at start, crypto and tls only when asked', () => {
    expect(new Set(atLoad)).toEqual(new Set(['node:util', 'node:fs', 'node:net', 'node:events']));
    expect(main).not.toContain('node:crypto');
    const chunks = readdirSync(join(DIST, 'suggest-chunks'));
    const auth = chunks.find((f) => readFileSync(join(DIST, 'suggest-chunks', f), 'utf8').includes('createHmac'));
    expect(auth, 'a chunk holds the HMAC proof').toBeDefined();
    expect(main).toContain(`./suggest-chunks/${auth}`);
  });

  it('loads the DNS-SD search (multicast-dns, node:dgram) only with -H auto, from a chunk of its own', () => {
    expect(main).not.toMatch(/multicast-dns|node:dgram/);
    const chunks = readdirSync(join(DIST, 'suggest-chunks'));
    const text = (f: string): string => readFileSync(join(DIST, 'suggest-chunks', f), 'utf8');
    const search = chunks.filter((f) => text(f).includes('from "multicast-dns"'));
    expect(search, 'one chunk imports multicast-dns').toHaveLength(1);
    // Reached only by import(): from the main file, or from a chunk the main file itself imports only that way.
    const importers = chunks.filter((f) => text(f).includes(search[0]!));
    expect(importers.length).toBeGreaterThan(0);
    for (const f of importers) {
      expect(text(f)).toContain(`import("./${search[0]}")`);
      expect(main).toContain(`import("./suggest-chunks/${f}")`);
      expect(main).not.toMatch(new RegExp(`from "\\./suggest-chunks/${f.replace(/[.]/g, '\\.')}"`));
    }
  });

  it('runs: prints the package version from its chunk', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync(process.execPath, [join(DIST, 'suggest.js'), '--version'], { encoding: 'utf8', timeout: 10_000 }).trim()).toBe(pkg.version);
  });
});
