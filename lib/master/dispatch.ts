// Dispatch to one builder (`--one`): the queue of orders waiting for a free builder, fair across projects, and the choice of builder.
import type { StoredSuggestion } from '../store/store.js';

/** A `one` suggestion waiting for a builder. */
export interface Order {
  suggestion: StoredSuggestion;
  /** 1 for the first attempt; a build lost with its builder comes back as the next. */
  attempt: number;
  queuedAt: number;
  /** Builders an earlier attempt went to: not offered to again. */
  tried: Set<string>;
}

/** A builder as the choice sees it. */
export interface Free {
  name: string;
  /** Builds it could start now: its --jobs less what it has open. */
  free: number;
  /** When it was last given a `one` order (0: never). */
  lastGiven: number;
  /** The project of the last report it sent (its work dir is warm for it). */
  lastProject?: string;
}

/**
 * The builder to give an order to, among those that may build it: the most free capacity, then the least recently
 * given one, then the one that last built this project; undefined when none has room.
 */
export function choose(project: string, able: readonly Free[]): string | undefined {
  let best: Free | undefined;
  for (const b of able) {
    if (b.free <= 0) continue;
    if (!best || better(b, best, project)) best = b;
  }
  return best?.name;
}

function better(a: Free, b: Free, project: string): boolean {
  if (a.free !== b.free) return a.free > b.free;
  if (a.lastGiven !== b.lastGiven) return a.lastGiven < b.lastGiven;
  const warm = (x: Free): boolean => x.lastProject === project;
  if (warm(a) !== warm(b)) return warm(a);
  return a.name < b.name;
}

/**
 * Orders waiting, one first-in-first-out line per project, served in turn: a project with a thousand queued
 * orders gets one dispatch per round like a project with one, so a flood from one project starves no other.
 */
export class FairQueue {
  private readonly lines = new Map<string, Order[]>();
  private readonly byId = new Map<string, Order>();
  /** Projects in the order they are served; the one served last goes to the back. */
  private turn: string[] = [];

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Order | undefined {
    return this.byId.get(id);
  }

  add(o: Order): void {
    if (this.byId.has(o.suggestion.id)) return;
    this.byId.set(o.suggestion.id, o);
    const p = o.suggestion.project;
    let line = this.lines.get(p);
    if (!line) {
      this.lines.set(p, (line = []));
      this.turn.push(p);
    }
    line.push(o);
  }

  remove(id: string): Order | undefined {
    const o = this.byId.get(id);
    if (!o) return undefined;
    this.byId.delete(id);
    const p = o.suggestion.project;
    const line = this.lines.get(p)!;
    line.splice(line.indexOf(o), 1);
    if (!line.length) {
      this.lines.delete(p);
      this.turn = this.turn.filter((x) => x !== p);
    }
    return o;
  }

  /** How many orders of its project wait before it (its place in its project's line). */
  ahead(id: string): number {
    const o = this.byId.get(id);
    return o ? this.lines.get(o.suggestion.project)!.indexOf(o) : 0;
  }

  /** Every order, project by project in turn, each line in order (what `simplebb queue` shows). */
  all(): Order[] {
    return this.turn.flatMap((p) => this.lines.get(p)!);
  }

  /**
   * Hands out orders fairly: rounds over the projects in turn, giving each project's first order that `place`
   * can place (it returns true when it took the order), until a round places nothing or `room` says no one has any.
   * A project that was served goes to the back of the turn.
   */
  serve(place: (o: Order) => boolean, room: () => boolean, scanPerProject = 64): number {
    let placed = 0;
    for (;;) {
      let round = 0;
      for (const p of [...this.turn]) {
        if (!room()) return placed;
        const line = this.lines.get(p);
        if (!line) continue;
        const found = line.slice(0, scanPerProject).find((o) => place(o));
        if (!found) continue;
        this.remove(found.suggestion.id);
        if (this.lines.has(p)) this.turn = [...this.turn.filter((x) => x !== p), p];
        round++;
      }
      placed += round;
      if (round === 0) return placed;
    }
  }
}
