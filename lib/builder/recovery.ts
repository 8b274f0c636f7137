// After a crash: what the last clientd left behind in the state dir, ended or taken up again, so that no build runs twice.
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { survivors } from '../exec/survivors.js';
import type { BuildOrder } from '../protocol/messages.js';
import { ID_RULE } from '../protocol/names.js';
import type { Inbox } from './inbox.js';

/** What to do with what an earlier clientd left. */
export interface Leftovers {
  /** Received, never begun: to be built now. */
  toBuild: BuildOrder[];
  /** Begun, with no report: the outcome is unknown; what was left of them is killed, and each is reported lost. */
  unknown: Array<{ order: BuildOrder; killed: number; startedAt?: number }>;
}

/** Kills what is left of one of this builder's builds (its processes, found by its id and the builder's name) and says how many there were. */
function endRemains(builder: string | undefined, id: string, pid?: number): number {
  const pids = survivors(id, builder, pid);
  if (!pids.length) return 0;
  if (pid !== undefined) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const p of pids) {
    try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
  }
  return pids.length;
}

/** Sorts the inbox's held orders: begun ones without a report are ended; never-begun ones are built. Reported and skipped ones wait for their ack. */
export function takeStock(builder: string, inbox: Inbox): Leftovers {
  const out: Leftovers = { toBuild: [], unknown: [] };
  for (const h of inbox.pending()) {
    if (inbox.reported(h.order.id) || h.skipped) continue;
    if (h.begun) out.unknown.push({ order: h.order, killed: endRemains(builder, h.order.id, h.pid), ...(h.begunAt !== undefined ? { startedAt: h.begunAt } : {}) });
    else out.toBuild.push(h.order);
  }
  return out;
}

/** Where malformed markers are moved, in the state dir. */
export const SET_ASIDE = 'markers-set-aside';

/**
 * Running-build markers of simplebb 0.1 (DIR/running/ID.json): each names a build that began and may not have ended.
 * Ends what is left of each and hands back those with no kept report; malformed markers are moved to SET_ASIDE, never acted on.
 */
export async function legacyMarkers(dir: string, inbox: Inbox): Promise<{ ended: Array<{ order: BuildOrder; killed: number; startedAt?: number }>; invalid: string[] }> {
  const running = join(dir, 'running');
  const ended: Array<{ order: BuildOrder; killed: number; startedAt?: number }> = [];
  const invalid: string[] = [];
  let names: string[];
  try {
    names = readdirSync(running);
  } catch {
    return { ended, invalid };
  }
  for (const f of names) {
    const path = join(running, f);
    let m: Record<string, unknown> | undefined;
    try {
      m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch { /* unreadable */ }
    const valid = m && typeof m.id === 'string' && ID_RULE.test(m.id) && f === `${m.id}.json` && Number.isSafeInteger(m.pid) && (m.pid as number) > 1
      && typeof m.project === 'string' && typeof m.branch === 'string';
    if (valid && m) {
      const killed = endRemains(undefined, m.id as string, m.pid as number); // 0.1 builds carry no builder name
      if (!inbox.reported(m.id as string)) {
        ended.push({
          order: { type: 'suggest', id: m.id as string, seq: 1, project: m.project as string, branch: m.branch as string, ...(typeof m.revision === 'string' ? { revision: m.revision } : {}) },
          killed, ...(Number.isSafeInteger(m.startedAt) ? { startedAt: m.startedAt as number } : {}),
        });
      }
      await fs.rm(path, { force: true });
    } else {
      // Never acted on, never in the way of a start: moved aside for a person to look at.
      invalid.push(f);
      await fs.mkdir(join(dir, SET_ASIDE), { mode: 0o700 }).catch(() => undefined);
      await fs.rename(path, join(dir, SET_ASIDE, f)).catch(() => fs.rm(path, { force: true, recursive: true }));
    }
  }
  await fs.rmdir(running).catch(() => undefined);
  return { ended, invalid };
}
