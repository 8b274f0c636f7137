// The answers of the master's HTTP API as docs/API.md draws them, and the one check the command makes of them: that
// the list it asked for is there. Fields are used as they came; the formatters cope with a missing one.
import { ApiError } from './api.js';

export interface Uname { type?: string; release?: string; version?: string; machine?: string; hostname?: string }

/** A build a connected builder is running now. */
export interface Running { id: string; project: string; branch: string; startedAt?: number }

/** `GET /api/v1/builders`: `address` … `running` only for a connected builder. */
export interface Builder {
  name: string; online: boolean; lastSeen?: number; address?: string; since?: number; uname?: Uname; node?: string;
  projects?: string[]; jobs?: number; running?: Running[]; labels?: Record<string, string>;
}

/** One builder's part in a suggestion; a reported one has its verdict, exit code and duration. */
export interface Delivery {
  builder: string; state: string; at?: number; verdict?: string; exitCode?: number; signal?: string; durationMs?: number;
}

/** `GET /api/v1/suggestions/:id`. */
export interface Suggestion {
  id: string; seq: number; project: string; branch: string; revision?: string; from?: string; createdAt: number; deliveries: Delivery[];
  /** A rerun's: the suggestion it builds again, and the one builder it was limited to. */
  rerunOf?: string; builder?: string;
}

/** `GET /api/v1/reports` (a page of them), `GET /api/v1/reports/:id/:builder` (one, with `output`). */
export interface Report {
  id: string; seq: number; builder: string; project: string; branch: string; revision?: string; verdict: string;
  exitCode: number; signal?: string; durationMs: number; startedAt?: number; receivedAt: number; node?: string;
  uname?: Uname; outputBytes?: number; outputCut?: number; message?: string; output?: string;
}

/** `POST /api/v1/suggestions`' answer (201). */
export interface Accepted { id: string; seq: number; project: string; branch: string; revision?: string; count: number; builders: string[]; queued?: number }

/** A page of a list: its items, and the cursor of the next page (absent on the last). */
export interface Page<T> { items: T[]; next?: string }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The answer as an object; `what` names the endpoint in the error. */
export function objectIn<T>(body: unknown, what: string): T {
  if (!isObject(body)) throw new ApiError(`the answer of ${what} is not the object docs/API.md describes`);
  return body as T;
}

/** The list `key` of an answer, with its `next` cursor; throws an ApiError when it is not a list of objects. */
export function pageIn<T>(body: unknown, key: string, what: string): Page<T> {
  const list = isObject(body) ? body[key] : undefined;
  if (!Array.isArray(list) || !list.every(isObject)) throw new ApiError(`the answer of ${what} has no "${key}" list (not the API of docs/API.md)`);
  const next = (body as Record<string, unknown>).next;
  return { items: list as T[], ...(typeof next === 'string' && next ? { next } : {}) };
}
