// Reports spooled by earlier clientds, one file each (in <state>/spool/, or for simplebb 0.1 at the top of the state
// dir): taken into the inbox journal at start, where every report now waits for its ack.
import { readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { makeDir } from '../common/files.js';
import { join } from 'node:path';
import { Inbox, type SpooledReport } from './inbox.js';

const NAME = /^(\d{15})-(\d{6})-([0-9a-z-]{1,64})\.json$/;
/** Reports are taken into the journal in batches of about this much, so a spool of hundreds of MiB is never all in memory. */
const BATCH_BYTES = 16 * 1024 * 1024;

export interface Adopted {
  /** Reports moved into the journal. */
  adopted: number;
  /** Ids of reports spooled by another builder name, set aside in <state>/spool/foreign/ and never sent. */
  foreign: string[];
  /** Files that could not be read or parsed, left where they are. */
  unreadable: string[];
}

/** Moves the reports spooled in the state dir's top and its spool/ (oldest first) into the inbox journal, then removes their files. */
export async function adoptSpool(stateDir: string, builder: string, inbox: Inbox): Promise<Adopted> {
  const out: Adopted = { adopted: 0, foreign: [], unreadable: [] };
  const spoolDir = join(stateDir, 'spool');
  for (const dir of [stateDir, spoolDir]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    let batch: Array<{ file: string; report: SpooledReport }> = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      await inbox.keep(...batch.filter((b) => !inbox.reported(b.report.id)).map((b) => b.report));
      for (const b of batch) rmSync(b.file, { force: true });
      out.adopted += batch.length;
      batch = [];
      bytes = 0;
    };
    for (const f of names.filter((n) => NAME.test(n)).sort()) {
      const file = join(dir, f);
      let r: (SpooledReport & { builder?: string }) | undefined;
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
        r = JSON.parse(text) as SpooledReport & { builder?: string };
      } catch { /* unreadable */ }
      if (!r || typeof r !== 'object' || r.id !== NAME.exec(f)![3] || !Inbox.keepable(r)) {
        out.unreadable.push(file);
        continue;
      }
      if (r.builder !== undefined && r.builder !== builder) {
        const to = join(spoolDir, 'foreign');
        makeDir(to, 'the foreign reports dir');
        renameSync(file, join(to, f));
        out.foreign.push(r.id);
        continue;
      }
      const { builder: _b, ...report } = r;
      batch.push({ file, report });
      bytes += text.length;
      if (bytes >= BATCH_BYTES) await flush();
    }
    if (batch.length) await flush();
    // A write a crash cut short was never sent: nothing to deliver.
    for (const f of names) if (f.startsWith('.') && f.endsWith('.tmp') && NAME.test(f.slice(1, -4))) rmSync(join(dir, f), { force: true });
  }
  try { rmdirSync(spoolDir); } catch { /* not empty (foreign/, unreadable files) or not there */ }
  return out;
}
