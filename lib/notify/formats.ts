// A notice as each webhook receiver wants it: our JSON (Standard Webhooks), Slack, Discord, Matrix and ntfy.
import { headline, pageUrl, plainText, type Notice } from './notice.js';

export const FORMATS = ['json', 'slack', 'discord', 'matrix', 'ntfy'] as const;
export type Format = (typeof FORMATS)[number];

/** Discord refuses a message longer than this. */
const DISCORD_MAX_CHARS = 2000;
/** Slack shows about this much of a message before it folds it; beyond it the link says the rest. */
const SLACK_MAX_CHARS = 3000;
/** ntfy turns a longer message into an attachment. */
const NTFY_MAX_BYTES = 4096;

/** The event type of our JSON (Standard Webhooks' `type`). */
export const EVENT_TYPE = 'simplebb.notification';

export interface FormattedBody {
  contentType: string;
  body: string;
  /** Headers this format adds (ntfy's title, tags and priority). */
  headers?: Record<string, string>;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 2)} …`;
}

/** A short chat form: the headline, the link, and the first red build's tail in a code block. */
function chat(n: Notice, baseUrl: string | undefined, max: number, code: (s: string) => string): string {
  const url = pageUrl(n, baseUrl);
  const head = `${headline(n)}${url ? `\n${url}` : ''}`;
  const tail = n.builds.find((b) => b.tail)?.tail;
  if (!tail) return cut(head, max);
  const room = max - head.length - 20;
  return room > 100 ? `${head}\n${code(tail.length > room ? tail.slice(-room) : tail)}` : cut(head, max);
}

const fence = (s: string): string => `\`\`\`\n${s.replace(/```/g, "'''")}\n\`\`\``;

export function format(f: Format, n: Notice, baseUrl: string | undefined): FormattedBody {
  const json = (v: unknown): FormattedBody => ({ contentType: 'application/json', body: JSON.stringify(v) });
  switch (f) {
    case 'json': {
      const url = pageUrl(n, baseUrl);
      return json({ type: EVENT_TYPE, timestamp: new Date(n.at).toISOString(), data: { ...n, ...(url ? { url } : {}) } });
    }
    case 'slack': return json({ text: chat(n, baseUrl, SLACK_MAX_CHARS, fence) });
    case 'discord': return json({ content: chat(n, baseUrl, DISCORD_MAX_CHARS, fence), allowed_mentions: { parse: [] } });
    case 'matrix': {
      const body = chat(n, baseUrl, SLACK_MAX_CHARS, (s) => s);
      return json({ msgtype: 'm.notice', body });
    }
    case 'ntfy': {
      const url = pageUrl(n, baseUrl);
      const red = n.transition === 'broken' || n.transition === 'still-failing' || n.transition === 'lost';
      // Header values must be Latin-1: the headline is made printable ASCII for the title.
      return {
        contentType: 'text/plain; charset=utf-8',
        body: Buffer.from(plainText(n, baseUrl)).subarray(0, NTFY_MAX_BYTES).toString('utf8').replace(/\uFFFD$/, ''),
        headers: {
          title: headline(n).replace(/[^\x20-\x7e]/g, '?').slice(0, 200),
          tags: red ? 'rotating_light' : n.transition === 'fixed' ? 'white_check_mark' : 'information_source',
          priority: red ? 'high' : 'default',
          ...(url ? { click: url } : {}),
        },
      };
    }
  }
}
