import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listProjects, resolveScript } from '../../lib/builder/buildscripts.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

describe('resolveScript', () => {
  it('finds an executable inside the dir, and refuses names, escapes, non-executables and scripts other users can change', async () => {
    const d = tempDir();
    const s = join(d, 'scripts');
    mkdirSync(s);
    writeFileSync(join(s, 'ok'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(s, 'plain'), 'x', { mode: 0o644 });
    writeFileSync(join(s, 'shared'), '#!/bin/sh\n');
    chmodSync(join(s, 'shared'), 0o775);
    writeFileSync(join(d, 'outside'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync(join(d, 'outside'), join(s, 'escape'));
    expect(resolveScript(s, 'ok')).toEqual({ ok: true, path: join(s, 'ok') });
    expect(resolveScript(s, 'plain')).toEqual({ ok: false, problem: 'build script plain is not executable' });
    expect(resolveScript(s, 'escape')).toEqual({ ok: false, problem: 'build script escape resolves outside the buildscripts dir' });
    expect(resolveScript(s, '../x')).toMatchObject({ ok: false });
    expect(resolveScript(s, 'shared')).toEqual({ ok: false, problem: `build script shared is not run: ${join(s, 'shared')} is writable by other users (mode 0775): chmod go-w it` });
    expect(await listProjects(s)).toEqual(['ok']);
  });
});
