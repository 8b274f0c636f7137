// A labels file: KEY=VALUE lines (blank lines and # comments allowed) a builder reads at start and again on every change.
import { watch } from 'chokidar';
import { promises as fs } from 'node:fs';
import { parseLabel, MAX_LABELS, type Labels } from '../protocol/labels.js';

/** A labels file larger than this is refused: 64 labels of 64 + 128 characters fit many times over. */
const MAX_FILE_BYTES = 64 * 1024;

/** Parses a labels file's text; throws one line naming the line that is wrong. */
export function parseLabelsFile(text: string): Labels {
  const labels: Labels = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    try {
      const [k, v] = parseLabel(line);
      labels[k] = v;
    } catch (err) {
      throw new Error(`line ${i + 1}: ${(err as Error).message}`);
    }
  });
  if (Object.keys(labels).length > MAX_LABELS) throw new Error(`at most ${MAX_LABELS} labels, got ${Object.keys(labels).length}`);
  return labels;
}

/** Reads a labels file: its labels, or one line naming what is wrong (a missing file has no labels). */
export async function readLabelsFile(file: string): Promise<{ labels: Labels; problem?: string }> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (st.size > MAX_FILE_BYTES) return { labels: {}, problem: `${file} is larger than ${MAX_FILE_BYTES} bytes` };
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { labels: {} };
    return { labels: {}, problem: `cannot read ${file}: ${(err as Error).message}` };
  }
  try {
    return { labels: parseLabelsFile(text) };
  } catch (err) {
    return { labels: {}, problem: `${file}: ${(err as Error).message}` };
  }
}

/**
 * Reads `file` now (throwing when it is wrong: a bad file at start is a configuration error), then calls `onChange`
 * with its new labels each time it changes, 100 ms after the last write; a bad change keeps the labels it had.
 */
export async function watchLabelsFile(
  file: string,
  onChange: (labels: Labels, problem?: string) => void,
  initial: (labels: Labels) => void,
  debounceMs = 100,
): Promise<{ close(): Promise<void> }> {
  const first = await readLabelsFile(file);
  if (first.problem) throw new Error(`--labels-file: ${first.problem}`);
  initial(first.labels);
  let last = JSON.stringify(first.labels);
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(file, { ignoreInitial: true, followSymlinks: false });
  watcher.on('all', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void readLabelsFile(file).then(({ labels, problem }) => {
        if (problem) return onChange({}, problem);
        const key = JSON.stringify(labels);
        if (key === last) return;
        last = key;
        onChange(labels);
      });
    }, debounceMs);
  });
  watcher.on('error', () => { /* the next change is read again */ });
  return {
    close: async () => {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
