// Builds orphaned by a clientd that died hard: each running build leaves a marker so the next clientd can end what is left of it.
import { mkdirSync, promises as fs, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildOrder } from '../protocol/messages.js';

export interface RunningMarker {
  id: string;
  pid: number;
  project: string;
  branch: string;
  revision?: string;
  startedAt: number;
}

/** Process ids whose process group is `pgid` and whose environment carries this build's id (Linux /proc; elsewhere none). */
export function survivors(pgid: number, buildId: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const needle = `SIMPLEBB_BUILD_ID=${buildId}\0`;
  const found: number[] = [];
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the ")" that ends the command name: state ppid pgrp ...
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(after[2]) !== pgid) continue;
      if (readFileSync(`/proc/${p}/environ`, 'latin1').includes(needle)) found.push(Number(p));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Markers of running builds, one file each under DIR/running. */
export class RunningMarkers {
  private readonly dir: string;

  constructor(spoolDir: string) {
    this.dir = join(spoolDir, 'running');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Written synchronously right after the spawn, so no await separates a running build from its marker. */
  add(order: BuildOrder, pid: number, startedAt: number): void {
    const m: RunningMarker = { id: order.id, pid, project: order.project, branch: order.branch, ...(order.revision ? { revision: order.revision } : {}), startedAt };
    writeFileSync(join(this.dir, `${order.id}.json`), JSON.stringify(m), { mode: 0o600 });
  }

  async remove(id: string): Promise<void> {
    await fs.rm(join(this.dir, `${id}.json`), { force: true });
  }

  /** Markers left by an earlier clientd that did not finish its builds. */
  left(): RunningMarker[] {
    const out: RunningMarker[] = [];
    for (const f of readdirSync(this.dir)) {
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as RunningMarker);
      } catch {
        // unreadable marker: nothing to act on
      }
    }
    return out;
  }
}
