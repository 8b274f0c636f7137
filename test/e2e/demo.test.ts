// `npm run demo`, the README's first command after the install: it runs a farm, builds foo and bar, shows them
// through the API with `simplebb status`, and cleans up after itself.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIST, spawnProc } from '../helpers.js';
import { join } from 'node:path';

describe('the demo', () => {
  it('ends with "demo ok", the farm\'s state from its API, and exit 0, leaving nothing behind', async () => {
    const p = spawnProc(process.execPath, [join(DIST, 'scripts', 'demo.js')]);
    const r = await Promise.race([p.exited, new Promise<null>((res) => setTimeout(() => res(null), 30_000))]);
    expect(r, p.stdout()).not.toBeNull();
    expect(r!.code, p.stdout() + p.stderr()).toBe(0);
    const out = p.stdout();
    expect(out).toContain('demo ok: foo succeeded, bar failed as it should');
    expect(out).toMatch(/^bar +dev +demo-builder +failure/m);
    expect(out).toMatch(/^the board: http:\/\/127\.0\.0\.1:\d+\/ \(the API: /m);
    const dir = /files in (\S+)/.exec(out)![1]!;
    expect(existsSync(dir)).toBe(false);
  });
});
