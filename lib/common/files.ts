// Files and directories named in the configuration: made and opened with errors that name the path and the reason
// in words, never a loop (Node's recursive mkdir spins for ever on a path under /proc).
import { closeSync, existsSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The exit code of a configuration a daemon cannot run with (sysexits' EX_CONFIG): systemd units do not restart on it. */
export const EXIT_CONFIG = 78;

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it exists and is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** An error's reason in words ("permission denied"), for one-line messages. */
export function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e.code && REASONS[e.code]) ?? e.code ?? (e instanceof Error ? e.message.split('\n')[0]! : String(err));
}

/** A configuration problem: one line naming what, where and why; the daemons exit EXIT_CONFIG on it. */
export class ConfigError extends Error {}

/**
 * Makes `dir` and its missing parents (mode for the ones made), one level at a time, so that a path that cannot
 * exist fails at once; throws a ConfigError naming `what` (for example "the data dir"), the path and the reason.
 */
export function makeDir(dir: string, what: string, mode = 0o700): void {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let d = target; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDir(d)) continue;
      throw new ConfigError(`cannot create ${what} ${target}: ${reason(err)}${d !== target ? ` (at ${d})` : ''}`);
    }
  }
  if (!isDir(target)) throw new ConfigError(`cannot create ${what} ${target}: it exists and is not a directory`);
}

/** Makes sure `file` can be appended to (creating it and its dir, mode 0600), or throws a ConfigError naming it. */
export function checkAppendable(file: string, what: string): void {
  try {
    makeDir(dirname(resolve(file)), 'its directory');
  } catch (err) {
    throw new ConfigError(`cannot write ${what} ${resolve(file)}: ${(err as Error).message}`);
  }
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (err) {
    throw new ConfigError(`cannot write ${what} ${resolve(file)}: ${reason(err)}`);
  }
}

/** Whether `path` is a directory (following symbolic links). */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Why `path` (a dir or file clientd trusts: buildscripts, a token, its state) must not be trusted, like sshd's
 * StrictModes: another user can write it (group or others have write permission), or someone other than this user
 * or root owns it. Null when it is fine or not there.
 */
export function untrusted(path: string, st?: { mode: number; uid: number }): string | null {
  let s = st;
  if (!s) {
    try {
      s = statSync(path);
    } catch {
      return null;
    }
  }
  const me = process.getuid?.();
  if (s.mode & 0o022) return `${resolve(path)} is writable by other users (mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}): chmod go-w it`;
  if (me !== undefined && s.uid !== me && s.uid !== 0) return `${resolve(path)} is owned by uid ${s.uid}, not by this user (uid ${me}) or root`;
  return null;
}

/**
 * Like untrusted(), for `path` and every dir above it up to /, as sshd's StrictModes walk a path: another user who
 * can write a parent (group or others have write permission, and it has no sticky bit as /tmp has) or owns one
 * could put something else in its place. Null when all of it is fine or `path` is not there.
 */
export function untrustedPath(path: string): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null;
  }
  const own = untrusted(real);
  if (own) return own;
  const me = process.getuid?.();
  for (let d = dirname(real); ; d = dirname(d)) {
    let s;
    try {
      s = statSync(d);
    } catch {
      return null;
    }
    const mode = (s.mode & 0o7777).toString(8).padStart(4, '0');
    if (s.mode & 0o022 && !(s.mode & 0o1000)) return `${d} is writable by other users (mode ${mode}) and has no sticky bit: they could put something else in place of ${real}; chmod go-w it`;
    if (me !== undefined && s.uid !== me && s.uid !== 0) return `${d} is owned by uid ${s.uid}, not by this user (uid ${me}) or root: that user could put something else in place of ${real}`;
    if (dirname(d) === d) return null;
  }
}
