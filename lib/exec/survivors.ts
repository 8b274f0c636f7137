// Finding what is left of a build whose parent died: processes still in its process group that carry its build id.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process ids whose environment carries `SIMPLEBB_BUILD_ID=buildId` and `SIMPLEBB_BUILDER=builder` (Linux /proc;
 * elsewhere none), in process group `pgid` when it is known. The id keeps an unrelated process that reused a pid
 * out of it; the builder's name keeps out the same build run by another builder on this machine. Builds of
 * simplebb 0.1 carry no builder name: for them (`builder` undefined) the process group decides.
 */
export function survivors(buildId: string, builder: string | undefined, pgid?: number): number[] {
  if (builder === undefined && pgid === undefined) return [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const needles = [`SIMPLEBB_BUILD_ID=${buildId}\0`, ...(builder !== undefined ? [`SIMPLEBB_BUILDER=${builder}\0`] : [])];
  const found: number[] = [];
  for (const p of pids) {
    try {
      if (pgid !== undefined) {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        // Fields after the ")" that ends the command name: state ppid pgrp ...
        const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(after[2]) !== pgid) continue;
      }
      const env = `\0${readFileSync(`/proc/${p}/environ`, 'latin1')}`;
      if (needles.every((n) => env.includes(`\0${n}`))) found.push(Number(p));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
