// The naming rules, checked by suggest, master and builder alike: projects, branches, revisions, builders, ids, verdicts.

/** A project name: a plain file name inside the buildscripts dir. */
const PROJECT_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A revision: an abbreviated or full git object id (SHA-1 or SHA-256). */
const REVISION_RULE = /^[0-9a-fA-F]{4,64}$/;
const MAX_BRANCH_BYTES = 255;

/** Returns null when `name` is a valid project name, else the rule it breaks. */
export function projectProblem(name: string): string | null {
  if (name.length === 0) return 'project name is empty';
  if (name.length > 128) return 'project name is longer than 128 characters';
  if (name === '.' || name === '..' || name.includes('..')) return 'project name must not contain ".."';
  if (name.includes('/') || name.includes('\\')) return 'project name must not contain a slash';
  if (name.startsWith('.')) return 'project name must not start with "."';
  if (name.startsWith('-')) return 'project name must not start with "-"';
  if (!PROJECT_RULE.test(name)) return 'project name may only contain letters, digits, ".", "_" and "-", starting with a letter or digit';
  return null;
}

/** Returns null when `name` is a valid branch name (git check-ref-format rules, no leading "-"), else the rule it breaks. */
export function branchProblem(name: string): string | null {
  if (name.length === 0) return 'branch name is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_BRANCH_BYTES) return `branch name is longer than ${MAX_BRANCH_BYTES} bytes`;
  if (name.startsWith('-')) return 'branch name must not start with "-"';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return 'branch name must not contain control characters';
  // Shown on terminals and pages: no C1 control (U+009B is a one-byte CSI), bidi embedding, override or isolate,
  // zero-width character or BOM, which could make one branch look like another.
  if (/[\u0080-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/.test(name)) return 'branch name must not contain C1 controls, bidi controls or invisible characters';
  if (/[ ~^:?*[\\]/.test(name)) return 'branch name must not contain space, "~", "^", ":", "?", "*", "[" or "\\"';
  if (name === '@') return 'branch name must not be "@"';
  if (name.includes('@{')) return 'branch name must not contain "@{"';
  if (name.includes('..')) return 'branch name must not contain ".."';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'branch name must not start or end with "/" or contain "//"';
  if (name.endsWith('.')) return 'branch name must not end with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'no part of a branch name may start with "."';
    if (part.endsWith('.lock')) return 'no part of a branch name may end with ".lock"';
  }
  // A lone surrogate; isWellFormed (ES2024, in Node 20) rather than /\p{Cs}/u, whose compile costs ~0.8 ms of the hook's start.
  if (!(name as string & { isWellFormed(): boolean }).isWellFormed()) return 'branch name is not valid UTF-8';
  return null;
}

/** Returns null when `rev` is a valid revision, else the rule it breaks. */
export function revisionProblem(rev: string): string | null {
  if (!REVISION_RULE.test(rev)) return 'revision must be 4 to 64 hexadecimal digits';
  return null;
}

/** A builder's name: host-name-like, also used as a file and state-dir name. */
export const BUILDER_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const BUILDER_RULE_TEXT = 'builder name must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit';
/** A suggestion id, chosen by the master: sortable by time, unique across restarts. */
export const ID_RULE = /^[0-9a-z-]{1,64}$/;
export const ID_RULE_TEXT = 'id must be 1 to 64 characters of [0-9a-z-]';
/** Random ids of a master's record (its database) and of a builder's state dir. */
export const TOKEN_ID_RULE = /^[0-9a-f]{16,64}$/;
export const TOKEN_ID_RULE_TEXT = 'must be 16 to 64 lowercase hexadecimal digits';

/**
 * Every verdict a report can carry. `lost`, `superseded` and `refused` may come from the master as well as a builder.
 * `refused`: never run, because the builder's queue, or the master's replay to a returning builder, was at its bound.
 * `cancelled`: someone cancelled it (`simplebb cancel`): killed as a timeout kills it, or dropped before it started.
 */
export const VERDICTS = ['success', 'failure', 'no-script', 'timeout', 'lost', 'superseded', 'refused', 'cancelled'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Returns null when `name` is a valid builder name, else the rule it breaks. */
export function builderNameProblem(name: string): string | null {
  return BUILDER_RULE.test(name) ? null : BUILDER_RULE_TEXT;
}
