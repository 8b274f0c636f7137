// Reading a role's token from a file or the environment, with one-line errors and a warning for loose file modes.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, reason } from './files.js';

/**
 * The first line of a secret file, trimmed; warns when others may read it. `name` says what it is in the errors:
 * "token file", "the SMTP password file".
 */
export function readSecretFile(file: string, name: string, warn: (m: string) => void = () => undefined): string {
  let text: string;
  try {
    const st = statSync(file);
    if (st.mode & 0o077) warn(`${name} ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${name} ${file}: ${reason(err)}`);
  }
  const secret = text.split('\n')[0]!.trim();
  if (!secret) throw new ConfigError(`${name} ${file} is empty`);
  return secret;
}

/** A token from a file (first line, trimmed) or else an environment variable; throws a one-line Error when unusable. */
export function readToken(file: string | undefined, envName: string, warn: (m: string) => void = () => undefined): string | undefined {
  let token: string | undefined;
  if (file) {
    token = readSecretFile(file, 'token file', warn);
  } else {
    token = process.env[envName]?.trim() || undefined;
  }
  if (token !== undefined && token.length < 16) throw new ConfigError(`the token from ${file ?? envName} is shorter than 16 characters; use a long random one (openssl rand -hex 32)`);
  return token;
}
