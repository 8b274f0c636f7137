// The operator files in examples/: the pm2 file refuses a root pm2 (clientd would refuse to run), and the systemd
// units do not restart a daemon that exits on its configuration; the notify example is a file the master takes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNotifyConfig } from '../lib/masterd/notifyConfig.js';
import { ROOT } from './helpers.js';

const PM2 = join(ROOT, 'examples', 'pm2', 'ecosystem.config.cjs');
/** Loads the pm2 file as pm2 would, in a fresh process; its app names, or the error it throws. */
const load = (env: NodeJS.ProcessEnv): string => execFileSync(process.execPath, ['-e', `try { console.log(require(${JSON.stringify(PM2)}).apps.map((a) => a.name).join(',')) } catch (e) { console.log('error: ' + e.message) }`], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();

describe('examples', () => {
  it('the pm2 file refuses a root pm2 unless SIMPLEBB_ALLOW_ROOT, and otherwise lists both daemons', () => {
    const asRoot = process.getuid?.() === 0;
    const plain = load({ SIMPLEBB_ALLOW_ROOT: '' });
    if (asRoot) expect(plain).toBe('error: simplebb: run pm2 as an unprivileged user: simplebb-clientd refuses to run builds as root (or set SIMPLEBB_ALLOW_ROOT=1 in a throwaway container)');
    else expect(plain).toBe('simplebb-masterd,simplebb-clientd');
    expect(load({ SIMPLEBB_ALLOW_ROOT: '1' })).toBe('simplebb-masterd,simplebb-clientd');
    expect(readFileSync(PM2, 'utf8')).toMatch(/stop_exit_codes: \[2, 78\]/);
  });

  it.each(['simplebb-masterd', 'simplebb-clientd'])('the %s unit does not restart on exit 2 or 78', (unit) => {
    expect(readFileSync(join(ROOT, 'examples', 'systemd', `${unit}.service`), 'utf8')).toMatch(/^RestartPreventExitStatus=2 78$/m);
  });

  it('the notify example is a valid --notify file and its after-script is executable', () => {
    const config = readNotifyConfig(join(ROOT, 'examples', 'notify', 'notify.json'), () => undefined);
    expect(config.rules.map((r) => `${r.name}>${r.sink}`)).toEqual(['main>team', 'chat>chat', 'record>record']);
    expect(config.sinks.get('record')).toMatchObject({ type: 'script', dir: join(ROOT, 'examples', 'notify', 'after'), name: 'record-transition' });
  });
});
