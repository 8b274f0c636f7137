// Request and answer over a child's IPC channel, one at a time, bounded in time.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DIST, nodeScript } from './common.js';

export function ask<T>(child: ChildProcess, msg: unknown, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: no answer to ${JSON.stringify(msg).slice(0, 80)} in ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m: unknown) => {
      clearTimeout(timer);
      const err = (m as { error?: string }).error;
      if (err) reject(new Error(`bench child: ${err}`));
      else resolve(m as T);
    });
    child.send(msg as object);
  });
}

/** A process of simulated builders. */
export function startSwarm(): ChildProcess {
  return nodeScript(join(DIST, 'bench', 'swarm.js'), [], { ipc: true });
}
