// The wire protocol's messages as zod schemas, and their types (docs/PROTOCOL.md). Only the master loads this at run time.
import { z } from 'zod';
import {
  MAX_CHUNK_CHARS, MAX_LISTED_BUILDERS, MAX_PAYLOAD_BYTES, MAX_PROJECTS, MAX_RECEIVED_IDS, MAX_RETRIES, MAX_REPORT_CHUNKS, PROTOCOL_VERSION, TAIL_MAX_CHARS,
} from './limits.js';
import {
  BUILDER_RULE, BUILDER_RULE_TEXT, ID_RULE, ID_RULE_TEXT, TOKEN_ID_RULE, TOKEN_ID_RULE_TEXT, VERDICTS,
  branchProblem, projectProblem, revisionProblem,
} from './names.js';
import { labelNameProblem, labelsProblem } from './labels.js';
import { MAX_MAIL_ADDRESS_CHARS, mailAddressProblem } from './mailAddress.js';
import { MAX_SELECTOR_CHARS, selectorProblem } from './selector.js';
import type { Validator } from './validator.js';


const named = (max: number, problem: (v: string) => string | null) => z.string().max(max).superRefine((v, ctx) => {
  const p = problem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});
const project = named(128, projectProblem);
const branch = named(1024, branchProblem);
const revision = named(64, revisionProblem);
const id = z.string().regex(ID_RULE, ID_RULE_TEXT);
const builderName = z.string().regex(BUILDER_RULE, BUILDER_RULE_TEXT);
/** The random id of a master's record or of a builder's state dir. */
const tokenId = z.string().regex(TOKEN_ID_RULE, TOKEN_ID_RULE_TEXT);
/** A suggestion's place in the master's log: never reused, never goes backwards. */
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const shortText = z.string().max(4096);
const chunk = z.string().max(MAX_CHUNK_CHARS);
/** An output message's raw bytes (on the wire after its line, announced by `bytes`; the connection puts them here). */
const payload = z.custom<Buffer>((v) => v instanceof Uint8Array && v.length >= 1 && v.length <= MAX_PAYLOAD_BYTES, `expected 1 to ${MAX_PAYLOAD_BYTES} raw bytes`);

const unameShape = { type: shortText, release: shortText, version: shortText, machine: shortText, hostname: shortText };
export const Uname = z.object(unameShape);
export type Uname = z.infer<typeof Uname>;
/**
 * What the master receives is strict: a key the protocol does not define is refused, not stripped ("Unrecognized
 * key"), so nothing rides along unchecked. What clients receive stays lenient: the master is upgraded first, and
 * a field it adds must not make older builders refuse their orders (PROTOCOL.md §1.3).
 */
const strict = z.strictObject;
const UnameIn = strict(unameShape);

export const Verdict = z.enum(VERDICTS);
export type Verdict = z.infer<typeof Verdict>;
export const Stream = z.enum(['stdout', 'stderr']);
export type Stream = z.infer<typeof Stream>;

/** A builder's labels (its own and what it found; `script:*` come from its projects): checked by labels.ts's rules. */
const labels = z.record(z.string().max(64), z.string().max(128)).superRefine((v, ctx) => {
  const p = labelsProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

const ping = z.object({ type: z.literal('ping'), t: z.number().optional() });
const pong = z.object({ type: z.literal('pong'), t: z.number().optional() });
const pingIn = strict({ type: z.literal('ping'), t: z.number().optional() });
const pongIn = strict({ type: z.literal('pong'), t: z.number().optional() });

// ---- messages that the master receives ----

/** Where a builder's durable inbox stands: everything the record `store` owed it up to `seq` is on its disk. */
const Cursor = strict({ store: tokenId, seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

export const Hello = strict({
  type: z.literal('hello'),
  protocol: z.number().int(),
  role: z.enum(['builder', 'suggester']),
  name: builderName.optional(),
  /** The builder's state dir: the same id after a restart, another id for another clientd using the same name. */
  instance: tokenId.optional(),
  uname: UnameIn.optional(),
  node: shortText.optional(),
  projects: z.array(project).max(MAX_PROJECTS).optional(),
  ignoreUnknown: z.boolean().optional(),
  jobs: z.number().int().min(1).max(1024).optional(),
  cursor: Cursor.optional(),
  auth: z.string().max(128).optional(),
  /** `simplebb-clientd --check`: checked like a builder's hello and answered with `checked`, never registered. */
  check: z.boolean().optional(),
  /** Sent only to a master whose greeting has `labels`: an older master refuses keys it does not know. */
  labels: labels.optional(),
  /** Sent only to a master whose greeting has `cancel`: this builder acts on `cancel` orders. */
  cancel: z.boolean().optional(),
  /** The builder names in `received` the `one` orders it wrote (to a master whose greeting has `one`): it may be sent them. */
  ids: z.boolean().optional(),
});
export type Hello = z.infer<typeof Hello>;

const ProjectsUpdate = strict({ type: z.literal('projects'), projects: z.array(project).max(MAX_PROJECTS) });

/** A builder's labels changed (to a master whose greeting has `labels`): the complete new set. */
const LabelsUpdate = strict({ type: z.literal('labels'), labels });

/** A builder confirming that every order it was sent up to `seq` is written to its disk. */
export const Received = strict({
  type: z.literal('received'),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /**
   * The `one` orders among them, by id: a dispatched order can be older than the builder's cursor, so its place in
   * the log does not say it is on the builder's disk; its id does.
   */
  ids: z.array(id).max(MAX_RECEIVED_IDS).optional(),
});

/** A builder turning down a suggestion it was sent (it has no script and ignores unknown projects), so no one waits for it. */
const Skipped = strict({ type: z.literal('skipped'), id });

export const SuggestRequest = strict({
  type: z.literal('suggest'),
  ref: z.string().max(64).optional(),
  project,
  branch,
  revision: revision.optional(),
  follow: z.boolean().optional(),
  /** Only builders whose labels match this selector, and that have the script (to a master whose greeting has `labels`). */
  on: named(MAX_SELECTOR_CHARS, selectorProblem).optional(),
  /** Record nothing: answer with `dry-run`, who would build it and who not. */
  dryRun: z.boolean().optional(),
  /** Mail this address the suggestion's summary once every builder has reported (to a master whose greeting has `notify`). */
  notify: named(MAX_MAIL_ADDRESS_CHARS, mailAddressProblem).optional(),
  /** This suggestion builds again what suggestion `rerunOf` built (`simplebb rerun`); recorded and shown with it. */
  rerunOf: id.optional(),
  /** Only this builder (`simplebb rerun --builder`); to a master whose greeting has `cancel`. */
  builder: builderName.optional(),
  /** To one matching builder, queued in the master's record while none is free (to a master whose greeting has `one`). */
  one: z.boolean().optional(),
  /** With `one`: how many times a build whose builder was lost before it finished is offered to another builder. */
  retries: z.number().int().min(0).max(MAX_RETRIES).optional(),
  /** One `one` suggestion per distinct value of this label among the builders that can build it (one per `arch`, say). */
  each: named(64, labelNameProblem).optional(),
});
export type SuggestRequest = z.infer<typeof SuggestRequest>;

export const Started = strict({ type: z.literal('started'), id, startedAt: z.number() });
export type Started = z.infer<typeof Started>;

export const Output = strict({ type: z.literal('output'), id, stream: Stream, data: payload });
export type Output = z.infer<typeof Output>;

const ReportOutput = strict({ type: z.literal('report-output'), id, data: chunk });

/** What a build's report says, without its output. */
const reportShape = {
  id,
  project,
  branch,
  revision: revision.optional(),
  exitCode: z.number().int(),
  signal: z.string().max(32).optional(),
  verdict: Verdict,
  message: shortText.optional(),
  startedAt: z.number().optional(),
  durationMs: z.number().min(0),
  uname: Uname,
  node: shortText,
  outputBytes: z.number().int().min(0),
  outputCut: z.number().int().min(0),
};
export const ReportFields = z.object(reportShape);
export type ReportFields = z.infer<typeof ReportFields>;

export const Report = strict({
  ...reportShape,
  uname: UnameIn,
  type: z.literal('report'),
  /** How many report-output messages came just before this one, carrying the kept output. */
  outputChunks: z.number().int().min(0).max(MAX_REPORT_CHUNKS),
});
export type Report = z.infer<typeof Report>;

export const ToMaster = z.discriminatedUnion('type', [
  Hello, ProjectsUpdate, LabelsUpdate, Received, Skipped, SuggestRequest, Started, Output, ReportOutput, Report, pingIn, pongIn,
]);
export type ToMaster = z.infer<typeof ToMaster>;

// ---- messages that the master sends ----

export const Greeting = z.object({
  type: z.literal('greeting'),
  protocol: z.number().int(),
  server: shortText,
  nonce: z.string().max(128),
  /** The id of the master's record: a builder's cursor counts only against the record it came from. */
  store: tokenId,
  /** This master answers a hello with `check` (clientd --check); an older one would take it for a builder. */
  check: z.boolean().optional(),
  /** This master takes builder labels (hello `labels`, the `labels` message) and suggestions with a selector (`on`). */
  labels: z.boolean().optional(),
  /** This master takes suggestions with `notify` (it may still refuse one: no mail sink for suggesters configured). */
  notify: z.boolean().optional(),
  /** This master may send builders `cancel`, takes a builder hello's `cancel`, and suggestions with `rerunOf` and `builder`. */
  cancel: z.boolean().optional(),
  /** This master dispatches `one` suggestions (to a single builder, queued while none is free) and takes `received` with `ids`. */
  one: z.boolean().optional(),
});
export type Greeting = z.infer<typeof Greeting>;

const Welcome = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  heartbeatMs: z.number().int().min(0),
});

/** The answer to a hello with `check`: it would have been welcomed; `connected` says a clientd of that name is connected now. */
const Checked = z.object({ type: z.literal('checked'), protocol: z.number().int(), connected: z.boolean() });
export type Checked = z.infer<typeof Checked>;

const ErrorMessage = z.object({
  type: z.literal('error'),
  message: shortText,
  ref: z.string().max(64).optional(),
  /** A machine-readable reason where the client acts on it: `name-in-use` (another clientd holds this builder name). */
  code: z.string().max(32).optional(),
});

const Accepted = z.object({
  type: z.literal('accepted'),
  ref: z.string().max(64).optional(),
  id,
  seq,
  project,
  branch,
  revision: revision.optional(),
  /** How many builders the suggestion went to. */
  count: z.number().int().min(0),
  /** Their names (the first MAX_LISTED_BUILDERS of them). */
  builders: z.array(builderName).max(MAX_LISTED_BUILDERS),
  /** A `one` suggestion no matching builder is free for: it waits in the master's queue, this many before it. */
  queued: z.number().int().min(0).optional(),
  /** One of the `of` suggestions an `each` made: the one for builders whose `label` is `value` (each has its own `accepted`). */
  each: z.object({ label: z.string().max(64), value: z.string().max(128), of: z.number().int().min(1) }).optional(),
});

/** The answer to a suggestion with `dryRun`: who it would go to now, who when back, who not and why. */
const DryRun = z.object({
  type: z.literal('dry-run'),
  ref: z.string().max(64).optional(),
  project,
  branch,
  builders: z.array(builderName).max(MAX_LISTED_BUILDERS),
  later: z.array(builderName).max(MAX_LISTED_BUILDERS),
  misses: z.array(z.object({ builder: builderName, why: shortText })).max(MAX_LISTED_BUILDERS),
});
export type DryRun = z.infer<typeof DryRun>;

export const BuildOrder = z.object({
  type: z.literal('suggest'),
  id,
  seq,
  project,
  branch,
  revision: revision.optional(),
  replayed: z.boolean().optional(),
  /** Dispatched to this builder alone (`one`): it names the id in `received` once it is on its disk. */
  one: z.boolean().optional(),
});
export type BuildOrder = z.infer<typeof BuildOrder>;

/**
 * To a builder whose hello had `cancel`: stop build `id` (kill its process group as its timeout would, or drop it
 * if it has not started) and report it `cancelled`, with `reason` (who cancelled it and why) as its message.
 */
export const Cancel = z.object({ type: z.literal('cancel'), id, reason: shortText });
export type Cancel = z.infer<typeof Cancel>;

/** After a builder's hello: everything owed to it up to `seq` has now been sent (its cursor may move there). */
const Synced = z.object({ type: z.literal('synced'), seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

const Ack = z.object({ type: z.literal('ack'), id });

const BuildStarted = z.object({ type: z.literal('started'), id, builder: builderName, startedAt: z.number() });
const BuildOutput = z.object({ type: z.literal('output'), id, builder: builderName, stream: Stream, data: payload });
/** A report as a waiting suggester sees it: the fields without the output. */
export const BuildReport = ReportFields.extend({ type: z.literal('report'), builder: builderName, tail: z.string().max(TAIL_MAX_CHARS).optional() });
export type BuildReport = z.infer<typeof BuildReport>;
/** To a waiting suggester: a builder went away with this build open; it is `lost` unless back within `windowMs`. */
const BuilderAway = z.object({ type: z.literal('away'), id, builder: builderName, reason: shortText, windowMs: z.number().int().min(0) });

export const FromMaster = z.discriminatedUnion('type', [
  Greeting, Welcome, Checked, ErrorMessage, Accepted, DryRun, BuildOrder, Synced, Ack, Cancel, BuildStarted, BuildOutput, BuildReport, BuilderAway, ping, pong,
]);
export type FromMaster = z.infer<typeof FromMaster>;

/** Adapts a zod schema to the wire's validator: the message, or one line naming what is wrong. */
function zodValidator<T>(schema: z.ZodType<T>): Validator<T> {
  return (value) => {
    const result = schema.safeParse(value);
    if (result.success) return { ok: true, message: result.data };
    const unknownType = result.error.issues.some((i) => i.code === 'invalid_union' && i.path.length === 1 && i.path[0] === 'type');
    if (unknownType) return { ok: false, problem: `unknown message type ${JSON.stringify(value.type.slice(0, 40))}` };
    return { ok: false, problem: `invalid ${value.type.slice(0, 40)} message: ${describeIssues(result.error)}` };
  };
}

export const validateToMaster: Validator<ToMaster> = zodValidator(ToMaster);
export const validateFromMaster: Validator<FromMaster> = zodValidator(FromMaster);

/** One line naming what is wrong with a message, from a zod error. */
function describeIssues(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'invalid message';
  const where = first.path.length ? `${first.path.join('.')}: ` : '';
  return `${where}${first.message}`;
}

/** Checks a message's own protocol version against ours and names both when they differ. */
export function versionProblem(theirs: number): string | null {
  return theirs === PROTOCOL_VERSION ? null : `protocol version ${theirs} is not supported; this master speaks version ${PROTOCOL_VERSION}`;
}
