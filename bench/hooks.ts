// Scenario 9: a webhook answered: a signed GitHub push delivery to /hooks/github, from arrival to its 202 (the
// signature checked, the delivery fsynced into the inbox), and a repeated one to its 200, against a 404 of the
// same server in the same run; sequential over one keep-alive connection, each a new delivery id.
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fmt, percentile, readLog, startMaster, stop, table, tempDir, until } from './common.js';

const SECRET = 'bench-webhook-secret-0123456789';

function post(url: string, agent: Agent, path: string, body: string, headers: Record<string, string>): Promise<{ ms: number; status: number }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = request(`${url}${path}`, { method: 'POST', agent, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode ?? 0 }));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function hooks(quick: boolean): Promise<unknown> {
  const n = quick ? 40 : 150;
  const dir = tempDir();
  const secret = join(dir, 'secret');
  writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
  const config = join(dir, 'hooks.json');
  // Repositories nobody builds: each delivery is kept, answered and then recorded as skipped, no builds in the way.
  writeFileSync(config, JSON.stringify({ forges: { github: { secretFile: secret } }, repositories: [{ repository: 'acme/widget', project: 'widget' }] }));
  const master = await startMaster(['--hooks', config], {}, dir);
  // At most 10 deliveries a second per address are taken: the bench paces itself under it.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const url = await until('the API', () => readLog(master.log).find((l) => l.event === 'http-listening')?.url as string | undefined);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'ab'.repeat(20), repository: { full_name: 'elsewhere/other' }, head_commit: { message: 'bench' } });
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const rows: Record<'404' | '202' | '200', number[]> = { 404: [], 202: [], 200: [] };
    for (let i = 0; i < n; i++) {
      const fresh = { 'x-github-event': 'push', 'x-github-delivery': `bench-${i}`, 'x-hub-signature-256': signature };
      for (const [kind, path, headers] of [['404', '/api/v1/nothing', {}], ['202', '/hooks/github', fresh], ['200', '/hooks/github', fresh]] as const) {
        const r = await post(url, agent, path, body, headers);
        if (String(r.status) !== kind) throw new Error(`${path} answered ${r.status}, not ${kind}`);
        rows[kind].push(r.ms);
      }
      await new Promise((r) => setTimeout(r, 110));
    }
    for (const k of Object.keys(rows) as Array<keyof typeof rows>) rows[k].sort((a, b) => a - b);
    const base = rows['404'];
    const out = ([['baseline: a 404', base], ['a new delivery: 202 (checked, fsynced)', rows['202']], ['the same delivery again: 200', rows['200']]] as const)
      .map(([what, ms]) => ({ what, p50: percentile(ms, 50), p99: percentile(ms, 99) }));
    table(`9. Webhooks: ${n} signed GitHub push deliveries, sequential over one keep-alive connection, each sent twice (target: 202 within 100 ms)`,
      ['request', 'p50 ms', 'p99 ms', 'p50 × 404', 'p99 × 404'],
      out.map((r) => [r.what, r.p50, r.p99, fmt(r.p50 / out[0]!.p50), fmt(r.p99 / out[0]!.p99)]));
    return { deliveries: n, rows: out };
  } finally {
    agent.destroy();
    await stop(master.proc);
  }
}
