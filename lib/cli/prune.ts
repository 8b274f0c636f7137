// `simplebb prune [--dry-run]`: the master's log retention run now, or with --dry-run what it would remove.
import type { Api } from './api.js';
import { clock, str } from './format.js';
import { jsonLine, type Output } from './output.js';
import { objectIn } from './shapes.js';
import { table } from './table.js';

/** Logs listed one per row; beyond it they are counted. */
const LISTED = 50;

interface Plan { dryRun?: boolean; count?: number; storedBytes?: number; logs?: Array<Record<string, unknown>> }

export async function prune(api: Api, out: Output, dryRun: boolean): Promise<number> {
  const ask = { notFound: 'this master keeps no full logs (it is older than full logs, or they are off)' };
  const plan = objectIn<Plan>(dryRun ? await api.json('/api/v1/prune', ask) : await api.post('/api/v1/prune', {}, ask), 'the prune answer');
  const logs = Array.isArray(plan.logs) ? plan.logs : [];
  if (out.json) {
    out.write(jsonLine({ dryRun, count: plan.count ?? logs.length, storedBytes: plan.storedBytes ?? 0 }));
    for (const l of logs) out.write(jsonLine(l));
    return 0;
  }
  const mib = ((plan.storedBytes ?? 0) / 1024 / 1024).toFixed(1);
  const count = plan.count ?? logs.length;
  out.write(`${dryRun ? 'would remove' : 'removed'} ${count} log${count === 1 ? '' : 's'} (${mib} MiB on disk)\n`);
  if (logs.length > 0) {
    out.write(table(['FINISHED', 'ID', 'BUILDER', 'BYTES'], logs.slice(0, LISTED).map((l) => [clock(l.finishedAt), str(l.id), str(l.builder), str(l.bytes)]), out.colour));
    if (logs.length > LISTED) out.write(`(and ${logs.length - LISTED} more; --json lists all)\n`);
  }
  return 0;
}
