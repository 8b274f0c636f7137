// The chaos schedule: what goes wrong, to whom, when and for how long, drawn from a seeded generator so a seed replays it.

/** mulberry32: a small, fast generator of numbers in [0, 1) that a seed fully determines. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Fault =
  | { at: number; kind: 'kill-master' }
  | { at: number; kind: 'kill-builder'; builder: number; downMs: number }
  | { at: number; kind: 'stop-builder'; builder: number; downMs: number }
  | { at: number; kind: 'sever'; builder: number }
  | { at: number; kind: 'blackhole'; builder: number; downMs: number };

export interface Suggestion { at: number; branch: string; durationMs: number; exit: number }

export interface Schedule { suggestions: Suggestion[]; faults: Fault[]; endsAt: number }

/**
 * `count` suggestions `intervalMs` apart (mostly distinct branches, a quarter repeated so coalescing happens, builds of
 * 0-300 ms, one in five failing), and faults spread over the same time: on average one every `faultEveryMs`,
 * never two at once on the same process.
 */
export function schedule(seed: number, count: number, builders: number, intervalMs: number, faultEveryMs: number): Schedule {
  const r = rng(seed);
  const suggestions: Suggestion[] = [];
  for (let i = 0; i < count; i++) {
    // One in four pushes again to one of the last few branches, so builders and the master have something to coalesce.
    // (The branch name carries the build's duration and exit code, so a push again is the same branch, and builds alike.)
    const again = i > 5 && r() < 0.25 ? suggestions[i - 1 - Math.floor(r() * 5)]! : undefined;
    const durationMs = again?.durationMs ?? Math.floor(r() * 300);
    const exit = again?.exit ?? (r() < 0.2 ? 1 : 0);
    suggestions.push({ at: i * intervalMs, branch: again?.branch ?? `s${i}-d${durationMs}-x${exit}`, durationMs, exit });
  }
  const endsAt = count * intervalMs;
  const faults: Fault[] = [];
  const busyUntil = new Array<number>(builders + 1).fill(0); // the last one is the master
  for (let at = faultEveryMs * r(); at < endsAt; at += faultEveryMs * (0.5 + r())) {
    const pick = r();
    if (pick < 0.15) {
      if (busyUntil[builders]! > at) continue;
      faults.push({ at, kind: 'kill-master' });
      busyUntil[builders] = at + 1500;
      continue;
    }
    const builder = Math.floor(r() * builders);
    if (busyUntil[builder]! > at) continue;
    let f: Fault;
    if (pick < 0.4) f = { at, kind: 'kill-builder', builder, downMs: r() < 0.5 ? 0 : Math.floor(r() * 2000) };
    else if (pick < 0.6) f = { at, kind: 'stop-builder', builder, downMs: 1000 + Math.floor(r() * 4000) };
    else if (pick < 0.8) f = { at, kind: 'sever', builder };
    else f = { at, kind: 'blackhole', builder, downMs: 1000 + Math.floor(r() * 4000) };
    faults.push(f);
    busyUntil[builder] = at + ('downMs' in f ? f.downMs : 0) + 1500;
  }
  return { suggestions, faults, endsAt };
}
