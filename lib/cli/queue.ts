// `simplebb queue`: the `--one` suggestions waiting for a free builder, in the order they go, each with why it waits.
import type { Api } from './api.js';
import { clock, str } from './format.js';
import { jsonLine, type Output } from './output.js';
import { objectIn } from './shapes.js';
import { table } from './table.js';

interface Queued { id?: unknown; project?: unknown; branch?: unknown; on?: unknown; attempt?: unknown; of?: unknown; queuedAt?: unknown; ahead?: unknown; why?: unknown }
interface QueueAnswer { total?: unknown; orders?: unknown }

export async function queue(api: Api, out: Output, limit: number): Promise<number> {
  const answer = objectIn<QueueAnswer>(await api.json('/api/v1/queue', { query: { limit: String(limit) } }), 'the queue answer');
  const orders = (Array.isArray(answer.orders) ? answer.orders : []).filter((o): o is Queued => typeof o === 'object' && o !== null);
  if (out.json) {
    for (const o of orders) out.write(jsonLine(o));
    return 0;
  }
  if (orders.length === 0) {
    out.write('nothing is queued\n');
    return 0;
  }
  out.write(table(['ID', 'PROJECT', 'BRANCH', 'ATTEMPT', 'SINCE', 'WHY'], orders.map((o) => [
    str(o.id), str(o.project), str(o.branch) + (typeof o.on === 'string' ? ` (on ${o.on})` : ''), `${str(o.attempt)} of ${str(o.of)}`, clock(o.queuedAt), str(o.why),
  ]), out.colour));
  const total = typeof answer.total === 'number' ? answer.total : orders.length;
  if (total > orders.length) out.write(`and ${total - orders.length} more (--limit)\n`);
  return 0;
}
