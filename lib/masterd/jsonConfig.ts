// A JSON configuration file read and checked against its zod schema, with one clear line naming the file, the line and the field.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError, reason } from '../common/files.js';
import { lineOfPath, syntaxError } from '../common/jsonLines.js';

/** A configuration file larger than this is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface JsonConfig<T> {
  data: T;
  /** "the WHAT file FILE, line N" for the value at `path`, to begin a later error about it. */
  at(...path: Array<string | number>): string;
}

/** Reads `file` (the `what` file: "hooks", "notify"), parses it and checks it; throws a ConfigError with one line. */
export function readJsonConfig<S extends z.ZodType>(file: string, what: string, schema: S): JsonConfig<z.infer<S>> {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_CONFIG_BYTES) throw new ConfigError(`the ${what} file ${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read the ${what} file ${file}: ${reason(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const where = syntaxError(text);
    throw new ConfigError(where ? `the ${what} file ${file}, line ${where.line}: not JSON: ${where.message}` : `the ${what} file ${file} is not JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`the ${what} file ${file}, line ${lineOfPath(text, issue.path)}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return { data: parsed.data, at: (...path) => `the ${what} file ${file}, line ${lineOfPath(text, path)}` };
}
