// The builder's on-disk spool: every finished report is written here before it is sent, and removed once the master acknowledges it.
import { mkdirSync, promises as fs, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportFields } from '../protocol/messages.js';

/** A finished build's report with its kept output, as spooled and sent; `builder` is whose it is (older spools lack it). */
export interface SpooledReport extends ReportFields {
  builder?: string;
  output: string;
}

const NAME = /^(\d{15})-(\d{6})-([0-9a-z-]{1,64})\.json$/;

export class Spool {
  private readonly files = new Map<string, string>();
  private seq = 0;

  /**
   * Opens the spool in `dir` for `builder`; reports spooled by another builder are moved to DIR/foreign and named in
   * `foreign`. Reports that simplebb 0.1 spooled in `legacyDir` are moved in first.
   */
  constructor(private readonly dir: string, private readonly builder: string, readonly foreign: string[] = [], legacyDir?: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (legacyDir) for (const f of readdirSync(legacyDir)) if (NAME.test(f)) renameSync(join(legacyDir, f), join(dir, f));
    for (const f of readdirSync(dir)) {
      const m = NAME.exec(f);
      if (m) this.files.set(m[3]!, f);
      else if (/^\..*\.tmp$/.test(f)) rmSync(join(dir, f), { force: true }); // a write a crash cut short: the report was never sent
    }
    for (const id of [...this.files.keys()]) {
      const r = this.read(id);
      if (r?.builder !== undefined && r.builder !== builder) this.setAside(id);
    }
  }

  /** Writes the report durably (temp file, fsync, rename, fsync of the dir). */
  async write(report: SpooledReport): Promise<void> {
    const name = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++ % 1e6).padStart(6, '0')}-${report.id}.json`;
    const tmp = join(this.dir, `.${name}.tmp`);
    const fh = await fs.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ ...report, builder: this.builder }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, join(this.dir, name));
    const dh = await fs.open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    const old = this.files.get(report.id);
    this.files.set(report.id, name);
    if (old && old !== name) await fs.rm(join(this.dir, old), { force: true });
  }

  /** Forgets an acknowledged report. */
  async remove(id: string): Promise<void> {
    const name = this.files.get(id);
    if (!name) return;
    this.files.delete(id);
    await fs.rm(join(this.dir, name), { force: true });
  }

  has(id: string): boolean {
    return this.files.has(id);
  }

  get size(): number {
    return this.files.size;
  }

  /** Ids of spooled reports, oldest first. */
  ids(): string[] {
    return [...this.files.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([id]) => id);
  }

  /** One spooled report, or undefined if it cannot be read. */
  read(id: string): SpooledReport | undefined {
    const name = this.files.get(id);
    if (!name) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as SpooledReport;
    } catch {
      return undefined;
    }
  }

  private setAside(id: string): void {
    const name = this.files.get(id)!;
    const to = join(this.dir, 'foreign');
    mkdirSync(to, { recursive: true, mode: 0o700 });
    renameSync(join(this.dir, name), join(to, name));
    this.files.delete(id);
    this.foreign.push(id);
  }
}
