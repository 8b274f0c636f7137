// `npm run bench [-- --quick] [-- --only NAME[,NAME]]`: every scenario prints a table and writes bench/results/NAME.json.
import { abuse } from './abuse.js';
import { durable } from './durable.js';
import { queue } from './queue.js';
import { fanout } from './fanout.js';
import { hook } from './hook.js';
import { http } from './http.js';
import { memory } from './memory.js';
import { notify } from './notify.js';
import { hooks } from './hooks.js';
import { logpage } from './logpage.js';
import { output } from './output.js';
import { pgstore } from './pgstore.js';
import { roundtrip } from './roundtrip.js';
import { sse } from './sse.js';
import { stopAll, writeResult } from './common.js';

const scenarios: Record<string, (quick: boolean) => Promise<unknown>> = { fanout, roundtrip, hook, durable, memory, output, abuse, http, hooks, notify, sse, logpage, queue, pgstore };

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : Object.keys(scenarios);
const unknown = only.filter((n) => !scenarios[n]);
if (unknown.length) {
  console.error(`bench: unknown scenario ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}

const t0 = Date.now();
let failed = false;
for (const name of only) {
  try {
    const result = await scenarios[name]!(quick);
    console.log(`  → ${writeResult(name, { quick, result })}`);
  } catch (err) {
    failed = true;
    console.error(`bench ${name}: ${(err as Error).message}`);
  } finally {
    await stopAll();
  }
}
console.log(`\nbench finished in ${((Date.now() - t0) / 1000).toFixed(0)} s${quick ? ' (quick)' : ''}`);
process.exit(failed ? 1 : 0);
