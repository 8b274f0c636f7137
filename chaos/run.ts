// `npm run chaos -- [--seed N[,N...]] [--outcomes 2000] [--builders 4]`: long chaos runs; prints each seed's figures and any failure's seed.
import { parseArgs } from 'node:util';
import { stopAll } from '../bench/common.js';
import { describe, runChaos } from './harness.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    outcomes: { type: 'string', default: '2000' },
    builders: { type: 'string', default: '4' },
    interval: { type: 'string', default: '100' },
    'fault-every': { type: 'string', default: '1500' },
  },
});
const num = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) {
    process.stderr.write(`chaos: --${name} must be a whole number of at least 1, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};
const seeds = values.seed.split(',').map((s) => num('seed', s));
let failed: number[] = [];
for (const seed of seeds) {
  try {
    const r = await runChaos({
      seed, outcomes: num('outcomes', values.outcomes), builders: num('builders', values.builders), intervalMs: num('interval', values.interval),
      faultEveryMs: num('fault-every', values['fault-every']), settleMs: 120_000, say: (l) => console.log(l),
    });
    for (const l of describe(r)) console.log(l);
    if (r.violations.length) failed.push(seed);
  } catch (err) {
    console.error(`chaos seed ${seed}: ${(err as Error).message}`);
    failed.push(seed);
  } finally {
    await stopAll();
  }
}
if (failed.length) console.log(`\nFAILED seeds: ${failed.join(',')} (replay one with: npm run chaos -- --seed ${failed[0]})`);
else console.log(`\nall ${seeds.length} seed${seeds.length === 1 ? '' : 's'} held`);
process.exit(failed.length ? 1 : 0);
