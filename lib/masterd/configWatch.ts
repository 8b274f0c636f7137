// A configuration file watched while the master runs: each change is read and checked again; a good one takes
// effect at once, a bad one is refused in one line (file, line, what is wrong) and the one in force stays.
import { watch } from 'chokidar';
import type { EventBus } from '../master/events.js';

/** Editors write a file in steps (truncate, write; or write a temp file and rename): read once they are done. */
const SETTLE_MS = 200;

export interface ConfigWatch {
  close(): Promise<void>;
}

/** Watches `file`; on a change, `read` it (throwing a one-line error when it is wrong) and hands the result to `apply`. */
export function watchConfig<T>(file: string, what: string, read: (file: string) => T, apply: (config: T) => void, events: EventBus): ConfigWatch {
  let timer: NodeJS.Timeout | undefined;
  const reload = (): void => {
    timer = undefined;
    let config: T;
    try {
      config = read(file);
    } catch (err) {
      events.notice('warn', 'config-refused', `${(err as Error).message} (the ${what} in force stay as they were)`, { file });
      return;
    }
    apply(config);
    events.notice('info', 'config-reloaded', `read the ${what} again from ${file}`, { file });
  };
  const changed = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, SETTLE_MS);
    timer.unref();
  };
  const watcher = watch(file, { ignoreInitial: true, persistent: false }).on('change', changed).on('add', changed);
  return {
    close: async () => {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
