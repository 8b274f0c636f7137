// The notification configuration file (`--notify FILE`, JSON): rules and the sinks they name, secrets by file path;
// read and checked at start, one clear line naming the file and the field when it is wrong.
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError, reason } from '../common/files.js';
import { readSecretFile } from '../common/token.js';
import { FORGES, type ForgeName } from '../forges/forge.js';
import { FORMATS } from '../notify/formats.js';
import { WHENS, type Rule } from '../notify/rules.js';
import type { SinkConfig } from '../notify/sinks.js';
import { readJsonConfig } from './jsonConfig.js';

/** How long one attempt may take unless a sink says otherwise. */
const DEFAULT_TIMEOUT_SECONDS = 30;
/** A notification not sent after this many hours is given up: a sink down over a long weekend still gets it. */
const DEFAULT_GIVE_UP_HOURS = 72;
/** The longest a sink may take per attempt: the sender's batch waits for it. */
const MAX_TIMEOUT_SECONDS = 600;

const Glob = z.string().min(1).max(256);
const Timeout = z.number().int().min(1).max(MAX_TIMEOUT_SECONDS);

const Mail = z.strictObject({
  type: z.literal('mail'),
  url: z.string().regex(/^smtps?:\/\/[^\s]+$/, 'must be smtp://HOST[:PORT] or smtps://HOST[:PORT]').optional(),
  host: z.string().min(1).max(253).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  secure: z.boolean().optional(),
  user: z.string().min(1).max(256).optional(),
  passwordFile: z.string().min(1).optional(),
  from: z.string().min(3).max(320),
  to: z.array(z.string().min(3).max(320)).min(1).max(100),
  timeoutSeconds: Timeout.optional(),
});

const Webhook = z.strictObject({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  format: z.enum(FORMATS).default('json'),
  /** The Standard Webhooks secret (whsec_…), first line of the file. */
  secretFile: z.string().min(1).optional(),
  /** A bearer token (Matrix access token, ntfy token), first line of the file. */
  tokenFile: z.string().min(1).optional(),
  timeoutSeconds: Timeout.optional(),
});

const Script = z.strictObject({
  type: z.literal('script'),
  dir: z.string().min(1),
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a file name in dir (letters, digits, . _ -)').refine((n) => n !== '.' && n !== '..', 'must be a file name in dir'),
  timeoutSeconds: Timeout.default(DEFAULT_TIMEOUT_SECONDS),
});

/** Where each forge's API is unless the file says otherwise (Gitea, Forgejo and GitLab are self-hosted: no default). */
const DEFAULT_API: Partial<Record<ForgeName, string>> = { github: 'https://api.github.com' };

const Status = z.strictObject({
  type: z.literal('status'),
  forge: z.enum(FORGES),
  /** The API's root: https://api.github.com (the default for github), https://gitea.example.org, https://gitlab.example.org. */
  apiUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  /** owner/name (GitLab: the project's full path). */
  repository: z.string().regex(/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)+$/, 'must be owner/name (GitLab: group/…/project)'),
  /** A token that may set commit statuses, first line of the file. */
  tokenFile: z.string().min(1),
  timeoutSeconds: Timeout.optional(),
});

const SinkSchema = z.discriminatedUnion('type', [Mail, Webhook, Script, Status], { error: 'type must be "mail", "webhook", "script" or "status"' });

const RuleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, . _ -').optional(),
  when: z.array(z.enum(WHENS)).min(1),
  projects: z.array(Glob).max(100).optional(),
  branches: z.array(Glob).max(100).optional(),
  builders: z.array(Glob).max(100).optional(),
  perBuilder: z.boolean().optional(),
  sink: z.string().min(1),
});

const File = z.strictObject({
  /** The master's public URL, for links to build pages. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  giveUpAfterHours: z.number().min(0.01).max(24 * 365).optional(),
  sinks: z.record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a sink name is 1-64 letters, digits, . _ -'), SinkSchema),
  /** The mail sink whose server and `from` mail a suggester's own address (`simplebb-suggest --notify`); absent: such suggestions are refused. */
  suggesterMail: z.string().min(1).optional(),
  rules: z.array(RuleSchema).max(1000).default([]),
});

export interface NotifyConfig {
  rules: Rule[];
  sinks: Map<string, SinkConfig>;
  baseUrl?: string;
  giveUpAfterMs: number;
  /** The mail sink suggesters' own addresses are mailed with (`--notify`). */
  suggesterMail?: string;
}

/** The first line of a secret file, trimmed; warns when others may read it. */
function secretFrom(file: string, what: string, warn: (m: string) => void): string {
  return readSecretFile(file, `the ${what} file`, warn);
}

/** Reads and checks `file`; throws a ConfigError naming the file and what is wrong in it. */
export function readNotifyConfig(file: string, warn: (m: string) => void): NotifyConfig {
  const { data, at } = readJsonConfig(file, 'notify', File);
  /** An error about the value at `field` (dotted), naming its line. */
  const bad = (field: string, what: string): ConfigError => new ConfigError(`${at(...field.split('.'))}: ${field}: ${what}`);
  // Paths in the file are relative to the file.
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(dirname(file), p));
  const baseUrl = data.url;
  const sinks = new Map<string, SinkConfig>();
  for (const [name, s] of Object.entries(data.sinks)) {
    const field = `sinks.${name}`;
    const timeoutMs = (s.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    const base = baseUrl ? { baseUrl } : {};
    if (s.type === 'mail') {
      if (!s.url === !s.host) throw bad(field, 'needs url (smtp://HOST:PORT) or host, not both');
      if (s.passwordFile && !s.user) throw bad(`${field}.passwordFile`, 'needs user');
      const password = s.passwordFile ? secretFrom(path(s.passwordFile), 'SMTP password', warn) : undefined;
      sinks.set(name, {
        type: 'mail', ...(s.url ? { url: s.url } : { host: s.host!, port: s.port ?? (s.secure ? 465 : 25) }),
        ...(s.secure !== undefined ? { secure: s.secure } : {}), ...(s.user ? { user: s.user } : {}), ...(password !== undefined ? { password } : {}),
        from: s.from, to: s.to, timeoutMs, ...base,
      });
    } else if (s.type === 'webhook') {
      if (s.format === 'json' && !s.secretFile) throw bad(`${field}.secretFile`, 'is needed for the json format (receivers check the Standard Webhooks signature)');
      const secret = s.secretFile ? secretFrom(path(s.secretFile), 'webhook secret', warn) : undefined;
      if (secret !== undefined && !/^whsec_[A-Za-z0-9+/=]{24,}$/.test(secret)) {
        throw bad(`${field}.secretFile`, `the secret in ${s.secretFile} is not whsec_ followed by base64 of at least 18 bytes (make one: echo whsec_$(openssl rand -base64 32))`);
      }
      const token = s.tokenFile ? secretFrom(path(s.tokenFile), 'webhook token', warn) : undefined;
      if (s.format === 'matrix' && !token) throw bad(`${field}.tokenFile`, 'is needed for the matrix format (the access token of the account that posts)');
      sinks.set(name, { type: 'webhook', url: s.url, format: s.format, ...(secret ? { secret } : {}), ...(token ? { token } : {}), timeoutMs, ...base });
    } else if (s.type === 'status') {
      const apiUrl = s.apiUrl ?? DEFAULT_API[s.forge];
      if (!apiUrl) throw bad(field, `needs apiUrl for ${s.forge} (the address of its web site, e.g. https://${s.forge}.example.org)`);
      const token = secretFrom(path(s.tokenFile), `${s.forge} token`, warn);
      sinks.set(name, { type: 'status', forge: s.forge, apiUrl, repository: s.repository, token, timeoutMs, ...base });
    } else {
      const dir = path(s.dir);
      const script = resolve(dir, s.name);
      try {
        if (!statSync(script).isFile()) throw new Error('not a file');
        accessSync(script, constants.X_OK);
      } catch (err) {
        throw bad(`${field}.name`, `${script} is not an executable file (${reason(err)})`);
      }
      sinks.set(name, { type: 'script', dir, name: s.name, timeoutMs: s.timeoutSeconds * 1000, ...base });
    }
  }
  const rules = data.rules.map((r, i): Rule => {
    if (!sinks.has(r.sink)) throw bad(`rules.${i}.sink`, `no sink named ${JSON.stringify(r.sink)} (sinks: ${[...sinks.keys()].join(', ') || 'none'})`);
    return {
      name: r.name ?? `rule${i + 1}`, when: r.when, ...(r.projects ? { projects: r.projects } : {}), ...(r.branches ? { branches: r.branches } : {}),
      ...(r.builders ? { builders: r.builders } : {}), perBuilder: r.perBuilder ?? false, sink: r.sink,
    };
  });
  const mailer = data.suggesterMail;
  if (mailer !== undefined && sinks.get(mailer)?.type !== 'mail') {
    const mails = [...sinks].filter(([, c]) => c.type === 'mail').map(([n]) => n);
    throw bad('suggesterMail', `${JSON.stringify(mailer)} is not a mail sink (mail sinks: ${mails.join(', ') || 'none'})`);
  }
  if (rules.length === 0 && mailer === undefined) throw bad('rules', 'needs at least one rule (or suggesterMail)');
  const names = new Set<string>();
  for (const [i, r] of rules.entries()) {
    if (names.has(r.name)) throw bad(`rules.${i}.name`, `${r.name} names two rules`);
    names.add(r.name);
  }
  return { rules, sinks, ...(baseUrl ? { baseUrl } : {}), giveUpAfterMs: (data.giveUpAfterHours ?? DEFAULT_GIVE_UP_HOURS) * 3600_000,
    ...(mailer !== undefined ? { suggesterMail: mailer } : {}) };
}
