// The pages' own CSS and JS stay within the issue's budget: all of it under 50 KiB gzipped, served from the master.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadAssets } from '../../lib/http/ui/assets.js';

/** The budget for every page's CSS and JS together, compressed as a browser would get it. */
const BUDGET = 50 * 1024;

describe('the pages\' static files', () => {
  it('are all CSS or JS, together under 50 KiB gzipped', () => {
    const assets = [...loadAssets().values()];
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) expect(a.type).toMatch(/^text\/(css|javascript);/);
    expect(gzipSync(assets.map((a) => a.body).join('')).length).toBeLessThan(BUDGET);
  });
});
