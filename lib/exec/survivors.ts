// Finding what is left of a build whose parent died: processes still in its process group that carry its build id.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process ids whose environment carries `SIMPLEBB_BUILD_ID=buildId` (Linux /proc; elsewhere none), in process
 * group `pgid` when it is known. The id keeps an unrelated process that reused a pid out of it.
 */
export function survivors(buildId: string, pgid?: number): number[] {
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
      if (pgid !== undefined) {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        // Fields after the ")" that ends the command name: state ppid pgrp ...
        const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(after[2]) !== pgid) continue;
      }
      if (readFileSync(`/proc/${p}/environ`, 'latin1').includes(needle)) found.push(Number(p));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
