// A JSON configuration file read and checked against its zod schema, with one clear line naming the file and the field.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError, reason } from '../common/files.js';

/** A configuration file larger than this is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Reads `file` (the `what` file: "hooks", "notify"), parses it and checks it; throws a ConfigError with one line. */
export function readJsonConfig<S extends z.ZodType>(file: string, what: string, schema: S): z.infer<S> {
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
    throw new ConfigError(`the ${what} file ${file} is not JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`the ${what} file ${file}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}
