// Nothing runs outside the scripts dir: a hand-written master sends a real clientd hostile suggestions.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeMaster, script, startBuilder, tempDir, waitFor } from '../helpers.js';

afterEach(cleanup);

describe('clientd refuses to run anything outside its scripts dir', () => {
  it('turns away path-escaping names, symlinks out, non-executables and directories', async () => {
    const fm = await fakeMaster();
    const dir = tempDir();
    const outside = join(dir, 'outside');
    const pwned = join(dir, 'pwned');
    script(outside, 'evil', `touch ${pwned}`);
    const b = await startBuilder(fm.port, { dir, scripts: { ok: 'echo fine' } });
    symlinkSync(join(outside, 'evil'), join(b.scripts, 'linked'));
    writeFileSync(join(b.scripts, 'plain'), `#!/bin/sh\ntouch ${pwned}\n`, { mode: 0o644 });
    mkdirSync(join(b.scripts, 'adir'));
    const hostile = ['../outside/evil', '..', '.hidden', '-rf', 'a/b', '/bin/sh', `${outside}/evil`];
    hostile.forEach((project, i) => fm.order({ id: `h-${i}`, project, branch: 'main' }));
    ['linked', 'plain', 'adir'].forEach((project, i) => fm.order({ id: `s-${i}`, project, branch: 'main' }));
    fm.order({ id: 'ok-1', project: 'ok', branch: 'main' });
    await waitFor('the good build and three refusals', () => fm.received.filter((m) => m.type === 'report').length >= 4);
    const reports = fm.received.filter((m) => m.type === 'report');
    const byId = Object.fromEntries(reports.map((r) => [r.id, r]));
    expect(byId['ok-1']).toMatchObject({ verdict: 'success' });
    expect(byId['s-0']).toMatchObject({ verdict: 'no-script', exitCode: -1, message: 'build script linked resolves outside the buildscripts dir' });
    expect(byId['s-1']).toMatchObject({ verdict: 'no-script', message: 'build script plain is not executable' });
    expect(byId['s-2']).toMatchObject({ verdict: 'no-script', message: 'build script adir is not a regular file' });
    // The hostile names never get past the protocol check: logged as invalid lines, no report, nothing run.
    expect(reports.filter((r) => String(r.id).startsWith('h-'))).toEqual([]);
    expect(b.log().filter((l) => l.event === 'invalid')).toHaveLength(hostile.length);
    expect(existsSync(pwned)).toBe(false);
    expect(b.log().filter((l) => l.event === 'started').map((l) => l.project)).toEqual(['ok']);
    await fm.close();
  });
});
