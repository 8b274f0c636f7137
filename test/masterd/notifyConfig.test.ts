// The notify file's suggesterMail: the mail sink suggesters' own addresses are mailed with, refused unless it names one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readNotifyConfig } from '../../lib/masterd/notifyConfig.js';
import { cleanup, tempDir } from '../helpers.js';

afterEach(cleanup);

const MAIL = { type: 'mail', url: 'smtp://127.0.0.1:2525', from: 'ci@example.org', to: ['team@example.org'] };

function read(config: unknown): ReturnType<typeof readNotifyConfig> {
  const file = join(tempDir(), 'notify.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return readNotifyConfig(file, () => {});
}

describe('suggesterMail in the notify file', () => {
  it('names a mail sink; with it no rule is needed', () => {
    const c = read({ sinks: { team: MAIL }, suggesterMail: 'team' });
    expect(c.suggesterMail).toBe('team');
    expect(c.rules).toEqual([]);
    expect(read({ sinks: { team: MAIL }, rules: [{ when: ['broken'], sink: 'team' }] }).suggesterMail).toBeUndefined();
  });

  it('refuses a name that is no mail sink, and a file with neither rules nor suggesterMail, naming the field', () => {
    const hook = { type: 'script', dir: '/bin', name: 'sh' };
    expect(() => read({ sinks: { team: MAIL }, suggesterMail: 'nope' })).toThrow(/line 12: suggesterMail: "nope" is not a mail sink \(mail sinks: team\)$/);
    expect(() => read({ sinks: { team: MAIL, run: hook }, suggesterMail: 'run' })).toThrow(/suggesterMail: "run" is not a mail sink \(mail sinks: team\)$/);
    expect(() => read({ sinks: { team: MAIL } })).toThrow(/rules: needs at least one rule \(or suggesterMail\)$/);
  });
});
