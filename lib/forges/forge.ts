// What simplebb needs of a forge's webhook: whether a delivery is signed by the secret we share, its id and kind,
// and the build it asks for; one file per forge implements it.

/** The forges whose webhooks the master takes. */
export const FORGES = ['github', 'gitea', 'forgejo', 'gitlab'] as const;
export type ForgeName = (typeof FORGES)[number];

/** Request headers as node gives them (names in lower case). */
export type Headers = Record<string, string | string[] | undefined>;

/** The secrets configured for a forge (see docs/WEBHOOKS.md). */
export interface ForgeSecrets {
  /** GitHub, Gitea, Forgejo: the webhook secret; GitLab: the signing token (`whsec_…`). */
  secret: string;
  /** GitLab only: the legacy `X-Gitlab-Token`, compared as a password, taken only when configured. */
  legacyToken?: string;
}

/** What a delivery asks for, once parsed. */
export type HookEvent =
  | { kind: 'ping'; repository?: string }
  | { kind: 'push'; repository: string; ref: string; revision: string; deleted: boolean; message?: string }
  | { kind: 'pull'; repository: string; number: number; ref: string; revision: string; action: string; build: boolean }
  | { kind: 'other'; event: string; repository?: string };

export interface Forge {
  readonly name: ForgeName;
  /** Null when the exact bytes of the body are signed with the secret; else why not, in a few words. */
  verify(headers: Headers, body: Buffer, secrets: ForgeSecrets, now: number): Promise<string | null>;
  /** The forge's id of this delivery (the same on a redelivery), if it sends one. */
  deliveryId(headers: Headers): string | undefined;
  /** The event's kind as the forge names it. */
  event(headers: Headers): string | undefined;
  /** The build the payload asks for; throws a HookError naming what is missing. */
  parse(event: string, payload: unknown): HookEvent;
}

/** A payload that does not have what its event should: the delivery is recorded as failed with this line. */
export class HookError extends Error {}

/** One header's value (the first, if repeated). */
export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The markers in a commit message that ask not to build it (GitHub's, GitLab's and Gitea's alike). */
const SKIP = /\[(?:skip ci|ci skip|no ci|skip actions|actions skip)\]/i;

export function asksToSkip(message: string | undefined): boolean {
  return message !== undefined && SKIP.test(message);
}

/** A field of a JSON object, or undefined. */
export function field(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A string field, or a HookError naming it. */
export function text(value: unknown, ...path: string[]): string {
  const v = field(value, ...path);
  if (typeof v !== 'string' || v === '') throw new HookError(`the payload has no ${path.join('.')}`);
  return v;
}

/** A git object id of all zeros: what forges send as the new revision of a deleted ref. */
export function isZeroRevision(rev: string): boolean {
  return /^0+$/.test(rev);
}
