// The package version, read once from the package.json above this module (from lib/ in development, dist/lib/ when built).
import { existsSync, readFileSync } from 'node:fs';

function findVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'simplebb' && pkg.version) return pkg.version;
    }
  }
  return '0.0.0';
}

export const VERSION: string = findVersion();
