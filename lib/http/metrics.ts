// /metrics in Prometheus's text format (prom-client): counters kept from the master's events, gauges read at each
// scrape; every label set is capped, so a flood of branch names cannot grow the page without bound.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Board } from '../master/board.js';
import type { EventBus } from '../master/events.js';
import type { OverdueWatch } from '../master/overdue.js';
import { RED_VERDICTS, type History } from '../store/history.js';

/** Distinct label sets per metric; beyond it new ones are counted under "other". */
export const MAX_SERIES = 1000;

/** Maps label values to themselves until a metric has MAX_SERIES of them, then to "other". */
class Cap {
  private readonly seen = new Set<string>();
  labels<T extends Record<string, string>>(values: T): T {
    const key = JSON.stringify(values);
    if (this.seen.has(key)) return values;
    if (this.seen.size < MAX_SERIES) {
      this.seen.add(key);
      return values;
    }
    return Object.fromEntries(Object.keys(values).map((k) => [k, 'other'])) as T;
  }
}

export function createMetrics(events: EventBus, board: Board, history: History, overdue?: Pick<OverdueWatch, 'count'>): Registry {
  const registry = new Registry();
  const buildsCap = new Cap();
  const durationCap = new Cap();
  const suggestions = new Counter({ name: 'simplebb_suggestions_total', help: 'Suggestions recorded since the master started', registers: [registry] });
  const builds = new Counter({
    name: 'simplebb_builds_total', help: 'Reports recorded since the master started, by project, builder and verdict',
    labelNames: ['project', 'builder', 'verdict'], registers: [registry],
  });
  const duration = new Histogram({
    name: 'simplebb_build_duration_seconds', help: 'How long builds took, by project', labelNames: ['project'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600], registers: [registry],
  });
  const commit = new Histogram({
    name: 'simplebb_report_commit_seconds', help: 'How long a builder\'s report took from its arrival at the master to its durable commit (the ack waits for it)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
  });
  new Gauge({
    name: 'simplebb_builders', help: 'Builders the record knows, by state', labelNames: ['state'], registers: [registry],
    async collect() {
      const online = board.builders().length;
      const known = (await history.builderNames()).length;
      this.set({ state: 'online' }, online);
      this.set({ state: 'offline' }, Math.max(0, known - online));
    },
  });
  new Gauge({
    name: 'simplebb_failing', help: '1 while the newest outcome of a project × branch × builder is red (failure or timeout), else 0',
    labelNames: ['project', 'branch', 'builder'], registers: [registry],
    async collect() {
      this.reset();
      for (const r of await history.reports({ latest: true, limit: MAX_SERIES })) {
        this.set({ project: r.project, branch: r.branch, builder: r.builder }, RED_VERDICTS.has(r.verdict) ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'simplebb_overdue_builds', help: 'Running builds that have taken more than twice their usual duration (the median of their builder\'s last successful ones)', registers: [registry],
    collect() { this.set(overdue?.count() ?? 0); },
  });
  new Gauge({
    name: 'simplebb_record_bytes', help: 'Size of the record on disk', registers: [registry],
    async collect() { this.set(await history.bytes()); },
  });
  const notifications = new Counter({
    name: 'simplebb_notifications_total', help: 'Attempts to send a notification since the master started, by sink and outcome (sent, failed, given-up)',
    labelNames: ['sink', 'outcome'], registers: [registry],
  });
  events.on((e) => {
    if (e.type === 'suggestion') suggestions.inc();
    else if (e.type === 'notification') notifications.inc({ sink: e.sink, outcome: e.outcome });
    else if (e.type === 'report') {
      const r = e.report;
      builds.inc(buildsCap.labels({ project: r.project, builder: r.builder, verdict: r.verdict }));
      if (r.durationMs > 0) duration.observe(durationCap.labels({ project: r.project }), r.durationMs / 1000);
      if (e.commitMs !== undefined) commit.observe(e.commitMs / 1000);
    }
  });
  return registry;
}
