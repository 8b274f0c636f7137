// Who is connected and what each runs now, as pages and the API show it: kept from the master's events, never
// asked of the relay (the relay knows nothing of the web).
import { withScripts, type Labels } from '../protocol/labels.js';
import type { Uname } from '../protocol/messages.js';
import type { EventBus } from './events.js';

export interface RunningBuild { id: string; project?: string; branch?: string; startedAt: number }

export interface OnlineBuilder {
  name: string;
  address: string;
  /** When this connection said hello. */
  since: number;
  uname: Uname;
  node: string;
  projects: string[];
  /** Its labels as a selector sees them: its own, what it found, and `script:NAME=true` per project. */
  labels: Labels;
  jobs: number;
  running: RunningBuild[];
}

/** Suggestions remembered to name a running build's project and branch; older ones are forgotten first. */
const MAX_REMEMBERED = 10_000;

export class Board {
  private readonly online = new Map<string, OnlineBuilder & { own: Labels; runningById: Map<string, RunningBuild> }>();
  private readonly made = new Map<string, { project: string; branch: string }>();

  constructor(events: EventBus, private readonly now: () => number = Date.now) {
    events.on((e) => {
      switch (e.type) {
        case 'builder-up':
          this.online.set(e.name, {
            name: e.name, address: e.address, since: this.now(), uname: e.uname, node: e.node, projects: [...e.projects], jobs: e.jobs,
            own: e.labels, labels: withScripts(e.labels, e.projects), running: [], runningById: new Map(),
          });
          return;
        case 'builder-down':
          this.online.delete(e.name);
          return;
        case 'projects': {
          const b = this.online.get(e.name);
          if (b) {
            b.projects = [...e.projects];
            b.labels = withScripts(b.own, e.projects);
          }
          return;
        }
        case 'labels': {
          const b = this.online.get(e.name);
          if (b) {
            b.own = e.labels;
            b.labels = withScripts(e.labels, b.projects);
          }
          return;
        }
        case 'suggestion':
          this.made.set(e.suggestion.id, { project: e.suggestion.project, branch: e.suggestion.branch });
          if (this.made.size > MAX_REMEMBERED) this.made.delete(this.made.keys().next().value!);
          return;
        case 'started': {
          const b = this.online.get(e.builder);
          if (b) b.runningById.set(e.id, { id: e.id, ...this.made.get(e.id), startedAt: e.startedAt });
          return;
        }
        case 'report':
          this.online.get(e.report.builder)?.runningById.delete(e.report.id);
          return;
        default:
      }
    });
  }

  /** The connected builders, by name, each with the builds it runs now (oldest first). */
  builders(): OnlineBuilder[] {
    return [...this.online.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(({ runningById, own: _own, ...b }) => ({
      ...b, running: [...runningById.values()].sort((x, y) => x.startedAt - y.startedAt),
    }));
  }

  /** Whether a build of this project (and branch, and builder, when given) runs now. */
  running(project: string, branch?: string, builder?: string): boolean {
    for (const b of this.online.values()) {
      if (builder !== undefined && b.name !== builder) continue;
      for (const r of b.runningById.values()) if (r.project === project && (branch === undefined || r.branch === branch)) return true;
    }
    return false;
  }
}
