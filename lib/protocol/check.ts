// What clients accept from the master, checked without zod so simplebb-suggest starts fast; a property test keeps it in step with messages.ts.
import { MAX_LISTED_BUILDERS, MAX_PAYLOAD_BYTES, TAIL_MAX_CHARS } from './limits.js';
import { MAX_MAIL_ADDRESS_CHARS, mailAddressProblem } from './mailAddress.js';
import type { FromMaster } from './messages.js';
import {
  BUILDER_RULE, BUILDER_RULE_TEXT, ID_RULE, ID_RULE_TEXT, TOKEN_ID_RULE, TOKEN_ID_RULE_TEXT, VERDICTS,
  branchProblem, projectProblem, revisionProblem,
} from './names.js';
import type { Validator } from './validator.js';

/** A field check: null when fine, else what is wrong. */
type Check = (v: unknown) => string | null;

const str = (max: number, rule?: RegExp, ruleText?: string): Check => (v) => {
  if (typeof v !== 'string') return 'expected a string';
  if (v.length > max) return `longer than ${max} characters`;
  if (rule && !rule.test(v)) return ruleText ?? 'invalid';
  return null;
};
const named = (max: number, problem: (s: string) => string | null): Check => (v) => str(max)(v) ?? problem(v as string);
const num: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'expected a number');
const int = (min = -Infinity): Check => (v) => (num(v) ?? (Number.isSafeInteger(v) ? ((v as number) >= min ? null : `must be at least ${min}`) : 'expected an integer'));
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'expected a boolean');
const oneOf = (...values: string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? null : `expected one of ${values.join(', ')}`);
const opt = (c: Check): Check => (v) => (v === undefined ? null : c(v));
const obj = (fields: Record<string, Check>): Check => (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected an object';
  for (const [k, c] of Object.entries(fields)) {
    const p = c((v as Record<string, unknown>)[k]);
    if (p) return `${k}: ${p}`;
  }
  return null;
};
const arr = (max: number, item: Check): Check => (v) => {
  if (!Array.isArray(v)) return 'expected an array';
  if (v.length > max) return `more than ${max} items`;
  for (let i = 0; i < v.length; i++) {
    const p = item(v[i]);
    if (p) return `${i}: ${p}`;
  }
  return null;
};

const id = str(64, ID_RULE, ID_RULE_TEXT);
const builder = str(128, BUILDER_RULE, BUILDER_RULE_TEXT);
const tokenId = str(64, TOKEN_ID_RULE, TOKEN_ID_RULE_TEXT);
const seq = int(1);
const seq0 = int(0);
const project = named(128, projectProblem);
const branch = named(1024, branchProblem);
const revision = named(64, revisionProblem);
const shortText = str(4096);
const payload: Check = (v) => (v instanceof Uint8Array && v.length >= 1 && v.length <= MAX_PAYLOAD_BYTES ? null : `expected 1 to ${MAX_PAYLOAD_BYTES} raw bytes`);
const uname = obj({ type: shortText, release: shortText, version: shortText, machine: shortText, hostname: shortText });
const reportFields = {
  id, project, branch, revision: opt(revision), exitCode: int(), signal: opt(str(32)),
  verdict: oneOf(...VERDICTS), message: opt(shortText),
  startedAt: opt(num), durationMs: (v: unknown) => num(v) ?? ((v as number) >= 0 ? null : 'must be at least 0'),
  uname, node: shortText, outputBytes: int(0), outputCut: int(0),
};

const SHAPES: Record<FromMaster['type'], Check> = {
  greeting: obj({ protocol: int(), server: shortText, nonce: str(128), store: tokenId, check: opt(bool), labels: opt(bool), notify: opt(bool), cancel: opt(bool) }),
  welcome: obj({ protocol: int(), heartbeatMs: int(0) }),
  checked: obj({ protocol: int(), connected: (v) => (typeof v === 'boolean' ? null : 'expected a boolean') }),
  error: obj({ message: shortText, ref: opt(str(64)), code: opt(str(32)) }),
  accepted: obj({ ref: opt(str(64)), id, seq, project, branch, revision: opt(revision), count: int(0), builders: arr(MAX_LISTED_BUILDERS, builder) }),
  'dry-run': obj({
    ref: opt(str(64)), project, branch, builders: arr(MAX_LISTED_BUILDERS, builder), later: arr(MAX_LISTED_BUILDERS, builder),
    misses: arr(MAX_LISTED_BUILDERS, obj({ builder, why: shortText })),
  }),
  suggest: obj({ id, seq, project, branch, revision: opt(revision), replayed: opt((v) => (typeof v === 'boolean' ? null : 'expected a boolean')) }),
  synced: obj({ seq: seq0 }),
  ack: obj({ id }),
  cancel: obj({ id, reason: shortText }),
  started: obj({ id, builder, startedAt: num }),
  output: obj({ id, builder, stream: oneOf('stdout', 'stderr'), data: payload }),
  report: obj({ ...reportFields, builder, tail: opt(str(TAIL_MAX_CHARS)) }),
  away: obj({ id, builder, reason: shortText, windowMs: int(0) }),
  ping: obj({ t: opt(num) }),
  pong: obj({ t: opt(num) }),
};

/** What is wrong with a suggestion's `notify` address, as messages.ts's SuggestRequest checks it (simplebb-suggest's --notify). */
export const notifyAddressProblem: Check = named(MAX_MAIL_ADDRESS_CHARS, mailAddressProblem);

/** Validates a message from the master as protocol.ts's FromMaster does. */
export const checkFromMaster: Validator<FromMaster> = (value) => {
  const shape = Object.hasOwn(SHAPES, value.type) ? SHAPES[value.type as FromMaster['type']] : undefined;
  if (!shape) return { ok: false, problem: `unknown message type ${JSON.stringify(value.type.slice(0, 40))}` };
  const problem = shape(value);
  if (problem) return { ok: false, problem: `invalid ${value.type} message: ${problem}` };
  return { ok: true, message: value as unknown as FromMaster };
};
