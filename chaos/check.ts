// What must hold after any schedule of crashes, checked from the record, the builds' own run logs and the master's log.

export interface Evidence {
  builders: string[];
  /** Every suggestion in the record. */
  /** Every suggestion in the record, in the order of its log. */
  suggestions: Array<{ id: string; branch: string }>;
  /** Ids the suggesters were told were accepted. */
  accepted: string[];
  reports: Array<{ builder: string; id: string; verdict: string; exitCode: number; message: string | null }>;
  /** Per builder, what its builds wrote to their run log: `start ID` when a build began, `done ID CODE` when it ended. */
  runs: Map<string, Array<{ kind: 'start' | 'done'; id: string; code?: number }>>;
  /** The master's report log lines. */
  logged: Array<{ builder: string; id: string; note?: string }>;
}

export interface Verdicts { [verdict: string]: number }

export interface Findings {
  violations: string[];
  outcomes: number;
  verdicts: Verdicts;
  /** Builds that completed but whose clientd died before it saw the exit status: honestly reported lost. */
  completedButLost: number;
  runs: number;
}

/**
 * The four promises: no build runs twice on a builder; every suggestion (accepted ones in particular) ends with
 * exactly one final report from every builder; a completed build is never reported with another verdict (lost,
 * "unknown", is honest; superseded only when a newer suggestion for the branch exists); nothing is stored or
 * logged twice.
 */
export function check(e: Evidence): Findings {
  const violations: string[] = [];
  const bad = (m: string): void => { if (violations.length < 50) violations.push(m); };
  const inRecord = new Set(e.suggestions.map((s) => s.id));
  for (const id of e.accepted) if (!inRecord.has(id)) bad(`accepted suggestion ${id} is not in the record`);

  const report = new Map(e.reports.map((r) => [`${r.builder}\0${r.id}`, r]));
  const verdicts: Verdicts = {};
  let outcomes = 0;
  for (const s of e.suggestions) {
    for (const b of e.builders) {
      outcomes++;
      const r = report.get(`${b}\0${s.id}`);
      if (!r) {
        bad(`${b} has no report for ${s.id} (${s.branch})`);
        continue;
      }
      verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
    }
  }

  // Superseded is honest only when a newer suggestion for the same branch exists; the newest is never superseded.
  const newest = new Map<string, string>();
  for (const s of e.suggestions) newest.set(s.branch, s.id);
  const last = new Set(newest.values());
  for (const s of e.suggestions) {
    for (const b of e.builders) {
      if (report.get(`${b}\0${s.id}`)?.verdict === 'superseded' && last.has(s.id)) bad(`${b} reported ${s.id} superseded, but it is the newest for ${s.branch}`);
    }
  }

  let completedButLost = 0;
  let runs = 0;
  for (const b of e.builders) {
    const starts = new Map<string, number>();
    const done = new Map<string, number>();
    for (const l of e.runs.get(b) ?? []) {
      if (l.kind === 'start') {
        runs++;
        starts.set(l.id, (starts.get(l.id) ?? 0) + 1);
      } else {
        done.set(l.id, l.code!);
      }
    }
    for (const [id, n] of starts) if (n > 1) bad(`${b} ran ${id} ${n} times`);
    for (const s of e.suggestions) {
      const r = report.get(`${b}\0${s.id}`);
      if (!r) continue;
      const code = done.get(s.id);
      const ran = starts.has(s.id);
      if (r.verdict === 'success' || r.verdict === 'failure') {
        if (code === undefined) bad(`${b} reported ${s.id} ${r.verdict} but the build ${ran ? 'never completed' : 'never ran'}`);
        else if ((code === 0) !== (r.verdict === 'success')) bad(`${b} reported ${s.id} ${r.verdict} but the build exited ${code}`);
      } else if (r.verdict === 'lost') {
        if (code !== undefined) completedButLost++;
      } else if (ran && (r.verdict === 'superseded' || r.verdict === 'no-script' || r.verdict === 'refused')) {
        bad(`${b} reported ${s.id} ${r.verdict} but the build ran`);
      }
    }
  }

  // A report line, once per report; a `replaced` line follows only a verdict the master gave (lost, superseded, refused).
  const lines = new Map<string, number>();
  const everLogged = new Set<string>();
  for (const l of e.logged) {
    const k = `${l.builder}\0${l.id}`;
    everLogged.add(k);
    if (l.note !== 'replaced') lines.set(k, (lines.get(k) ?? 0) + 1);
  }
  for (const [k, n] of lines) if (n > 1) bad(`report ${k.replace('\0', ' ')} logged ${n} times`);
  for (const r of e.reports) if (!everLogged.has(`${r.builder}\0${r.id}`)) bad(`report ${r.builder} ${r.id} is stored but never logged`);
  return { violations, outcomes, verdicts, completedButLost, runs };
}
