// The master's durable record as an interface: suggestions in sequence, each builder's part in them, reports, builders.
import type { Labels } from '../protocol/labels.js';
import type { ReportFields, Verdict } from '../protocol/messages.js';
import type { History } from './history.js';

/** A report as the master stores and logs it; `seq` is its suggestion's place in the log. */
export interface StoredReport extends ReportFields {
  builder: string;
  seq: number;
  output: string;
  receivedAt: number;
  /** The builder's labels when it reported (`script:*` left out); absent for a master-given verdict of an unknown builder. */
  labels?: Labels;
}

export interface ReportKey {
  builder: string;
  id: string;
}

/** A suggestion before the record has given it its place. */
export interface NewSuggestion {
  id: string;
  project: string;
  branch: string;
  revision?: string;
  /** Who made it (the suggester's address). */
  from: string;
  /** The selector (`--on`) a builder's labels must match, as given; absent: every builder. */
  on?: string;
  /** The address its summary is mailed to once every builder has reported (`simplebb-suggest --notify`). */
  notify?: string;
  /** The suggestion this one builds again (`simplebb rerun`). */
  rerunOf?: string;
  /** Only this builder builds it (`simplebb rerun --builder`); absent: every builder (that the selector lets). */
  builder?: string;
  createdAt: number;
  /**
   * To one matching builder (`--one`), at most `retries` more times when its builder is lost before it finishes; it
   * waits in the queue until dispatched. Absent: to every builder that takes it (broadcast).
   */
  one?: { retries: number };
  /**
   * Builders it is offered to as it is made: their `offered` deliveries are written in the same commit, so that a
   * builder's report for it is known to come from a builder it was offered to, whenever the master crashed.
   */
  offeredTo?: string[];
}

/** A suggestion in the record: `seq` is its place in the log, never reused and never smaller than an earlier one's. */
export interface StoredSuggestion extends NewSuggestion {
  seq: number;
}

/**
 * One builder's part in one suggestion. It only moves forward: offered → received → started → reported, or to
 * skipped (the builder ignores projects it has no script for). The verdict of a reported one is its report's.
 */
export type DeliveryState = 'offered' | 'received' | 'started' | 'reported' | 'skipped';
export type OpenState = 'offered' | 'received' | 'started';

/** How far along a state is; a change to a state of the same or a lower rank is ignored. */
export const DELIVERY_RANK: Readonly<Record<DeliveryState, number>> = { offered: 0, received: 1, started: 2, reported: 3, skipped: 3 };

export function isOpen(state: DeliveryState): state is OpenState {
  return DELIVERY_RANK[state] < 3;
}

export interface DeliveryChange {
  seq: number;
  builder: string;
  state: DeliveryState;
  at: number;
  /** Which attempt of a `one` suggestion this delivery is (1 first; kept from its first write). */
  attempt?: number;
}

/**
 * A change to the dispatch queue of `one` suggestions, by suggestion id (a suggestion and its queueing may share a
 * commit): `queued` as attempt `attempt` (after `after`, the builder the last attempt was lost with), or `taken` off
 * the queue (dispatched, or cancelled).
 */
export type QueueChange =
  | { id: string; queued: true; attempt: number; at: number; after?: string }
  | { id: string; taken: true };

/** A `one` suggestion waiting for a builder, as the record has it. */
export interface QueuedOrder {
  suggestion: StoredSuggestion;
  attempt: number;
  queuedAt: number;
  /** Builders an earlier attempt went to (each has a report for it): it is not offered to them again. */
  tried: string[];
}

/** A delivery not yet final, with what its suggestion asked for. */
export interface OpenDelivery {
  suggestion: StoredSuggestion;
  builder: string;
  state: OpenState;
  at: number;
  /** Which attempt of a `one` suggestion it is. */
  attempt: number;
}

/** What the record remembers of a builder between its connections. */
export interface BuilderRecord {
  name: string;
  /** The id of the state dir it last connected with. */
  instance?: string;
  lastSeen: number;
  /** Its labels as a selector sees them (`script:*` included) when it last said hello or changed them. */
  labels?: Labels;
}

/** A build's whole output kept on disk beside the record (see LogFiles): what the index says of it. */
export interface LogEntry {
  id: string;
  builder: string;
  /** Bytes of the log as it reads (marks included). */
  bytes: number;
  /** Bytes on disk, compressed. */
  storedBytes: number;
  /** Bytes cut from the middle (beyond --max-log-bytes). */
  cut: number;
  /** Bytes the build wrote that the master did not hear (it or the builder was away) and the report could not fill in. */
  missing: number;
  finishedAt: number;
}

/** A webhook delivery as the inbox keeps it: taken durably before it is answered, then turned into a suggestion (or not). */
export interface HookDelivery {
  forge: string;
  /** The forge's id of the delivery (the same on a redelivery). */
  delivery: string;
  receivedAt: number;
  /** Who sent it (the forge's address). */
  address: string;
  event: string;
  state: 'pending' | 'done' | 'failed';
  /** What it did, in a few words ("suggested foo main", "skipped: a tag"), once done or failed. */
  outcome?: string;
  /** The suggestion it made. */
  suggestion?: string;
  doneAt?: number;
}

/** A delivery still to be processed, with its body (the exact bytes that were signed). */
export interface PendingHook extends HookDelivery {
  body: Buffer;
}

/** What a retention pass removed, or with `dryRun` would remove. */
export interface PrunePlan {
  /** Logs finished before this were considered. */
  before: number;
  logs: LogEntry[];
  storedBytes: number;
  dryRun: boolean;
}

/** Full logs as the read side uses them. */
export interface LogReader {
  /** A finished log, decompressed as it is read; undefined when none is kept. */
  read(id: string, builder: string): import('node:stream').Readable | undefined;
  /** A running build's log so far, from its start, as the master has heard it up to now; undefined when it is not all on disk. */
  sofar(id: string, builder: string): import('node:stream').Readable | undefined;
  /** Removes (with `dryRun` only lists) the logs retention lets go. */
  prune(dryRun: boolean): Promise<PrunePlan>;
}

/** A report stored in this commit (or earlier, for the same suggestion), with the verdict its cell had before it. */
export interface JudgedReport {
  report: StoredReport;
  /** The newest build outcome (success, failure, timeout) of its project × branch × builder received before it; none: its first. */
  lastVerdict?: Verdict;
}

/** What a planner is told for each report a commit stores (new, or replacing a verdict the master gave). */
export interface PlanInput {
  suggestion: StoredSuggestion;
  judged: JudgedReport;
  /** Every report of the suggestion, when this commit left none of its deliveries open (all expected builders have reported). */
  complete?: JudgedReport[];
  /** Revisions suggested on this project and branch after this builder's last success, newest first (at most `limit`); none when it never had one. */
  sinceGreen(builder: string, limit: number): string[];
}

/** A notification the rules planned: kept in the outbox in the same commit as the report; `id` is stable and unique (a second plan of it is ignored). */
export interface PlannedNotification {
  id: string;
  sink: string;
  rule: string;
  /** What the sink renders (JSON). */
  payload: string;
}

/** Decides, inside the commit, what a stored report is to tell the outside world; synchronous and pure but for `sinceGreen`. */
export type NotificationPlanner = (input: PlanInput) => PlannedNotification[];

/** What an acceptance planner is told for each suggestion a commit stores: it and the builders it was offered to (`offeredTo`). */
export interface AcceptInput {
  suggestion: StoredSuggestion;
  builders: string[];
}

/** Decides, inside the commit that stores a suggestion, what its acceptance tells the outside world (the `pending` commit statuses); synchronous and pure. */
export type AcceptPlanner = (input: AcceptInput) => PlannedNotification[];

/** A notification in the outbox: pending until sent, or failed when it was given up. */
export interface NotificationEntry {
  id: string;
  seq: number;
  sink: string;
  rule: string;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastError?: string;
  createdAt: number;
  /** When the next attempt is due (pending). */
  nextAt: number;
  /** When it was sent or given up. */
  doneAt?: number;
}

export interface DueNotification extends NotificationEntry {
  payload: string;
}

/** The outbox as its sender and the API see it. */
export interface Outbox {
  /**
   * Pending notifications due by `now`, oldest first. The entries of one suggestion (`seq`) and one sink are sent in
   * the order they were planned, one at a time: an entry is not due while an earlier-planned one of its suggestion and
   * sink is still pending (so a commit status's final state is never overtaken by its `pending` one).
   */
  due(now: number, limit: number): Promise<DueNotification[]>;
  /** When the next pending one is due; undefined when none is pending. */
  nextDue(): Promise<number | undefined>;
  sent(id: string, at: number): Promise<void>;
  /** An attempt failed: try again at `nextAt`, or with `giveUp` never (state failed). */
  failed(id: string, error: string, at: number, next: { nextAt: number } | { giveUp: true }): Promise<void>;
  /** The newest entries, newest first. */
  recent(limit: number): Promise<NotificationEntry[]>;
  /**
   * Keeps notifications planned outside a commit (an overdue build's) for the suggestion at `seq`, durably (fsynced)
   * before it resolves; an id already in the outbox is left alone, so planning one again adds nothing.
   */
  enqueue(seq: number, planned: PlannedNotification[], at: number): Promise<void>;
}

/** Everything written in one commit: one transaction, one fsync. */
export interface Writes {
  suggestions: NewSuggestion[];
  deliveries: DeliveryChange[];
  reports: StoredReport[];
  builders: BuilderRecord[];
  /** Dispatch queue changes; made durable with the commit like suggestions (a dispatch must never be undone by a power loss). */
  queue: QueueChange[];
}

/** What storing a report did: a new record, a master-given `lost`, `superseded` or `refused` replaced by a real report, or a duplicate left alone. */
export type StoreOutcome = 'new' | 'replaced' | 'duplicate';

export interface Written {
  /** The suggestions in the order given, with their places. */
  suggestions: StoredSuggestion[];
  /** One outcome per report, in the order given. */
  reports: StoreOutcome[];
}

/** Suggestions a returning builder may be owed, and the newest place in the log when they were read. */
export interface Owed {
  suggestions: StoredSuggestion[];
  head: number;
}

/**
 * The record. Every method may be slow (a remote database): the master awaits them and never blocks on one.
 * A report sets its delivery to `reported` in the same commit.
 */
export interface Store {
  /** The record's own id: a builder's cursor counts only against the record it was given by. */
  readonly id: string;
  /** The read side, for pages, the API and the `simplebb` command. */
  readonly history: History;
  commit(writes: Writes): Promise<Written>;
  suggestion(id: string): Promise<StoredSuggestion | undefined>;
  /** Whether the record has a delivery of this place in the log to this builder, in any state. */
  delivered(seq: number, builder: string): Promise<boolean>;
  /**
   * Broadcast suggestions after `afterSeq` made at or after `since` that `builder` has no final delivery or report
   * for, oldest first (a `one` suggestion is owed only to the builder it was dispatched to: an open delivery).
   */
  owed(builder: string, afterSeq: number, since: number): Promise<Owed>;
  /** `one` suggestions waiting for a builder, oldest first (loaded at start). */
  queued(): Promise<QueuedOrder[]>;
  /** Every delivery not yet final (loaded at start: the master's view of who owes what). */
  openDeliveries(): Promise<OpenDelivery[]>;
  builders(): Promise<BuilderRecord[]>;
  /** Reports whose log line may not have been written (the master died between the commit and the line). */
  unlogged(): Promise<StoredReport[]>;
  markLogged(keys: ReportKey[]): Promise<void>;
  /** Notes a full log put on disk (after its report is in the record; a crash before it leaves the log to be finished again at start). */
  noteLog(entry: LogEntry): Promise<void>;
  /**
   * Logs finished before `before`, oldest first, that retention may remove: all but the last success, the last
   * failure, and the first failure of the current red streak of each project × branch × builder.
   */
  expiredLogs(before: number, limit: number): Promise<LogEntry[]>;
  forgetLogs(keys: ReportKey[]): Promise<void>;
  /** Keeps a webhook delivery, durably (fsynced) before it is answered; 'duplicate' when this forge's id is known already. */
  keepHook(h: PendingHook): Promise<'new' | 'duplicate'>;
  /** Deliveries kept but not yet processed, oldest first (at start: what the last master left). */
  pendingHooks(): Promise<PendingHook[]>;
  /** Records what a delivery did; its body is let go. */
  hookDone(forge: string, delivery: string, outcome: { state: 'done' | 'failed'; outcome: string; suggestion?: string; at: number }): Promise<void>;
  /** The suggestion made by this source (a webhook's label), if any: a delivery processed again makes none twice. */
  suggestionFrom(source: string): Promise<StoredSuggestion | undefined>;
  /**
   * From now on every commit asks `planner` what each stored report notifies, and `accepted` (when given) what each
   * stored suggestion notifies, and keeps that in the outbox in the same transaction.
   */
  planNotifications(planner: NotificationPlanner, accepted?: AcceptPlanner): void;
  readonly outbox: Outbox;
  close(): Promise<void>;
}

/** An empty set of writes. */
export function noWrites(): Writes {
  return { suggestions: [], deliveries: [], reports: [], builders: [], queue: [] };
}
