// Suggestion ids: sortable by time and unique across restarts, so a report names its suggestion without the master's help.
import { randomBytes } from 'node:crypto';

/** Base-36 milliseconds and 12 random hex digits. */
export function newSuggestionId(now: number): string {
  return `${now.toString(36)}-${randomBytes(6).toString('hex')}`;
}
