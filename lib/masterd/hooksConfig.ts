// The webhook configuration file (`--hooks FILE`, JSON): which forges send hooks with which secret files, and
// which repository is built as which project; read and checked at start, one clear line when it is wrong.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, reason } from '../common/files.js';
import { lineOfPath, syntaxError } from '../common/jsonLines.js';
import { readToken } from '../common/token.js';
import { FORGES, type ForgeName, type ForgeSecrets } from '../forges/forge.js';
import type { RepositoryRoute } from '../forges/routing.js';

/** A configuration file larger than this is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

const Forge = z.strictObject({
  secretFile: z.string().min(1).optional(),
  /** GitLab: the signing token (Standard Webhooks). */
  signingTokenFile: z.string().min(1).optional(),
  /** GitLab: also take the legacy X-Gitlab-Token, compared as a password. */
  legacyTokenFile: z.string().min(1).optional(),
});

const Route = z.strictObject({
  repository: z.string().min(1).max(512),
  project: z.string().min(1).max(128).optional(),
  tags: z.boolean().optional(),
  pullRequests: z.boolean().optional(),
});

const File = z.strictObject({
  forges: z.partialRecord(z.enum(FORGES), Forge),
  repositories: z.array(Route).max(10_000),
});

export interface HooksConfig {
  secrets: Partial<Record<ForgeName, ForgeSecrets>>;
  repositories: RepositoryRoute[];
}

/** Reads and checks `file`; throws a ConfigError naming the file and what is wrong in it. */
export function readHooksConfig(file: string, warn: (m: string) => void): HooksConfig {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_CONFIG_BYTES) throw new ConfigError(`the hooks file ${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read the hooks file ${file}: ${reason(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const where = syntaxError(text);
    throw new ConfigError(where ? `the hooks file ${file}, line ${where.line}: not JSON: ${where.message}` : `the hooks file ${file} is not JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = File.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`the hooks file ${file}, line ${lineOfPath(text, issue.path)}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  const at = (...path: string[]): string => `the hooks file ${file}, line ${lineOfPath(text, path)}`;
  const secrets: Partial<Record<ForgeName, ForgeSecrets>> = {};
  for (const [name, f] of Object.entries(parsed.data.forges) as Array<[ForgeName, z.infer<typeof Forge>]>) {
    const secretFile = name === 'gitlab' ? f.signingTokenFile : f.secretFile;
    const key = name === 'gitlab' ? 'signingTokenFile' : 'secretFile';
    const wrongKey = name === 'gitlab' ? f.secretFile && 'secretFile' : (f.signingTokenFile && 'signingTokenFile') || (f.legacyTokenFile && 'legacyTokenFile');
    if (wrongKey) throw new ConfigError(`${at('forges', name, wrongKey)}: forges.${name}: ${wrongKey} is not for ${name} (it takes ${name === 'gitlab' ? 'signingTokenFile and legacyTokenFile' : 'secretFile'})`);
    const legacy = name === 'gitlab' && f.legacyTokenFile ? readToken(f.legacyTokenFile, '', warn) : undefined;
    if (!secretFile && !legacy) throw new ConfigError(`${at('forges', name)}: forges.${name} needs ${key}`);
    const secret = secretFile ? readToken(secretFile, '', warn)! : '';
    if (name === 'gitlab' && secret && !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(secret)) {
      throw new ConfigError(`the GitLab signing token in ${secretFile} is not whsec_ followed by base64 (copy it from the webhook's settings)`);
    }
    secrets[name] = { secret, ...(legacy !== undefined ? { legacyToken: legacy } : {}) };
  }
  return { secrets, repositories: parsed.data.repositories };
}
