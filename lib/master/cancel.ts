// Cancelling a suggestion's builds: for each builder's part in it, what the master does (a pure decision; the relay acts on it).
import type { Verdict } from '../protocol/names.js';
import type { DeliveryState } from '../store/store.js';

/** A builder's part: its delivery's state, or `owed` (it is away, and would be sent the suggestion when it is back). */
export type PartState = DeliveryState | 'owed';

/** One builder's part in the suggestion as the master sees it now. */
export interface CancelPart {
  builder: string;
  state: PartState;
  /** Its report's verdict, once reported. */
  verdict?: Verdict;
  /** Connected now, and whether its clientd acts on `cancel` (its hello said `cancel`); undefined: not connected. */
  link?: { cancels: boolean };
}

export interface CancelInput {
  id: string;
  /** Only this builder's part (`simplebb cancel --builder`). */
  builder?: string;
  parts: CancelPart[];
  /**
   * Whether the suggestion still waits in the master's own dispatch queue (a `--one` order not yet given to any
   * builder). The hook for that queue: the relay answers false until it has one, and the plan then says `dequeue`.
   */
  queued?: boolean;
}

/**
 * What is done for one builder: `send` a `cancel` to it (it kills the build's process group, or drops the order from
 * its queue, and reports `cancelled`); `record` a `cancelled` verdict for it in the master's name (it is offline, so
 * nothing of the build runs there now); `unable`: its clientd is too old to be told.
 */
export type CancelStep =
  | { builder: string; action: 'send'; state: PartState }
  | { builder: string; action: 'record'; state: PartState }
  | { builder: string; action: 'unable'; state: PartState; why: string };

export type CancelPlan =
  | { ok: true; steps: CancelStep[]; dequeue: boolean; finished: Array<{ builder: string; state: PartState; verdict?: Verdict }> }
  | { ok: false; code: 'finished' | 'no-such-builder'; problem: string };

const OPEN: ReadonlySet<PartState> = new Set(['owed', 'offered', 'received', 'started']);

/** Decides, per builder, what cancelling suggestion `id` (or only `builder`'s part in it) does. */
export function planCancel(input: CancelInput): CancelPlan {
  const parts = input.builder === undefined ? input.parts : input.parts.filter((p) => p.builder === input.builder);
  if (input.builder !== undefined && parts.length === 0 && !input.queued) {
    return { ok: false, code: 'no-such-builder', problem: `suggestion ${input.id} was never offered to builder ${input.builder}` };
  }
  const steps: CancelStep[] = [];
  const finished: Array<{ builder: string; state: PartState; verdict?: Verdict }> = [];
  for (const p of parts) {
    if (!OPEN.has(p.state)) {
      finished.push({ builder: p.builder, state: p.state, ...(p.verdict !== undefined ? { verdict: p.verdict } : {}) });
      continue;
    }
    if (!p.link) steps.push({ builder: p.builder, action: 'record', state: p.state });
    else if (p.link.cancels) steps.push({ builder: p.builder, action: 'send', state: p.state });
    else {
      steps.push({
        builder: p.builder, action: 'unable', state: p.state,
        why: `builder ${p.builder} runs an older simplebb-clientd that does not know cancel; upgrade it, or stop it (simplebb-clientd kills its builds when it stops)`,
      });
    }
  }
  const dequeue = input.queued === true;
  if (steps.length === 0 && !dequeue) {
    if (parts.length === 0) return { ok: false, code: 'finished', problem: `suggestion ${input.id} went to no builder: nothing to cancel` };
    const what = input.builder === undefined ? `suggestion ${input.id}` : `builder ${input.builder}'s build of ${input.id}`;
    const how = finished.map((f) => `${f.builder} ${f.verdict ?? (f.state === 'skipped' ? 'skipped' : 'reported')}`);
    return { ok: false, code: 'finished', problem: `${what} has already finished${how.length ? ` (${how.join(', ')})` : ''}: nothing to cancel` };
  }
  return { ok: true, steps, dequeue, finished };
}
