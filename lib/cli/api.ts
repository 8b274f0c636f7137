// The master's HTTP API (docs/API.md) as the simplebb command uses it: a GET or POST with the bearer token, a deadline
// on the whole exchange, a bound on what is read, and every failure as one line that names the URL and the reason.
import { printable } from '../suggest/printable.js';

/**
 * The most the command reads of one answer. The largest the contract has is one report with its kept output (the
 * first and last 512 KiB, so about 1 MiB of text, and at most six times that with JSON's escapes).
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** How much of an error answer is read: it is one line of JSON. */
const MAX_ERROR_BYTES = 64 * 1024;
/** How much of the master's error text is shown. */
const MAX_ERROR_CHARS = 300;

/** A failure of a request, in one line for stderr; `status`, when the master answered with an error. */
export class ApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export interface ApiOptions {
  /** The master's HTTP address; a path in it (a proxy's prefix) is kept. */
  url: URL;
  token?: string | undefined;
  timeoutMs: number;
  /** Where a token goes, said after a 401 when none was sent ("give the read token with --token-file"). */
  tokenHint: string;
  /** The most an answer may be, in bytes. */
  maxBytes?: number;
}

/** What one request asks and how its 404 is put. */
export interface Ask {
  query?: Record<string, string | undefined>;
  /** The line for a 404 ("no such suggestion X"); without it a 404 means the URL is not the master's API. */
  notFound?: string;
}

// Reasons a connection fails, in words (undici puts the system's code on the error's cause).
const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name cannot be looked up now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'the connection timed out',
  EADDRNOTAVAIL: 'the address is not available',
  EPIPE: 'the connection was closed',
  UND_ERR_SOCKET: 'the connection closed before a whole answer',
  UND_ERR_CLOSED: 'the connection closed before a whole answer',
  UND_ERR_HEADERS_OVERFLOW: 'the answer\'s headers are too large',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate cannot be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its TLS certificate\'s issuer is not trusted',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it does not speak TLS there',
};

/** Why a request failed, in words, from what fetch threw. */
function reason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: unknown };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  let cause = (e?.cause ?? e) as Error & { code?: string; errors?: Array<{ code?: string }> };
  // Several addresses tried (localhost: ::1, then 127.0.0.1) give an AggregateError with one error per address.
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code && REASONS[code]) return REASONS[code];
  if (code?.startsWith('HPE_') || cause?.name === 'HTTPParserError') return 'the answer is not HTTP (is this the master\'s --http address and not its builders\' port?)';
  if (cause?.message === 'bad port') return 'fetch refuses that port (one of the ports browsers block); use another';
  if (cause?.message === 'fetch failed' && cause.cause) cause = cause.cause as typeof cause;
  return printable(String(cause?.message ?? err)).slice(0, MAX_ERROR_CHARS) + (code ? ` (${code})` : '');
}

/** Reads a body up to `limit` bytes; throws an ApiError naming the limit beyond it. */
async function readBody(res: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const bound = limit % (1024 * 1024) === 0 ? `${limit / 1024 / 1024} MiB` : `${limit} bytes`;
  const tooLarge = (): ApiError => new ApiError(`the answer from ${what} is larger than ${bound}`);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The `error` of an error answer, printable and short; the status text when there is none. */
function serverError(body: Buffer, res: Response): string {
  let text: unknown;
  try {
    text = (JSON.parse(body.toString('utf8')) as { error?: unknown }).error;
  } catch {
    text = undefined;
  }
  if (typeof text !== 'string' || !text) text = res.statusText || `HTTP ${res.status}`;
  const line = printable(text as string);
  return line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS)}…` : line;
}

/** A client of one master's HTTP API. */
export class Api {
  private readonly base: string;

  constructor(private readonly o: ApiOptions) {
    this.base = o.url.href.replace(/\/+$/, '');
  }

  /** GETs `path` and parses its JSON. */
  async json(path: string, ask: Ask = {}): Promise<unknown> {
    return this.parse(await this.request('GET', path, ask), path);
  }

  /** GETs `path` as bytes (a log). */
  async bytes(path: string, ask: Ask = {}): Promise<Buffer> {
    return this.request('GET', path, ask);
  }

  /** POSTs `body` as JSON to `path` and parses the JSON answer. */
  async post(path: string, body: unknown, ask: Ask = {}): Promise<unknown> {
    return this.parse(await this.request('POST', path, ask, JSON.stringify(body)), path);
  }

  /** POSTs `body` as it is, with these headers (a signed webhook delivery), and parses the JSON answer. */
  async postSigned(path: string, body: string, headers: Record<string, string>, ask: Ask = {}): Promise<unknown> {
    return this.parse(await this.request('POST', path, ask, body, headers), path);
  }

  private parse(body: Buffer, path: string): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError(`the answer from ${this.base}${path} is not JSON (is ${this.base} the master's HTTP address?)`);
    }
  }

  /**
   * GETs `path` and hands its body to `piece` as it comes, with no bound on its size (a whole log). The answer's
   * head must come within the timeout; then, unless `waitForever` (a running build may print nothing for long),
   * each piece must come within it too. Resolves when the body has ended.
   */
  async stream(path: string, ask: Ask, piece: (data: Uint8Array) => void, waitForever = false): Promise<void> {
    const controller = new AbortController();
    const expire = (): void => controller.abort(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
    let timer = setTimeout(expire, this.o.timeoutMs);
    try {
      const res = await this.open('GET', path, ask, controller.signal);
      const reader = res.body?.getReader();
      for (;;) {
        clearTimeout(timer);
        if (!waitForever) timer = setTimeout(expire, this.o.timeoutMs);
        let next;
        try {
          next = reader ? await reader.read() : { done: true as const, value: undefined };
        } catch (err) {
          throw new ApiError(`the answer from ${this.base}${path} was cut short: ${reason(err, this.o.timeoutMs)}`);
        }
        if (next.done) return;
        piece(next.value);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async request(method: 'GET' | 'POST', path: string, ask: Ask, body?: string, extra: Record<string, string> = {}): Promise<Buffer> {
    const res = await this.open(method, path, ask, AbortSignal.timeout(this.o.timeoutMs), body, extra);
    return this.read(res, this.o.maxBytes ?? MAX_ANSWER_BYTES, path);
  }

  /** Reads a body up to `limit` bytes, its failure as one line. */
  private async read(res: Response, limit: number, path: string): Promise<Buffer> {
    try {
      return await readBody(res, limit, `${this.base}${path}`);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(`the answer from ${this.base}${path} was cut short: ${reason(err, this.o.timeoutMs)}`);
    }
  }

  /** Sends the request and resolves with a 2xx answer whose body is still to be read; any other answer is an ApiError. */
  private async open(method: 'GET' | 'POST', path: string, ask: Ask, signal: AbortSignal, body?: string, extra: Record<string, string> = {}): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(ask.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json, text/plain' };
    if (this.o.token !== undefined) headers.authorization = `Bearer ${this.o.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, extra);
    let res: Response;
    try {
      // A redirect is not followed: the API never answers with one, and following it could carry the token elsewhere.
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal, redirect: 'manual' });
    } catch (err) {
      throw new ApiError(`cannot reach the master at ${this.base}: ${reason(err, this.o.timeoutMs)}`);
    }
    if (res.status >= 200 && res.status < 300) return res;
    const said = serverError(await this.read(res, MAX_ERROR_BYTES, path), res);
    switch (res.status) {
      case 401:
      case 403:
        throw new ApiError(`the master refused: ${said}${this.o.token === undefined ? ` (${this.o.tokenHint})` : ''}`);
      case 404:
        throw new ApiError(ask.notFound ?? `${this.base}${path}: not found (is ${this.base} the master's HTTP address?)`, 404);
      case 400:
      case 413:
      case 422:
        throw new ApiError(`the master refused the request: ${said}`, res.status);
      case 409:
        // The request stands, but there is nothing to do (a build that has already finished is not cancelled): said as it is.
        throw new ApiError(said, 409);
      case 429:
        throw new ApiError(`the master is limiting requests: ${said}; try again shortly`);
      case 503:
        throw new ApiError(`the master cannot read its record now: ${said}`);
      default:
        if (res.status >= 300 && res.status < 400) {
          throw new ApiError(`${this.base}${path} answered with a redirect (HTTP ${res.status}) to ${printable(res.headers.get('location') ?? 'nowhere')}; give the master's own address`);
        }
        throw new ApiError(`${this.base}${path} answered HTTP ${res.status}: ${said}`);
    }
  }
}
