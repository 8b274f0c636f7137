// docs/openapi.json and the server agree: every documented route exists, and every route the server has is documented.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

describe('docs/openapi.json', () => {
  it('documents exactly the routes lib/http/server.ts, hooks.ts, notifications.ts, where.ts, queue.ts and acting.ts serve', () => {
    const doc = JSON.parse(readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    const source = ['server.ts', 'hooks.ts', 'notifications.ts', 'where.ts', 'queue.ts', 'acting.ts'].map((f) => readFileSync(join(ROOT, 'lib', 'http', f), 'utf8')).join('\n');
    // /hooks/:forge is served by hooks.ts with --hooks and by server.ts's 404 without: one route.
    const served = [...new Set([...source.matchAll(/(?:app|scope)\.(get|post)\('([^']+)'/g)].map((m) => `${m[1]!.toUpperCase()} ${m[2]!}`))];
    // The badge route takes FILE and checks that it ends in .svg.
    const normalise = (r: string) => r.replace('/badge/:project.svg', '/badge/:file');
    expect(documented.map(normalise).sort()).toEqual(served.sort());
  });
});
