// A Connection over a real loopback socket: output messages carry their bytes raw after their line.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { validateToMaster, type ToMaster } from '../../lib/protocol/messages.js';
import { Connection } from '../../lib/wire/connection.js';

let server: Server | undefined;
afterEach(() => { server?.close(); server = undefined; });

/** A listening Connection (the master's side) and a raw client socket to it. */
async function pair(): Promise<{ received: ToMaster[]; invalid: Array<[string, boolean]>; client: Socket; closed: Promise<string> }> {
  const received: ToMaster[] = [];
  const invalid: Array<[string, boolean]> = [];
  let closed!: Promise<string>;
  const accepted = new Promise<void>((resolve) => {
    server = createServer((socket) => {
      const c = new Connection<ToMaster, { type: string }>(socket, validateToMaster, { heartbeatMs: 0 });
      c.on('message', (m) => received.push(m));
      c.on('invalid', (problem, fatal) => { invalid.push([problem, fatal]); if (fatal) c.destroy(problem); });
      closed = new Promise((r) => c.on('close', r));
      resolve();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server!.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await accepted;
  return { received, invalid, client, get closed() { return closed; } };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() - t0 > 5000) throw new Error(`timed out waiting for ${what}`);
}

describe('Connection payloads', () => {
  it('sends an output message\'s bytes raw after its line and receives them as data, in pieces as the socket brought them, in order with other messages', async () => {
    const p = await pair();
    const sender = new Connection<ToMaster, ToMaster>(p.client, validateToMaster, { heartbeatMs: 0 });
    const bytes = Buffer.concat([Buffer.from('line one\n{"type":"ping"}\n'), Buffer.from([0xff, 0xfe, 0x00, 0x0a]), Buffer.alloc(200_000, 0x41)]);
    sender.send({ type: 'started', id: 'a-1', startedAt: 1 });
    sender.send({ type: 'output', id: 'a-1', stream: 'stdout', data: bytes });
    sender.send({ type: 'output', id: 'a-1', stream: 'stderr', data: Buffer.from('e') });
    sender.send({ type: 'skipped', id: 'a-1' });
    await until('the last message', () => p.received.at(-1)?.type === 'skipped');
    const types = p.received.map((m) => (m.type === 'output' ? `output ${(m as { stream: string }).stream}` : m.type));
    expect(types[0]).toBe('started');
    expect(types.slice(-2)).toEqual(['output stderr', 'skipped']);
    const pieces = p.received.slice(1, -2) as Array<{ type: string; id: string; stream: string; data: Buffer }>;
    expect(pieces.length).toBeGreaterThan(0);
    for (const m of pieces) expect(m).toMatchObject({ type: 'output', id: 'a-1', stream: 'stdout' });
    expect(Buffer.compare(Buffer.concat(pieces.map((m) => m.data)), bytes)).toBe(0);
    expect((p.received.at(-2) as { data: Buffer }).data.toString()).toBe('e');
    for (const m of p.received) expect(m).not.toHaveProperty('bytes');
    expect(p.invalid).toEqual([]);
    sender.destroy('done');
  });

  it('closes a connection whose output line has no usable byte count: the rest of the stream cannot be framed', async () => {
    for (const bytes of [undefined, 0, -1, 1.5, 256 * 1024 + 1, '5']) {
      const p = await pair();
      p.client.write(`${JSON.stringify({ type: 'output', id: 'a-1', stream: 'stdout', bytes })}\n{"type":"skipped","id":"a-1"}\n`);
      expect(await p.closed).toContain('"bytes", an integer from 1 to 262144');
      expect(p.received).toEqual([]);
      p.client.destroy();
      server?.close();
    }
  });

  it('refuses (without closing) an output message whose line is wrong but framed, and goes on', async () => {
    const p = await pair();
    p.client.write(`${JSON.stringify({ type: 'output', id: '../x', stream: 'stdout', bytes: 3 })}\nabc{"type":"skipped","id":"a-1"}\n`);
    await until('the next message', () => p.received.length === 1);
    expect(p.invalid).toEqual([[expect.stringContaining('invalid output message: id'), false]]);
    expect(p.received).toEqual([{ type: 'skipped', id: 'a-1' }]);
    p.client.destroy();
  });
});
