// Shared command-line plumbing: options that also read environment variables, number parsing, one-line errors.
import { Command, InvalidArgumentError, Option } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { die } from './args.js';
import { VERSION } from './version.js';

export { byteSize, die, integer, port, seconds } from './args.js';

/** The default home of simplebb's files: ~/.simplebb. */
export const SIMPLEBB_HOME = join(homedir(), '.simplebb');

/** A program with --help, --version, one-line errors and exit code 2 on bad flags. */
export function program(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .version(VERSION, '-V, --version')
    .helpOption('-h, --help')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride((err) => {
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2);
    });
}

/** A daemon: a program with the two logging options both daemons share. */
export function daemon(name: string, description: string): Command {
  return program(name, description)
    .addOption(opt('--log <file>', 'write the JSON log here (default: stdout)', 'SIMPLEBB_LOG'))
    .addOption(opt('--log-format <format>', 'how log lines on stdout look: readable on a terminal and JSON otherwise, or always one of them', 'SIMPLEBB_LOG_FORMAT', 'auto').choices(['auto', 'json', 'pretty']))
    .addOption(opt('--log-level <level>', 'least severe level logged', 'SIMPLEBB_LOG_LEVEL', 'info').choices(['debug', 'info', 'warn', 'error']));
}

/**
 * An option whose value can also come from an environment variable (for systemd's EnvironmentFile=).
 * With a parser, the default text is parsed too, so the program always sees the parsed type.
 */
export function opt<T = string>(flags: string, description: string, env: string, defaultText?: string | boolean, parse?: (text: string) => T): Option {
  const o = new Option(flags, description).env(env);
  // Our parsers throw plain Errors; commander reports only its own InvalidArgumentError as a usage error.
  if (parse) {
    o.argParser((text: string) => {
      try {
        return parse(text);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });
  }
  if (defaultText !== undefined) {
    if (parse && typeof defaultText === 'string') o.default(parse(defaultText), defaultText);
    else o.default(defaultText);
  }
  return o;
}

/** A boolean flag that can also be set with ENV=1 / true / yes / on (and stays off for 0 / false / no / off / empty). */
export function flag(flags: string, description: string, env: string): Option {
  const o = new Option(flags, `${description} (env: ${env}=1)`);
  const value = process.env[env];
  if (value !== undefined) o.default(/^(1|true|yes|on)$/i.test(value.trim()));
  return o;
}


/** A last resort: an unexpected error is logged and ends the daemon with one line and exit 1 (systemd or pm2 restarts it). */
export function onCrash(prog: string, log: { fatal: (obj: object, msg: string) => void }): void {
  const crash = (err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err));
    log.fatal({ event: 'crash', error: e.message, stack: e.stack }, 'unexpected error');
    die(prog, `unexpected error: ${e.message.split('\n')[0]}`);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

/** Turns signals into an orderly stop, with a hard deadline; a second signal exits at once. */
export function onShutdown(stop: () => Promise<void>, deadlineMs: number): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    const hard = setTimeout(() => process.exit(0), deadlineMs);
    hard.unref();
    void stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
