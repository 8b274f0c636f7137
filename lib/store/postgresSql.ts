// SQL pieces the PostgreSQL record shares: numbered parameters, multi-row VALUES lists, and which errors mean the server is away.

/** Parameters of one statement, numbered as they are added ($1, $2, …). */
export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** The most parameters one statement takes (PostgreSQL's limit is 65,535): a few hundred rows of a wide table. */
const MAX_PARAMS = 20_000;

/** Splits rows into chunks whose parameters fit one statement. */
export function chunks<T>(rows: T[], columns: number): T[][] {
  const per = Math.max(1, Math.floor(MAX_PARAMS / columns));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += per) out.push(rows.slice(i, i + per));
  return out;
}

/** `($1, $2), ($3, $4)` for these rows, their values added to `p`. */
export function valuesList(p: Params, rows: unknown[][]): string {
  return rows.map((r) => `(${r.map((v) => p.add(v)).join(', ')})`).join(', ');
}

/** SQLSTATE classes and codes, and socket errors, that mean the server is unreachable or going away (a retry may succeed). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message ?? '');
}
