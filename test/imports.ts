// Reading the imports of our TypeScript files, for the tests of which room may import which and what each program loads.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './helpers.js';

export interface Import { spec: string; typeOnly: boolean }

/** The imports of one TypeScript file: static, re-exports and dynamic, with whether each brings only types. */
export function importsOf(text: string): Import[] {
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

export type Tree = Map<string, Import[]>;

/** The file (relative to the repository, .ts) that `spec`, imported from `from`, names. */
export function resolveSpec(from: string, spec: string): string {
  return relative(ROOT, resolve(ROOT, dirname(from), spec)).replace(/\.js$/, '.ts');
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

/** The imports of every file in lib/ and of the four programs. */
export function readTree(): Tree {
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
  for (const f of ['masterd.ts', 'clientd.ts', 'suggest.ts', 'simplebb.ts']) add(f);
  return tree;
}

