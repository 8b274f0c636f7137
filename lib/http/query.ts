// The API's query parameters read and checked: one 400 line naming the parameter and what is wrong with it.
import { parseLabel } from '../protocol/labels.js';
import { VERDICTS, type Verdict } from '../protocol/names.js';
import type { HookCursor, ReportCursor } from '../store/history.js';

export class BadQuery extends Error {}

type Query = Record<string, unknown>;

/** A single string parameter, or undefined; a repeated one is refused. */
export function text(q: Query, name: string, max = 1024): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new BadQuery(`${name}: give it once`);
  if (v.length === 0 || v.length > max) throw new BadQuery(`${name}: must be 1 to ${max} characters`);
  return v;
}

export function integer(q: Query, name: string, min: number, max: number): number | undefined {
  const v = text(q, name, 20);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new BadQuery(`${name}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function flag(q: Query, name: string): boolean {
  const v = text(q, name, 5);
  if (v === undefined) return false;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new BadQuery(`${name}: must be 1 or 0`);
}

/** `label=KEY=VALUE`: reports of builders that had that label. */
export function label(q: Query): [string, string] | undefined {
  const v = text(q, 'label', 200);
  if (v === undefined) return undefined;
  try {
    return parseLabel(v);
  } catch (err) {
    throw new BadQuery(`label: ${(err as Error).message}`);
  }
}

export function verdict(q: Query): Verdict | undefined {
  const v = text(q, 'verdict', 32);
  if (v === undefined) return undefined;
  if (!(VERDICTS as readonly string[]).includes(v)) throw new BadQuery(`verdict: must be one of ${VERDICTS.join(', ')}, got ${JSON.stringify(v)}`);
  return v as Verdict;
}

/** The parameters without the empty ones a plain HTML form sends for its blank fields. */
export function withoutBlanks(q: Query): Query {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== ''));
}

/** The page size: 1 to 500, 50 by default. */
export function limit(q: Query): number {
  return integer(q, 'limit', 1, 500) ?? 50;
}

/** A reports cursor, RECEIVEDAT:ID:BUILDER as the `next` of the page before. */
export function reportCursor(q: Query): ReportCursor | undefined {
  const v = text(q, 'cursor', 300);
  if (v === undefined) return undefined;
  const m = /^(\d{1,16}):([0-9a-z-]{1,64}):([A-Za-z0-9._-]{1,128})$/.exec(v);
  if (!m) throw new BadQuery('cursor: not one this API gave (use the "next" of the page before)');
  return { receivedAt: Number(m[1]), id: m[2]!, builder: m[3]! };
}

export function nextReportCursor(r: { receivedAt: number; id: string; builder: string }): string {
  return `${r.receivedAt}:${r.id}:${r.builder}`;
}

/** A webhook deliveries cursor, RECEIVEDAT.FORGE.DELIVERY (the delivery in base64url) as the `next` of the page before. */
export function hookCursor(q: Query): HookCursor | undefined {
  const v = text(q, 'cursor', 300);
  if (v === undefined) return undefined;
  const m = /^(\d{1,16})\.([a-z]{1,16})\.([A-Za-z0-9_-]{1,200})$/.exec(v);
  if (!m) throw new BadQuery('cursor: not one this API gave (use the "next" of the page before)');
  return { receivedAt: Number(m[1]), forge: m[2]!, delivery: Buffer.from(m[3]!, 'base64url').toString('utf8') };
}

export function nextHookCursor(h: { receivedAt: number; forge: string; delivery: string }): string {
  return `${h.receivedAt}.${h.forge}.${Buffer.from(h.delivery, 'utf8').toString('base64url')}`;
}
