// `simplebb cancel ID [--builder B] [--reason TEXT]`: stops a suggestion's builds (running ones killed, waiting ones dropped).
import type { Api } from './api.js';
import { str } from './format.js';
import { jsonLine, type Output } from './output.js';
import { objectIn } from './shapes.js';
import { table } from './table.js';

interface Step { builder?: unknown; action?: unknown; state?: unknown; why?: unknown }
interface Cancelled { id?: unknown; steps?: unknown; finished?: unknown; dequeued?: unknown }

/** What was done for a builder, in words. */
function done(s: Step): string {
  if (s.action === 'record') return 'cancelled (it is offline: recorded by the master)';
  if (s.action === 'unable') return `not cancelled: ${str(s.why)}`;
  return s.state === 'started' ? 'cancelling: its build is being killed' : 'cancelling: its build is dropped before it starts';
}

export async function cancel(api: Api, out: Output, id: string, ask: { builder?: string; reason?: string }): Promise<number> {
  const answer = objectIn<Cancelled>(await api.post(`/api/v1/suggestions/${encodeURIComponent(id)}/cancel`, ask, {
    notFound: `no such suggestion ${id}`,
  }), 'the cancel answer');
  const steps = (Array.isArray(answer.steps) ? answer.steps : []).filter((s): s is Step => typeof s === 'object' && s !== null);
  if (out.json) {
    if (answer.dequeued === true) out.write(jsonLine({ id, dequeued: true }));
    for (const s of steps) out.write(jsonLine({ id, ...s }));
    return 0;
  }
  if (answer.dequeued === true) out.write(`${id}: taken out of the queue before any builder had it\n`);
  if (steps.length) out.write(table(['BUILDER', 'WAS', 'NOW'], steps.map((s) => [str(s.builder), str(s.state), done(s)]), out.colour));
  // Only an older clientd cannot be told: the command did not do all it was asked.
  return steps.some((s) => s.action === 'unable') ? 1 : 0;
}
