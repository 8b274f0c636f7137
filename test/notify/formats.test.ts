// Each webhook format's body, the signed webhook sink against a receiver on loopback, and the after-script sink.
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { format } from '../../lib/notify/formats.js';
import { messageId } from '../../lib/notify/messageId.js';
import { headline, plainText, type Notice } from '../../lib/notify/notice.js';
import { ScriptSink, scriptEnv } from '../../lib/notify/script.js';
import { WebhookSink } from '../../lib/notify/webhook.js';
import { cleanup, readLog, script, tempDir } from '../helpers.js';

afterEach(cleanup);

const notice: Notice = {
  id: 's-1:team', rule: 'team', suggestion: 's-1', project: 'widget', branch: 'main', revision: 'abcdef0123456789',
  verdict: 'failure', transition: 'broken', at: 1_700_000_000_000,
  builds: [{ builder: 'linux', verdict: 'failure', lastVerdict: 'success', transition: 'broken', exitCode: 2, durationMs: 1500, tail: `${'x'.repeat(3000)}\nerror: it broke`, sinceGreen: ['abcdef0123456789', '0011'] }],
};
const SECRET = `whsec_${Buffer.from('a-secret-of-enough-bytes-0123').toString('base64')}`;

describe('formats', () => {
  it('says verdict, cell, link, tail and revisions since green in plain text', () => {
    expect(headline(notice)).toBe('broken: widget main at abcdef012345 (linux: failure)');
    const text = plainText(notice, 'https://ci.example.org/');
    expect(text).toContain('page:     https://ci.example.org/b/s-1/linux');
    expect(text).toContain('revisions since the last green: abcdef0123456789 0011');
    expect(text).toContain('  | error: it broke');
  });

  it('gives Slack text, Discord content within 2000 characters, a Matrix notice and ntfy headers', () => {
    const slack = JSON.parse(format('slack', notice, 'https://ci/').body) as { text: string };
    expect(slack.text).toMatch(/^broken: widget main .*\nhttps:\/\/ci\/b\/s-1\/linux\n```\n/);
    expect(slack.text).toContain('error: it broke');
    const discord = JSON.parse(format('discord', notice, undefined).body) as { content: string; allowed_mentions: unknown };
    expect(discord.content.length).toBeLessThanOrEqual(2000);
    expect(discord.content).toContain('error: it broke');
    expect(discord.allowed_mentions).toEqual({ parse: [] });
    expect(JSON.parse(format('matrix', notice, undefined).body)).toMatchObject({ msgtype: 'm.notice' });
    const ntfy = format('ntfy', { ...notice, project: 'wïdget' }, 'https://ci');
    expect(ntfy.headers).toMatchObject({ title: 'broken: w?dget main at abcdef012345 (linux: failure)', tags: 'rotating_light', priority: 'high', click: 'https://ci/b/s-1/linux' });
    expect(Buffer.byteLength(ntfy.body)).toBeLessThanOrEqual(4096);
    const json = JSON.parse(format('json', notice, 'https://ci').body) as { type: string; data: Notice & { url: string } };
    expect(json.type).toBe('simplebb.notification');
    expect(json.data.url).toBe('https://ci/b/s-1/linux');
  });
});

async function receiver(status: () => number) {
  const got: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts).toString() });
      res.writeHead(status()).end(status() === 200 ? 'ok' : 'nope '.repeat(500));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { got, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('the webhook sink', () => {
  it('signs per Standard Webhooks with a webhook-id that is the same on every attempt; a refusal is a short error', async () => {
    let status = 503;
    const r = await receiver(() => status);
    try {
      const sink = new WebhookSink({ url: `${r.url}/hook`, format: 'json', secret: SECRET, timeoutMs: 5000 });
      const err = await sink.send(notice).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/answered 503: nope nope/);
      expect((err as Error).message.length).toBeLessThan(400);
      status = 200;
      await sink.send(notice);
      expect(r.got).toHaveLength(2);
      const wh = new Webhook(SECRET);
      for (const g of r.got) expect(wh.verify(g.body, g.headers as Record<string, string>)).toMatchObject({ type: 'simplebb.notification' });
      expect(r.got[0]!.headers['webhook-id']).toBe(messageId(notice.id));
      expect(r.got[1]!.headers['webhook-id']).toBe(r.got[0]!.headers['webhook-id']);
      expect(() => new Webhook(`whsec_${Buffer.from('another-secret-0123456789').toString('base64')}`).verify(r.got[1]!.body, r.got[1]!.headers as Record<string, string>)).toThrow();
      // Matrix: a PUT to …/{txnId} with the access token.
      await new WebhookSink({ url: `${r.url}/_matrix/client/v3/rooms/!r:x/send/m.room.message`, format: 'matrix', token: 'tok-0123456789abcdef', timeoutMs: 5000 }).send(notice);
      expect(r.got[2]).toMatchObject({ method: 'PUT', url: `/_matrix/client/v3/rooms/!r:x/send/m.room.message/${messageId(notice.id)}` });
      expect(r.got[2]!.headers.authorization).toBe('Bearer tok-0123456789abcdef');
    } finally {
      await r.close();
    }
    // A port nothing listens on any more (and no kept-alive connection to it).
    const gone = createServer();
    await new Promise<void>((res) => gone.listen(0, '127.0.0.1', res));
    const port = (gone.address() as { port: number }).port;
    await new Promise<void>((res) => gone.close(() => res()));
    const down = await new WebhookSink({ url: `http://127.0.0.1:${port}`, format: 'slack', timeoutMs: 2000 }).send(notice).catch((e: Error) => e.message);
    expect(down).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/);
  });
});

describe('the after-script sink', () => {
  it('runs the script with the notice in SIMPLEBB_* and nothing else of the master`s environment', async () => {
    const dir = tempDir();
    const out = join(dir, 'env.json');
    script(dir, 'after', `node -e 'console.log(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("SIMPLEBB_") || k === "SECRET"))))' > ${out}; echo "arg=$1" >> ${out}.arg`);
    process.env.SECRET = 'do-not-pass';
    try {
      await new ScriptSink({ dir, name: 'after', timeoutMs: 10_000, baseUrl: 'https://ci' }).send(notice);
    } finally {
      delete process.env.SECRET;
    }
    expect(readLog(out)[0]).toEqual({
      SIMPLEBB_NOTIFICATION: 's-1:team', SIMPLEBB_RULE: 'team', SIMPLEBB_VERDICT: 'failure', SIMPLEBB_LAST_VERDICT: 'success',
      SIMPLEBB_TRANSITION: 'broken', SIMPLEBB_PROJECT: 'widget', SIMPLEBB_BRANCH: 'main', SIMPLEBB_REVISION: 'abcdef0123456789',
      SIMPLEBB_BUILDER: 'linux', SIMPLEBB_SUGGESTION: 's-1', SIMPLEBB_URL: 'https://ci/b/s-1/linux',
    });
    expect(scriptEnv(notice, undefined, { PATH: '/bin', SECRET: 'x' }).SECRET).toBeUndefined();
  });

  it('a script that fails is an error with its last line; one that hangs is killed, with its group, at the timeout', async () => {
    const dir = tempDir();
    script(dir, 'fails', 'echo "no route to pager" >&2; exit 3');
    await expect(new ScriptSink({ dir, name: 'fails', timeoutMs: 10_000 }).send(notice)).rejects.toThrow('fails: exit 3: no route to pager');
    const pidFile = join(dir, 'child.pid');
    script(dir, 'hangs', `sleep 300 & echo $! > ${pidFile}; wait`);
    await expect(new ScriptSink({ dir, name: 'hangs', timeoutMs: 500 }).send(notice)).rejects.toThrow(/timed out after 0.5 s/);
    const child = Number((await import('node:fs')).readFileSync(pidFile, 'utf8'));
    const alive = () => { try { process.kill(child, 0); return true; } catch { return false; } };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });
});
