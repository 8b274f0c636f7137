// Parsing of command-line values and the one-line exit, with no dependencies (simplebb-suggest must start fast).
import { readFileSync } from 'node:fs';
import { ConfigError, reason } from './files.js';

/** Parses seconds (fractions allowed) into milliseconds; `allowZero` lets 0 mean "none". */
export function seconds(name: string, allowZero = false) {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new Error(`${name} must be a number of seconds${allowZero ? ' (0 for none)' : ' greater than 0'}, got "${text}"`);
    }
    return Math.round(n * 1000);
  };
}

/** Parses a whole number in [min, max]. */
export function integer(name: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    return n;
  };
}

const UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** Parses a size in bytes, with an optional binary unit (64M, 64MiB, 512k), from `min` to `max` bytes. */
export function byteSize(name: string, min: number, max: number) {
  return (text: string): number => {
    const m = /^(\d{1,15})\s*([a-z]*)$/i.exec(text);
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    const n = m && unit ? Number(m[1]) * unit : NaN;
    if (!(n >= min && n <= max)) throw new Error(`${name} must be a size from ${min} to ${max} bytes (a number, or with k, M or G), got "${text}"`);
    return n;
  };
}

/** Parses a TCP port. */
export function port(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new Error(`port must be a number from 0 to 65535, got "${text}"`);
  return n;
}

/** What node:util's parseArgs threw, as one line: "unknown option '--x'", "option '-p, --port <value>' argument missing". */
export function argsProblem(err: unknown): string {
  const e = err as Error & { code?: string };
  const opt = /'([^']+)'/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${opt}'`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (e.message.includes('argument missing')) return `option '${opt}' argument missing`;
    // `--branch -x`: the value may be a forgotten one or a value that starts with "-".
    if (e.message.includes('ambiguous')) return `option '${opt}' argument missing, or it starts with "-" (then write ${opt!.startsWith('--') ? `${opt}=VALUE` : `${opt}VALUE`})`;
    return `option '${opt}' takes no value`;
  }
  return e.message.split('\n')[0]!;
}

/** Prints one line naming the failure and exits; never a stack trace. */
export function die(prog: string, message: string, code = 1): never {
  process.stderr.write(`${prog}: ${message}\n`);
  process.exit(code);
}

/** Reads a file named on the command line; throws a ConfigError whose message names the flag, the file and the reason. */
export function readNamedFile(path: string, flag?: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${flag ? `${flag}: ` : ''}cannot read ${path}: ${reason(err)}`);
  }
}

/** Reads a PEM file (a certificate or a private key) named by `flag`; anything that is not PEM is refused, naming the file. */
export function readPem(path: string, flag: string, kind: 'certificate' | 'private key'): Buffer {
  const pem = readNamedFile(path, flag);
  const label = kind === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
  if (!label.test(pem.toString('latin1'))) throw new ConfigError(`${flag}: ${path} is not a PEM ${kind} (no "-----BEGIN ${kind === 'certificate' ? 'CERTIFICATE' : 'PRIVATE KEY'}-----" line)`);
  return pem;
}
