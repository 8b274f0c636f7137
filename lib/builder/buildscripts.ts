// The buildscripts dir: which projects this builder can build, where each script is, and watching for changes.
import { watch } from 'chokidar';
import { accessSync, constants, promises as fs, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { untrusted } from '../common/files.js';
import { projectProblem } from '../protocol/names.js';

export type ScriptLookup = { ok: true; path: string } | { ok: false; problem: string };

/**
 * Finds the script for `project`: a valid name that resolves (after symlinks) to a regular executable file inside
 * `dir`. Synchronous: a handful of system calls on a local dir, without the hand-offs to libuv's threads that the
 * promise versions cost on every build.
 */
export function resolveScript(dir: string, project: string): ScriptLookup {
  const nameProblem = projectProblem(project);
  if (nameProblem) return { ok: false, problem: nameProblem };
  let root: string;
  let real: string;
  try {
    root = realpathSync.native(dir);
    real = realpathSync.native(join(root, project));
  } catch {
    return { ok: false, problem: `no build script named ${project}` };
  }
  if (!real.startsWith(root + sep)) return { ok: false, problem: `build script ${project} resolves outside the buildscripts dir` };
  try {
    const st = statSync(real);
    if (!st.isFile()) return { ok: false, problem: `build script ${project} is not a regular file` };
    accessSync(real, constants.X_OK);
    // Someone who can change the script can run anything as this builder's user: not run (like sshd's StrictModes).
    const why = untrusted(real, st);
    if (why) return { ok: false, problem: `build script ${project} is not run: ${why}` };
  } catch {
    return { ok: false, problem: `build script ${project} is not executable` };
  }
  return { ok: true, path: real };
}

/** The projects in `dir`: every valid name that resolves to a regular executable file inside it, sorted. */
export async function listProjects(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names.filter((n) => resolveScript(dir, n).ok).sort();
}

/** Calls `onChange` with the new project list whenever scripts are added, removed or changed (debounced). */
export function watchProjects(dir: string, onChange: (projects: string[]) => void, debounceMs = 100): { close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const rescan = (): void => {
    timer = undefined;
    void listProjects(dir).then((projects) => {
      const key = projects.join('\0');
      if (key !== last) {
        last = key;
        onChange(projects);
      }
    });
  };
  void listProjects(dir).then((p) => { last = p.join('\0'); });
  const watcher = watch(dir, { depth: 0, ignoreInitial: true, followSymlinks: false });
  watcher.on('all', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(rescan, debounceMs);
  });
  watcher.on('error', () => { /* a vanished dir shows up as an empty list on the next rescan */ });
  return {
    close: async () => {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
