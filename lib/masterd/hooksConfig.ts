// The webhook configuration file (`--hooks FILE`, JSON): which forges send hooks with which secret files, and
// which repository is built as which project; read and checked at start, one clear line when it is wrong.
import { z } from 'zod';
import { ConfigError } from '../common/files.js';
import { readToken } from '../common/token.js';
import { FORGES, type ForgeName, type ForgeSecrets } from '../forges/forge.js';
import type { RepositoryRoute } from '../forges/routing.js';
import { selectorProblem } from '../protocol/selector.js';
import { readJsonConfig } from './jsonConfig.js';

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
  /** A selector (`simplebb-suggest --on`): only matching builders build this repository. */
  on: z.string().min(1).max(1024).refine((s) => selectorProblem(s) === null, { error: (i) => selectorProblem(String(i.input)) ?? 'not a selector' }).optional(),
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
  const { data, at } = readJsonConfig(file, 'hooks', File);
  const secrets: Partial<Record<ForgeName, ForgeSecrets>> = {};
  for (const [name, f] of Object.entries(data.forges) as Array<[ForgeName, z.infer<typeof Forge>]>) {
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
  return { secrets, repositories: data.repositories };
}
