// Overdue builds: a running build that has taken more than twice its usual duration, announced once per build on the events.
import type { Board } from './board.js';
import type { EventBus } from './events.js';
import { isOverdue } from './whereabouts.js';

/** The usual duration (ms) of a builder's builds of project × branch, from the record; undefined without history. */
export type UsualLookup = (project: string, branch: string, builder: string) => Promise<number | undefined>;

/** Running builds looked at per tick; beyond it the rest wait for the next ticks (a tick's work stays bounded). */
export const MAX_CHECKED_PER_TICK = 1000;
/** Lookups of a usual duration started per tick (each is a query of the record). */
export const MAX_LOOKUPS_PER_TICK = 50;

interface Watched {
  project: string;
  branch: string;
  startedAt: number;
  /** undefined: not looked up yet; null: being looked up, or no history. */
  usualMs: number | null | undefined;
  overdue: boolean;
  seen: number;
}

/**
 * Watches the builds the board shows running. A build's usual duration is looked up once, when it is first seen;
 * the build is overdue once it has run more than OVERDUE_FACTOR times that, and stops being watched when it ends.
 */
export class OverdueWatch {
  private readonly watched = new Map<string, Watched>();
  private ticks = 0;
  private cursor = 0;

  constructor(private readonly events: EventBus, private readonly board: Board, private readonly usual: UsualLookup, private readonly now: () => number = Date.now) {
    // A build that ended is no longer overdue, at once (not at the next tick).
    events.on((e) => {
      if (e.type === 'report') this.watched.delete(`${e.report.id}\0${e.report.builder}`);
    });
  }

  /** One look at the running builds: new ones get their usual duration looked up, those past twice it are announced. */
  tick(): void {
    const tick = ++this.ticks;
    const now = this.now();
    const running = this.board.builders().flatMap((b) => b.running.map((r) => ({ builder: b.name, ...r })));
    // A window of at most MAX_CHECKED_PER_TICK, moving on each tick, so every build is looked at in turn.
    const start = running.length > MAX_CHECKED_PER_TICK ? this.cursor % running.length : 0;
    this.cursor = start + MAX_CHECKED_PER_TICK;
    let lookups = 0;
    for (let i = 0; i < Math.min(running.length, MAX_CHECKED_PER_TICK); i++) {
      const r = running[(start + i) % running.length]!;
      if (r.project === undefined || r.branch === undefined) continue;
      const key = `${r.id}\0${r.builder}`;
      let w = this.watched.get(key);
      if (!w) {
        w = { project: r.project, branch: r.branch, startedAt: r.startedAt, usualMs: undefined, overdue: false, seen: tick };
        this.watched.set(key, w);
      }
      w.seen = tick;
      if (w.usualMs === undefined && lookups < MAX_LOOKUPS_PER_TICK) {
        lookups++;
        w.usualMs = null;
        const watched = w;
        this.usual(r.project, r.branch, r.builder).then((ms) => { watched.usualMs = ms ?? null; }, () => { watched.usualMs = undefined; });
      }
      if (typeof w.usualMs !== 'number' || w.overdue || !isOverdue(now - w.startedAt, w.usualMs)) continue;
      w.overdue = true;
      this.events.emit({ type: 'overdue', id: r.id, builder: r.builder, project: r.project, branch: r.branch, startedAt: w.startedAt, usualMs: w.usualMs });
    }
    // Builds not seen for a whole round of windows no longer run (the board has dropped them): let go.
    const round = Math.ceil(running.length / MAX_CHECKED_PER_TICK);
    for (const [key, w] of this.watched) if (tick - w.seen >= Math.max(1, round)) this.watched.delete(key);
  }

  /** How many running builds are overdue now. */
  count(): number {
    let n = 0;
    for (const w of this.watched.values()) if (w.overdue) n++;
    return n;
  }

  /** The usual duration of this build if it is overdue now. */
  overdueOf(id: string, builder: string): number | undefined {
    const w = this.watched.get(`${id}\0${builder}`);
    return w?.overdue && typeof w.usualMs === 'number' ? w.usualMs : undefined;
  }
}
