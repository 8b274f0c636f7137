// The webhook sink: a notice POSTed (PUT for Matrix) in the configured format, signed per Standard Webhooks.
import { Webhook } from 'standardwebhooks';
import { format, type Format } from './formats.js';
import { messageId } from './messageId.js';
import type { Notice } from './notice.js';
import type { Sink } from './sink.js';

/** What of a refusing server's answer goes into the error: its first words, not a page. */
const MAX_ANSWER_BYTES = 300;

export interface WebhookSinkConfig {
  url: string;
  format: Format;
  /** The Standard Webhooks secret (`whsec_…`); none: unsigned (chat services whose URL is the secret). */
  secret?: string;
  /** A bearer token (Matrix's access token, an ntfy token). */
  token?: string;
  timeoutMs: number;
  /** The master's public URL, for links to the build page. */
  baseUrl?: string;
}

/** The first MAX_ANSWER_BYTES of a body, the rest left unread. */
async function answerOf(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      n += value.length;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(parts).subarray(0, MAX_ANSWER_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
}

export class WebhookSink implements Sink {
  private readonly signer: Webhook | undefined;

  constructor(private readonly config: WebhookSinkConfig) {
    this.signer = config.secret ? new Webhook(config.secret) : undefined;
  }

  async send(n: Notice): Promise<void> {
    const id = messageId(n.id);
    const f = format(this.config.format, n, this.config.baseUrl);
    const headers: Record<string, string> = { 'content-type': f.contentType, 'user-agent': 'simplebb', ...f.headers };
    if (this.signer) {
      const at = new Date();
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
      headers['webhook-signature'] = this.signer.sign(id, at, f.body);
    }
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    // Matrix: PUT …/send/m.room.message/{txnId}; the same txnId twice is one message in the room.
    const matrix = this.config.format === 'matrix';
    const url = matrix ? `${this.config.url.replace(/\/+$/, '')}/${encodeURIComponent(id)}` : this.config.url;
    let res: Response;
    try {
      res = await fetch(url, { method: matrix ? 'PUT' : 'POST', headers, body: f.body, redirect: 'error', signal: AbortSignal.timeout(this.config.timeoutMs) });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new Error(e.name === 'TimeoutError' ? `no answer from ${this.config.url} in ${this.config.timeoutMs / 1000} s` : `cannot reach ${this.config.url}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    const answer = await answerOf(res);
    if (res.status < 200 || res.status > 299) throw new Error(`${this.config.url} answered ${res.status}${answer ? `: ${answer}` : ''}`);
  }
}
