// Test harness: whether the PostgreSQL suites run (locally they may skip, saying why; in CI they must run), and the server they start.
import { PG_BIN, pgInstalled } from '../bench/pgServer.js';

export { startPg, stopAllPg, type PgServer } from '../bench/pgServer.js';

/** Whether the suite can run; throws in CI (CI set) when PostgreSQL is missing, so that the suite cannot pass by skipping. */
export function pgAvailable(): boolean {
  const there = pgInstalled();
  if (!there && process.env.CI) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb): CI must run the PostgreSQL suites (.ci/run installs postgresql)`);
  if (!there) process.stderr.write(`PostgreSQL 15 is not installed (${PG_BIN}/initdb): the PostgreSQL store's tests are skipped here\n`);
  return there;
}
