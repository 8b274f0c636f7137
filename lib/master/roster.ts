// Which builders are connected, which are away and since when, and the fan-out of a suggestion to those that take it.
import type { Labels } from '../protocol/labels.js';
import type { Uname } from '../protocol/messages.js';
import type { StoredSuggestion } from '../store/store.js';
import type { Peer } from './peer.js';

/** A builder's connection after its hello. */
export interface BuilderSession {
  role: 'builder';
  peer: Peer;
  name: string;
  /** Its state dir's id: the same clientd after a restart has the same one. */
  instance: string;
  uname: Uname;
  node: string;
  projects: Set<string>;
  /** Its own labels and those it found (`script:*` are its projects; see withScripts). */
  labels: Labels;
  ignoreUnknown: boolean;
  jobs: number;
  /** Its clientd acts on `cancel` (its hello said so); an older one is never sent one. */
  cancels: boolean;
  /** It names in `received` the `one` orders it wrote: it may be given them (an older clientd is not). */
  ids: boolean;
  /** False until what it missed has been sent; live suggestions wait in `buffer` meanwhile, so it gets them in order. */
  live: boolean;
  buffer: StoredSuggestion[];
  /** Its labels with `script:*` as selectors see them, made when first needed and dropped when its labels or projects change. */
  view?: Labels;
  /** report-output chunks received for the report that follows them. */
  partial?: { id: string; chunks: string[]; chars: number };
}

/** A builder that went away: since when and why, and what it was (a selector is matched against it while it is away). */
export interface Away { since: number; reason: string; uname: Uname; node: string; labels: Labels; projects: Set<string>; ignoreUnknown: boolean }

export class Roster {
  private readonly sessions = new Map<string, BuilderSession>();
  private readonly away = new Map<string, Away>();

  get(name: string): BuilderSession | undefined {
    return this.sessions.get(name);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Makes `s` the connection of its builder (replacing whichever it had) and ends its time away. */
  add(s: BuilderSession): void {
    this.sessions.set(s.name, s);
    this.away.delete(s.name);
  }

  /** Removes `s` if it is still its builder's connection (not replaced meanwhile); the builder is away from `at`. */
  remove(s: BuilderSession, at: number, reason: string): boolean {
    if (this.sessions.get(s.name) !== s) return false;
    this.sessions.delete(s.name);
    this.away.set(s.name, { since: at, reason, uname: s.uname, node: s.node, labels: s.labels, projects: s.projects, ignoreUnknown: s.ignoreUnknown });
    return true;
  }

  /** Since when, and why, a builder that is not connected has been away (unknown for one not seen since the master started). */
  awayOf(name: string): Away | undefined {
    return this.away.get(name);
  }

  /** The connected builders. */
  all(): IterableIterator<BuilderSession> {
    return this.sessions.values();
  }

  /** Would a suggestion for `project` go to this builder? Every builder gets every project unless it ignores those it lacks. */
  takes(s: BuilderSession, project: string): boolean {
    return !s.ignoreUnknown || s.projects.has(project);
  }

  /** The builders a suggestion for `project` would be offered to now. */
  takers(project: string): string[] {
    const names: string[] = [];
    for (const b of this.sessions.values()) if (this.takes(b, project)) names.push(b.name);
    return names;
  }

  /**
   * Offers a suggestion to every connected builder that takes it: sent at once to those that are live, held for
   * those still catching up. Returns their names.
   */
  offer(s: StoredSuggestion, line: string, fits?: (b: BuilderSession) => boolean): string[] {
    const names: string[] = [];
    for (const b of this.sessions.values()) {
      if (!this.takes(b, s.project) || (fits && !fits(b))) continue;
      if (b.live) b.peer.sendLine(line);
      else b.buffer.push(s);
      names.push(b.name);
    }
    return names;
  }
}
