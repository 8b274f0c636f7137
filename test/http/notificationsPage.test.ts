// The notifications page: what needs a look (given up, or tried and waiting) apart from what was sent, each with its
// suggestion's link and last error, escaped; and what it says on a master without --notify.
import { describe, expect, it } from 'vitest';
import { notificationsPage } from '../../lib/http/ui/notifications.js';
import type { NotificationEntry } from '../../lib/store/store.js';

const NOW = 1_796_160_000_000;
const entry = (over: Partial<NotificationEntry>): NotificationEntry => ({
  id: 'mx57dlaa-ed4a46c20461:rule1', seq: 1, sink: 'team', rule: 'rule1', state: 'sent', attempts: 1, createdAt: NOW - 60_000, nextAt: NOW - 60_000, doneAt: NOW - 59_000, ...over,
});

describe('notificationsPage', () => {
  it('lists given-up and retried ones first with their last error, then the sent ones; every value escaped', async () => {
    const list = [
      entry({}),
      entry({ id: 'mx57dlbb-ed4a46c20462:chat:linux:failure', sink: 'chat', rule: 'chat', state: 'pending', attempts: 3, lastError: 'hooks.example.org answered 502: <html><script>x</script>', nextAt: NOW + 30_000 }),
      entry({ id: 'mx57dlcc-ed4a46c20463:rule1', state: 'failed', attempts: 40, lastError: 'cannot reach smtp: ECONNREFUSED', doneAt: NOW - 1000 }),
      entry({ id: 'mx57dldd-ed4a46c20464:rule1', state: 'pending', attempts: 0 }),
    ];
    const body = String(await notificationsPage({ recent: async () => list }, NOW));
    const [failing, recent] = body.split('<h2>Recent');
    expect(failing).toContain('Failing or given up (2)');
    expect(failing).toContain('✗ given up');
    expect(failing).toContain('answered 502: &lt;html&gt;&lt;script&gt;x&lt;/script&gt;');
    expect(failing).toContain('next in 30 s');
    expect(failing).toContain('href="/s/mx57dlbb-ed4a46c20462"');
    expect(failing).not.toContain('<script>');
    expect(recent).toContain(' (2)');
    expect(recent).toContain('✓ sent');
    expect(recent).toContain('… waiting');
    expect(recent).toContain('href="/s/mx57dlaa-ed4a46c20461"');
  });

  it('says how to turn notifications on when the master has none', async () => {
    expect(String(await notificationsPage(undefined, NOW))).toContain('This master sends no notifications. Start it with <code>--notify FILE</code>');
  });
});
