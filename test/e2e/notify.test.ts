// Notifications against the real programs: a real SMTP server (smtp-server) and a webhook receiver that checks the
// Standard Webhooks signature, both on loopback. Broken then fixed sends exactly those two messages to each; a
// receiver that is down at first gets its message once it is up; a master killed with -9 before sending sends after
// its restart; a bad --notify file is refused in one line naming the field.
import { createServer, type Server } from 'node:http';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fakeMaster, node, ROOT, runToEnd, sleep, startBuilder, startMaster, stop, suggest, tempDir, waitFor } from '../helpers.js';

const SECRET = `whsec_${Buffer.from('notify-e2e-secret-0123456789abcdef').toString('base64')}`;

interface Hook { id: string; type: string; data: { transition: string; project: string; branch: string; builds: Array<{ builder: string; verdict: string }> } }

/** A webhook receiver on `port` (0: any) that keeps what verifies and refuses (401) what does not. */
async function receiver(port = 0): Promise<{ port: number; got: Hook[]; refused: number; close(): Promise<void> }> {
  const wh = new Webhook(SECRET);
  const state = { got: [] as Hook[], refused: 0 };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      try {
        const body = wh.verify(Buffer.concat(parts).toString(), req.headers as Record<string, string>) as Omit<Hook, 'id'>;
        state.got.push({ id: String(req.headers['webhook-id']), ...body });
        res.writeHead(200).end();
      } catch {
        state.refused++;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port, get got() { return state.got; }, get refused() { return state.refused; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A real SMTP server that keeps each mail's raw text, and the envelope's recipients of each. */
async function smtp(): Promise<{ port: number; mails: string[]; rcpts: string[][]; close(): Promise<void> }> {
  const mails: string[] = [];
  const rcpts: string[][] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false, size: 1024 * 1024,
    onData(stream, session, done) {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => { mails.push(Buffer.concat(parts).toString()); rcpts.push(session.envelope.rcptTo.map((a) => a.address)); done(); });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as { port: number }).port;
  return { port, mails, rcpts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const r = await receiver();
  await r.close();
  return r.port;
}

function notifyFile(dir: string, sinks: Record<string, unknown>, rules: unknown[]): string {
  const secret = join(dir, 'hook.secret');
  writeFileSync(secret, `${SECRET}\n`);
  chmodSync(secret, 0o600);
  const file = join(dir, 'notify.json');
  writeFileSync(file, JSON.stringify({ url: 'https://ci.example.org', sinks, rules }));
  return file;
}

async function notifications(url: string): Promise<Array<{ id: string; sink: string; state: string; attempts: number; lastError?: string }>> {
  const res = await fetch(`${url}/api/v1/notifications`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { notifications: Array<{ id: string; sink: string; state: string; attempts: number; lastError?: string }> }).notifications;
}

/** Suggests widget main and waits for its verdict. */
async function build(port: number): Promise<void> {
  const r = await suggest(port, ['widget', 'main', '--wait', '--json'], { timeoutMs: 30_000 });
  expect(r.stderr).toBe('');
}

afterEach(cleanup);

describe('notifications out', () => {
  it('green, broken, still failing, fixed, green: one broken and one fixed message to mail and to the webhook, nothing else', async () => {
    const dir = tempDir();
    const mail = await smtp();
    const hook = await receiver();
    try {
      const flag = join(dir, 'red');
      const config = notifyFile(dir, {
        team: { type: 'mail', url: `smtp://127.0.0.1:${mail.port}`, from: 'ci@example.org', to: ['dev@example.org'], timeoutSeconds: 5 },
        chat: { type: 'webhook', url: `http://127.0.0.1:${hook.port}/in`, secretFile: 'hook.secret', timeoutSeconds: 5 },
      }, [{ when: ['broken', 'fixed'], sink: 'team' }, { name: 'chat', when: ['broken', 'fixed'], projects: ['wid*'], sink: 'chat' }]);
      const m = await startMaster({ args: ['--notify', config] });
      await startBuilder(m.port, { name: 'linux', scripts: { widget: `#!/bin/sh\nif [ -f ${flag} ]; then echo "compiling"; echo "error: widget.c:3: it broke"; exit 1; fi\necho ok\n` } });

      await build(m.port); // green: no news
      writeFileSync(flag, '');
      await build(m.port); // broken
      await build(m.port); // still failing: not asked for
      rmSync(flag);
      await build(m.port); // fixed
      await build(m.port); // green again: no news

      // Every notification is planned in the commit of its report, so all are in the outbox once the last --wait ends.
      const sent = await waitFor('both sinks to have both messages', () => (mail.mails.length >= 2 && hook.got.length >= 2 ? true : undefined), 20_000);
      expect(sent).toBe(true);
      const list = await notifications(m.httpUrl!);
      expect(list).toHaveLength(4);
      expect(list.every((n) => n.state === 'sent' && n.attempts === 1)).toBe(true);
      expect(hook.got.map((h) => `${h.type} ${h.data.transition} ${h.data.project} ${h.data.branch}`)).toEqual([
        'simplebb.notification broken widget main', 'simplebb.notification fixed widget main']);
      expect(hook.refused).toBe(0);
      expect(new Set(hook.got.map((h) => h.id)).size).toBe(2);
      expect(mail.mails).toHaveLength(2);
      expect(mail.mails[0]).toMatch(/Subject: \[simplebb\] broken: widget main \(linux: failure\)/);
      expect(mail.mails[0]).toContain('error: widget.c:3: it broke');
      expect(mail.mails[0]).toMatch(/page:\s+https:\/\/ci\.example\.org\/b\/[0-9a-z-]+\/linux/);
      expect(mail.mails[1]).toMatch(/Subject: \[simplebb\] fixed: widget main \(linux: success\)/);
      const metrics = await (await fetch(`${m.httpUrl!}/metrics`)).text();
      expect(metrics).toContain('simplebb_notifications_total{sink="team",outcome="sent"} 2');
      expect(metrics).toContain('simplebb_notifications_total{sink="chat",outcome="sent"} 2');
      expect(m.log().filter((l) => l.event === 'notified')).toHaveLength(4);
    } finally {
      await mail.close();
      await hook.close();
    }
  });

  it('a receiver down at first gets the message once it is up; a master killed with -9 before sending sends after restart', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = notifyFile(dir, { chat: { type: 'webhook', url: `http://127.0.0.1:${port}/in`, secretFile: 'hook.secret', timeoutSeconds: 5 } },
      [{ when: ['failure'], perBuilder: true, sink: 'chat' }]);
    const m = await startMaster({ args: ['--notify', config] });
    await startBuilder(m.port, { name: 'linux', scripts: { widget: '#!/bin/sh\necho "error: no"\nexit 1\n' } });

    // Down: the first attempt fails and the entry stays pending with the error.
    await build(m.port);
    let first: Awaited<ReturnType<typeof notifications>>[number] | undefined;
    for (let end = Date.now() + 15_000; Date.now() < end && !first; await new Promise((r) => setTimeout(r, 50))) {
      first = (await notifications(m.httpUrl!)).find((n) => n.attempts >= 1);
    }
    expect(first).toMatchObject({ state: 'pending', sink: 'chat' });
    expect(first!.lastError).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+\/in: ECONNREFUSED/);
    // Up: the retry delivers it.
    const hook = await receiver(port);
    try {
      await waitFor('the message after the receiver came up', () => (hook.got.length ? true : undefined), 20_000);
      expect(hook.got.map((h) => h.data.transition)).toEqual(['broken']);
      for (let end = Date.now() + 5000; Date.now() < end && (await notifications(m.httpUrl!))[0]!.state !== 'sent';) await new Promise((r) => setTimeout(r, 50));
      expect((await notifications(m.httpUrl!))[0]).toMatchObject({ state: 'sent' });
    } finally {
      await hook.close();
    }

    // Down again; a second failure is planned, then the master dies with -9 before it could send it.
    await build(m.port);
    for (let end = Date.now() + 15_000; Date.now() < end && !(await notifications(m.httpUrl!)).some((n) => n.state === 'pending' && n.attempts >= 1);) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const pending = (await notifications(m.httpUrl!)).find((n) => n.state === 'pending');
    expect(pending).toBeDefined();
    await stop(m, 'SIGKILL');
    const back = await receiver(port);
    try {
      const m2 = await startMaster({ dir: m.dir, args: ['--notify', config] });
      await waitFor('the message the killed master left', () => (back.got.length ? true : undefined), 20_000);
      expect(back.got.map((h) => h.data.transition)).toEqual(['still-failing']);
      expect(existsSync(join(m.dir, 'data', 'simplebb.db'))).toBe(true);
      for (let end = Date.now() + 5000; Date.now() < end && (await notifications(m2.httpUrl!)).some((n) => n.state !== 'sent');) await new Promise((r) => setTimeout(r, 50));
      expect((await notifications(m2.httpUrl!)).map((n) => n.state)).toEqual(['sent', 'sent']);
    } finally {
      await back.close();
    }
  });

  it('commit statuses: a forge down during the build gets each builder\'s context and the roll-up once it is up, each once', async () => {
    const dir = tempDir();
    const port = await freePort();
    const token = join(dir, 'forge.token');
    writeFileSync(token, 'ghp_test_token\n');
    chmodSync(token, 0o600);
    const config = notifyFile(dir, { forge: { type: 'status', forge: 'github', apiUrl: `http://127.0.0.1:${port}`, repository: 'acme/widget', tokenFile: 'forge.token', timeoutSeconds: 5 } },
      [{ when: ['any'], sink: 'forge' }]);
    const m = await startMaster({ args: ['--notify', config] });
    await startBuilder(m.port, { name: 'linux', scripts: { widget: '#!/bin/sh\necho ok\n' } });
    await startBuilder(m.port, { name: 'mac', scripts: { widget: '#!/bin/sh\necho "no"; exit 1\n' } });
    await waitFor('two builders', () => m.log().filter((l) => l.event === 'connected').length === 2);
    const sha = 'ab12'.repeat(10);
    const r = await suggest(m.port, ['-r', sha, 'widget', 'main', '--wait', '--json'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    await waitFor('a failed attempt on the forge that is down', async () => (await notifications(m.httpUrl!)).some((n) => n.attempts >= 1 && n.lastError), 15_000);

    const got: Array<{ url: string; auth: string; body: { state: string; context: string; description: string; target_url?: string } }> = [];
    const forge = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        got.push({ url: req.url ?? '', auth: String(req.headers.authorization), body: JSON.parse(Buffer.concat(parts).toString()) as never });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((res) => forge.listen(port, '127.0.0.1', res));
    try {
      await waitFor('the statuses', () => got.length >= 6, 20_000);
      await waitFor('the outbox entries sent', async () => (await notifications(m.httpUrl!)).every((n) => n.state === 'sent'), 10_000);
      expect(got.every((g) => g.url === `/repos/acme/widget/statuses/${sha}` && g.auth === 'Bearer ghp_test_token')).toBe(true);
      // The pending ones of the acceptance first (they were planned first), then the finals: each once.
      expect(got.map((g) => `${g.body.context} ${g.body.state}`)).toEqual([
        'simplebb/linux pending', 'simplebb/mac pending', 'simplebb pending', 'simplebb/linux success', 'simplebb/mac failure', 'simplebb failure']);
      const rollUp = [...got].reverse().find((g) => g.body.context === 'simplebb')!;
      expect(rollUp.body.description).toBe('1 of 2 builders did not pass: mac');
      expect(rollUp.body.target_url).toMatch(/^https:\/\/ci\.example\.org\/s\/[0-9a-z-]+$/);
      expect(got.find((g) => g.body.context === 'simplebb/mac')!.body.target_url).toMatch(/^https:\/\/ci\.example\.org\/b\/[0-9a-z-]+\/mac$/);
    } finally {
      forge.closeAllConnections();
      await new Promise<void>((res) => forge.close(() => res()));
    }
  });

  it('commit statuses: pending when the suggestion is accepted, then success; a refused or slow pending is never overtaken', async () => {
    const dir = tempDir();
    const token = join(dir, 'forge.token');
    writeFileSync(token, 'ghp_test_token\n');
    chmodSync(token, 0o600);
    const log: string[] = [];
    const forge = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const b = JSON.parse(Buffer.concat(parts).toString()) as { state: string; context: string };
        log.push(`got ${b.context} ${b.state}`);
        // The first pending is refused (tried again a second later), the others answered late: the build ends
        // meanwhile, and its success, due at once, must wait for them.
        if (b.state === 'pending' && log.length === 1) {
          log.push(`refused ${b.context} ${b.state}`);
          res.writeHead(502).end('busy');
          return;
        }
        setTimeout(() => { log.push(`set ${b.context} ${b.state}`); res.writeHead(201).end('{}'); }, b.state === 'pending' ? 1000 : 0);
      });
    });
    await new Promise<void>((res) => forge.listen(0, '127.0.0.1', res));
    try {
      const port = (forge.address() as { port: number }).port;
      const config = notifyFile(dir, { forge: { type: 'status', forge: 'github', apiUrl: `http://127.0.0.1:${port}`, repository: 'acme/widget', tokenFile: 'forge.token', timeoutSeconds: 10 } },
        [{ when: ['any'], sink: 'forge' }]);
      const m = await startMaster({ args: ['--notify', config] });
      await startBuilder(m.port, { name: 'linux', scripts: { widget: '#!/bin/sh\necho ok\n' } });
      await waitFor('the builder', () => m.log().some((l) => l.event === 'connected'));
      const r = await suggest(m.port, ['-r', 'cd34'.repeat(10), 'widget', 'main', '--wait', '--json'], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(0);
      await waitFor('every status set', () => log.filter((l) => l.startsWith('set')).length === 4, 20_000);
      await waitFor('the outbox entries sent', async () => (await notifications(m.httpUrl!)).every((n) => n.state === 'sent'), 10_000);
      expect(log).toEqual([
        'got simplebb/linux pending', 'refused simplebb/linux pending', 'got simplebb/linux pending', 'set simplebb/linux pending', 'got simplebb pending', 'set simplebb pending',
        'got simplebb/linux success', 'set simplebb/linux success', 'got simplebb success', 'set simplebb success']);
      expect((await notifications(m.httpUrl!)).map((n) => n.id).sort()).toEqual([expect.stringMatching(/:rule1$/), expect.stringMatching(/:rule1:pending$/)]);
    } finally {
      forge.closeAllConnections();
      await new Promise<void>((res) => forge.close(() => res()));
    }
  });

  it('overdue: a build running for more than twice its usual duration is told once, through the outbox', async () => {
    const dir = tempDir();
    const hook = await receiver();
    try {
      const steps = join(dir, 'steps');
      writeFileSync(steps, '3');
      const config = notifyFile(dir, { chat: { type: 'webhook', url: `http://127.0.0.1:${hook.port}/in`, secretFile: 'hook.secret', timeoutSeconds: 5 } },
        [{ name: 'late', when: ['overdue'], sink: 'chat' }]);
      const m = await startMaster({ args: ['--notify', config] });
      // Steps of 0.1 s, as many as the file says: 3 while the usual duration is made (about 0.3 s: a busy machine does
      // not double it), then 40 (the overdue build).
      await startBuilder(m.port, { name: 'linux', scripts: { widget: `#!/bin/sh\nn=$(cat ${steps}); i=0; while [ $i -lt $n ]; do sleep 0.1; i=$((i+1)); done; echo ok\n` } });
      for (let i = 0; i < 3; i++) await build(m.port);
      expect(hook.got).toEqual([]); // quick builds are not overdue
      writeFileSync(steps, '40');
      const slow = suggest(m.port, ['widget', 'main', '--wait', '--json'], { timeoutMs: 30_000 });
      const [told] = await waitFor('the overdue message', () => (hook.got.length ? hook.got : undefined), 15_000);
      expect((await slow).code).toBe(0);
      expect(told!.data).toMatchObject({ transition: 'overdue', verdict: 'running', project: 'widget', branch: 'main', rule: 'late', builds: [] });
      const o = (told!.data as unknown as { overdue: { builder: string; usualMs: number; runningMs: number } }).overdue;
      expect(o.builder).toBe('linux');
      expect(o.runningMs).toBeGreaterThan(2 * o.usualMs);
      await sleep(500);
      expect(hook.got).toHaveLength(1); // once per build: its end tells this rule nothing
      expect(await notifications(m.httpUrl!)).toMatchObject([{ id: expect.stringMatching(/:late:linux:overdue$/) as unknown, sink: 'chat', state: 'sent', attempts: 1 }]);
    } finally {
      await hook.close();
    }
  });

  it('watches the --notify file: a bad change is refused naming its line, a good one plans by the new rules', async () => {
    const dir = tempDir();
    const hook = await receiver();
    try {
      const sinks = { chat: { type: 'webhook', url: `http://127.0.0.1:${hook.port}/in`, secretFile: 'hook.secret', timeoutSeconds: 5 } };
      const config = notifyFile(dir, sinks, [{ when: ['success'], perBuilder: true, sink: 'chat' }]);
      const m = await startMaster({ args: ['--notify', config] });
      await startBuilder(m.port, { name: 'linux', scripts: { widget: '#!/bin/sh\necho ok\n' } });
      await build(m.port);
      await waitFor('the success message', () => (hook.got.length === 1 ? true : undefined), 15_000);

      writeFileSync(config, `{\n  "sinks": ${JSON.stringify(sinks)},\n  "rules": [\n    { "when": ["success"], "sink": "pager" }\n  ]\n}\n`);
      const refused = await waitFor('the bad file refused', () => m.log().find((l) => l.event === 'config-refused'), 10_000);
      expect(refused.msg).toBe(`the notify file ${config}, line 4: rules.0.sink: no sink named "pager" (sinks: chat) (the notification settings in force stay as they were)`);

      writeFileSync(config, JSON.stringify({ sinks, rules: [{ when: ['failure'], sink: 'chat' }] }));
      await waitFor('the good file read again', () => m.log().find((l) => l.event === 'config-reloaded'), 10_000);
      await build(m.port); // a success: the rule in force now asks only for failures
      expect((await notifications(m.httpUrl!)).map((n) => n.state)).toEqual(['sent']);
      expect(hook.got).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });

  it('refuses a bad --notify file at start with one line naming the field', async () => {
    const dir = tempDir();
    const file = join(dir, 'notify.json');
    const cases: Array<[unknown, RegExp]> = [
      [{ sinks: {}, rules: [{ when: ['broken'], sink: 'nope' }] }, /notify\.json, line 1: rules\.0\.sink: no sink named "nope"/],
      [{ sinks: { a: { type: 'webhook', url: 'http://127.0.0.1:1/x' } }, rules: [{ when: ['broken'], sink: 'a' }] }, /, line 1: sinks\.a\.secretFile: is needed for the json format/],
      [{ sinks: { a: { type: 'mail', url: 'smtp://x', from: 'a@b', to: [] } }, rules: [{ when: ['broken'], sink: 'a' }] }, /sinks\.a\.to: /],
      [{ sinks: { a: { type: 'pager' } }, rules: [{ when: ['broken'], sink: 'a' }] }, /sinks\.a\.type: type must be "mail", "webhook", "script" or "status"/],
      [{ sinks: {}, rules: [{ when: ['sometimes'], sink: 'a' }] }, /rules\.0\.when\.0: /],
    ];
    for (const [json, want] of cases) {
      writeFileSync(file, JSON.stringify(json));
      const p = node('masterd', ['--port', '0', '--data', join(dir, 'data'), '--notify', file]);
      const exit = await Promise.race([p.exited, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 15_000))]);
      if (exit === 'timeout') p.child.kill('SIGKILL');
      expect(exit).toMatchObject({ code: 78 });
      const lines = p.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(want);
    }
    // --check reads it too: what it would send where, or exit 2 naming what is wrong.
    const check = async (f: string) => {
      const p = node('masterd', ['--check', '--port', '0', '--http', 'off', '--data', join(dir, 'data'), '--notify', f]);
      const exit = await Promise.race([p.exited, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 15_000))]);
      if (exit === 'timeout') p.child.kill('SIGKILL');
      return { exit, out: p.stdout(), err: p.stderr() };
    };
    const good = await check(join(ROOT, 'examples', 'notify', 'notify.json'));
    expect(good.exit, good.err).toMatchObject({ code: 0 });
    expect(good.out).toContain('notifications: 3 rules to team (mail), chat (webhook), record (script)');
    const bad = await check(file);
    expect(bad.exit).toMatchObject({ code: 2 });
    expect(bad.err).toMatch(/check failed: the notify file .*, line 1: rules\.0\.when\.0: /);
  });
});

describe('simplebb-suggest --notify ADDRESS', () => {
  it("mails that suggestion's summary to that address once, after both builders reported and none before, whatever the rules say", async () => {
    const dir = tempDir();
    const mail = await smtp();
    try {
      const go = join(dir, 'go');
      const file = join(dir, 'notify.json');
      writeFileSync(file, JSON.stringify({
        url: 'https://ci.example.org', suggesterMail: 'team',
        sinks: { team: { type: 'mail', url: `smtp://127.0.0.1:${mail.port}`, from: 'ci@example.org', to: ['team@example.org'], timeoutSeconds: 5 } },
        rules: [{ when: ['fixed'], sink: 'team' }],
      }));
      const m = await startMaster({ args: ['--notify', file] });
      await startBuilder(m.port, { name: 'fast', scripts: { widget: '#!/bin/sh\necho ok\n' } });
      // slow waits (at most 30 s) until the test lets it go, then fails.
      await startBuilder(m.port, { name: 'slow', scripts: { widget: `#!/bin/sh\ni=0\nwhile [ ! -f ${go} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\necho "error: slow broke"\nexit 1\n` } });

      const r = await suggest(m.port, ['--notify', 'dev@example.org', 'widget', 'main']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const id = /as ([0-9a-z-]+) to 2 builders/.exec(r.stdout)?.[1];
      expect(id).toBeDefined();

      await waitFor('fast to report', () => m.reports().some((l) => l.builder === 'fast'), 20_000);
      // Planned in the commit of the report that completes the suggestion: nothing yet, in the outbox or the mailbox.
      await sleep(300);
      expect(await notifications(m.httpUrl!)).toEqual([]);
      expect(mail.mails).toEqual([]);

      writeFileSync(go, '');
      await waitFor('the mail', () => mail.mails.length > 0 || undefined, 20_000);
      expect(m.reports().map((l) => `${l.builder} ${l.verdict}`).sort()).toEqual(['fast success', 'slow failure']);
      // Marked sent once the server took it (bounded); a second would have come by then.
      await waitFor('the notification marked sent', async () => (await notifications(m.httpUrl!))[0]?.state === 'sent', 10_000);
      await sleep(300);
      expect(mail.mails).toHaveLength(1);
      expect(mail.rcpts).toEqual([['dev@example.org']]);
      const [text] = mail.mails;
      expect(text).toMatch(/^To: dev@example\.org$/m);
      expect(text).not.toContain('team@example.org');
      expect(text).toMatch(/^Subject: \[simplebb\] (broken|failure): widget main \(fast: success, slow: failure\)$/m);
      expect(text).toMatch(/fast: success \(/);
      expect(text).toMatch(/slow: failure \(/);
      expect(text).toContain('| error: slow broke');
      expect(text).toContain(`page:     https://ci.example.org/s/${id}`);
      const list = await notifications(m.httpUrl!);
      expect(list).toMatchObject([{ id: `${id}:suggester:notify`, sink: 'team', state: 'sent', attempts: 1 }]);
    } finally {
      await mail.close();
    }
  });

  it('is refused in one line, exit 2, by a master without suggesterMail (until its file names one) or without --notify, and by one that does not take it', async () => {
    const dir = tempDir();
    const config = notifyFile(dir, { team: { type: 'mail', url: 'smtp://127.0.0.1:9', from: 'ci@example.org', to: ['team@example.org'] } }, [{ when: ['broken'], sink: 'team' }]);
    const m = await startMaster({ args: ['--notify', config] });
    await startBuilder(m.port, { name: 'linux', scripts: { widget: '#!/bin/sh\necho ok\n' } });
    const r = await suggest(m.port, ['--notify', 'dev@example.org', 'widget', 'main']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('simplebb-suggest: master refused widget main: cannot mail dev@example.org: its notify file names no mail sink for suggesters ("suggesterMail", docs/NOTIFICATIONS.md)\n');
    // The same over HTTP (simplebb suggest --notify): a 400 with the reason, exit 2.
    const cli = await runToEnd('simplebb', ['--url', m.httpUrl!, 'suggest', 'widget', 'main', '--notify', 'dev@example.org']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('cannot mail dev@example.org: its notify file names no mail sink for suggesters');
    expect(cli.stderr.trimEnd().split('\n')).toHaveLength(1);

    // The file changes to name one: the next suggestion with an address is taken, without a restart.
    writeFileSync(config, JSON.stringify({ suggesterMail: 'team', sinks: { team: { type: 'mail', url: 'smtp://127.0.0.1:9', from: 'ci@example.org', to: ['team@example.org'] } } }));
    await waitFor('the file read again', () => m.log().find((l) => l.event === 'config-reloaded'), 10_000);
    const taken = await runToEnd('simplebb', ['--url', m.httpUrl!, 'suggest', 'widget', 'main', '--notify', 'dev@example.org']);
    expect(taken.stderr).toBe('');
    expect(taken.stdout).toMatch(/^suggested widget main as [0-9a-z-]+ to 1 builder: linux\n$/);

    const bare = await startMaster();
    const b = await suggest(bare.port, ['widget', 'main', '--notify', 'dev@example.org']);
    expect(b.code).toBe(2);
    expect(b.stderr).toBe('simplebb-suggest: master refused widget main: cannot mail dev@example.org: this master mails no one: it was started without --notify FILE (with "suggesterMail" naming a mail sink, docs/NOTIFICATIONS.md)\n');
    for (const [master, count] of [[m, 1], [bare, 0]] as const) {
      const list = await (await fetch(`${master.httpUrl!}/api/v1/suggestions`, { signal: AbortSignal.timeout(5000) })).json() as { suggestions: unknown[] };
      expect(list.suggestions).toHaveLength(count); // the refused ones are not in the record
      for (const x of list.suggestions) expect(x).not.toHaveProperty('notify');
    }

    const bad = await suggest(bare.port, ['widget', 'main', '--notify', 'dev@exa mple.org']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('simplebb-suggest: --notify "dev@exa mple.org": mail address must be LOCAL@DOMAIN with a host name after the @ (letters, digits, "-" and ".")\n');

    const old = await fakeMaster();
    try {
      const o = await suggest(old.port, ['widget', 'main', '--notify', 'dev@example.org']);
      expect(o.code).toBe(2);
      expect(o.stderr).toBe(`simplebb-suggest: cannot reach master at 127.0.0.1:${old.port}: it does not take --notify (fake; upgrade the master)\n`);
      expect(old.received.filter((x) => x.type === 'suggest')).toEqual([]);
    } finally {
      await old.close();
    }
  });
});
