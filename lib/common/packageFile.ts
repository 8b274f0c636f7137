// Files shipped in the package (beside lib/, found from the source or from dist/ at any depth): package.json for the
// version, the pages' static files.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the nearest package.json named simplebb above this module; undefined outside the package. */
export function packageRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'simplebb') return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The text of `path` (relative to the package's root, e.g. lib/http/ui/static/simplebb.css). */
export function packageFile(path: string): string {
  const root = packageRoot();
  if (root === undefined) throw new Error('no package.json named simplebb above lib/common');
  return readFileSync(join(root, path), 'utf8');
}
