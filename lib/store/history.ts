// The record's read side, for the web pages, the HTTP API and the `simplebb` command: history queried by project,
// branch, builder and verdict, newest first, a page at a time.
import type { Labels } from '../protocol/labels.js';
import type { Verdict } from '../protocol/messages.js';
import type { DeliveryState, HookDelivery, LogEntry, StoredReport, StoredSuggestion } from './store.js';

/** A report without its output. */
export type ReportSummary = Omit<StoredReport, 'output'>;

/** Where a page of reports ends: the next page starts after it (newest first). */
export interface ReportCursor { receivedAt: number; id: string; builder: string }

/** Where a page of webhook deliveries ends. */
export interface HookCursor { receivedAt: number; forge: string; delivery: string }

/** What both histories are filtered by (all optional, combined with AND). */
export interface HistoryFilter {
  project?: string;
  branch?: string;
  /** Reports: of this builder. Suggestions: offered to it. */
  builder?: string;
  /** Reports: with this verdict. Suggestions: one of their builders reported it. */
  verdict?: Verdict;
  /** Milliseconds since the epoch, both ends included: a report's receivedAt, a suggestion's createdAt. */
  since?: number;
  until?: number;
  limit: number;
}

export interface ReportQuery extends HistoryFilter {
  /** Only reports whose builder had this label (name, value) when it reported. */
  label?: [string, string];
  /** Only the newest build outcome (success, failure or timeout) per project × branch × builder. */
  latest?: boolean;
  /** As latest, and only those that are red (failure or timeout). */
  failing?: boolean;
  after?: ReportCursor;
}

export interface SuggestionQuery extends HistoryFilter {
  /** The page starts below this place in the log. */
  beforeSeq?: number;
}

/** One builder's part in a suggestion, with its verdict once reported. */
export interface DeliveryView {
  builder: string;
  state: DeliveryState;
  at: number;
  verdict?: Verdict;
  exitCode?: number;
  durationMs?: number;
}

export interface SuggestionView extends StoredSuggestion {
  deliveries: DeliveryView[];
}

/** The verdicts that say the code is broken: what "red" and "failing" mean. */
export const RED_VERDICTS: ReadonlySet<Verdict> = new Set<Verdict>(['failure', 'timeout']);
/** The verdicts that are a build's outcome (the others say it did not run or its outcome is unknown). */
export const OUTCOME_VERDICTS: readonly Verdict[] = ['success', 'failure', 'timeout'];

/** One project × branch × builder's newest build outcome, without the rest of its report: what the matrix draws. */
export interface Cell { project: string; branch: string; builder: string; id: string; verdict: Verdict; receivedAt: number }

export interface History {
  /** The newest outcome of each project × branch × builder, newest first, at most `limit`. */
  cells(limit: number): Promise<Cell[]>;
  reports(q: ReportQuery): Promise<ReportSummary[]>;
  /** One report with its kept output. */
  report(id: string, builder: string): Promise<StoredReport | undefined>;
  /** What the index says of a build's full log on disk, if one is kept. */
  log(id: string, builder: string): Promise<LogEntry | undefined>;
  suggestions(q: SuggestionQuery): Promise<SuggestionView[]>;
  suggestionView(id: string): Promise<SuggestionView | undefined>;
  /** Every builder name the record knows, with when it was last seen. */
  builderNames(): Promise<Array<{ name: string; lastSeen: number; labels?: Labels }>>;
  /** Webhook deliveries, newest first, after `after` (the last of the page before) when given. */
  hookDeliveries(limit: number, after?: HookCursor): Promise<HookDelivery[]>;
  /** The record's size on disk. */
  bytes(): Promise<number>;
}
