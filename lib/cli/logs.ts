// `simplebb logs ID BUILDER [--follow]`: the whole output the master kept of one build, streamed as it comes (no
// bound on its size); with --follow, a running build's output until it ends, then its verdict as the exit code. On
// a terminal its control sequences are shown as escapes (colours kept unless NO_COLOR); to a pipe or a file it goes
// byte for byte.
import { ApiError, type Api } from './api.js';
import type { Output } from './output.js';
import { TerminalLog } from './terminalLog.js';

/** How often the report is asked for after a followed log has ended without it (its builder went away). */
const REPORT_POLL_MS = 250;

/** Prints the log; resolves to the exit code: 0, or with `follow` 0 if the build passed and 1 if it did not. */
export async function logs(api: Api, out: Output, id: string, builder: string, follow: boolean, timeoutMs: number): Promise<number> {
  const report = `/api/v1/reports/${encodeURIComponent(id)}/${encodeURIComponent(builder)}`;
  const missing = `no report of builder ${builder} for suggestion ${id}`;
  // A build that runs now has no report; its log would stream until the build ends, which is what --follow is for.
  if (!follow) await api.json(report, { notFound: `${missing} (if it runs now, follow it with --follow)` });
  const view = out.terminal ? new TerminalLog(out.colour) : undefined;
  await api.stream(`${report}/log`, { notFound: follow ? `${missing}, and it does not run now` : missing }, (data) => {
    if (view) out.write(view.push(data));
    else out.bytes(data);
  }, follow);
  if (view) out.write(view.end());
  if (!follow) return 0;
  const { verdict } = await reportWhenIn(api, report, id, builder, timeoutMs);
  return verdict === 'success' ? 0 : 1;
}

/** The report of a build whose log has ended: at once, or (its builder went away) once the master has it, within `timeoutMs`. */
async function reportWhenIn(api: Api, path: string, id: string, builder: string, timeoutMs: number): Promise<{ verdict?: unknown }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await api.json(path)) as { verdict?: unknown };
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    if (Date.now() > end) throw new ApiError(`the log of ${id} on ${builder} ended, but its report is not in after ${timeoutMs / 1000} s (did its builder go away?); see \`simplebb show ${id} ${builder}\` later`);
    await new Promise((r) => setTimeout(r, REPORT_POLL_MS));
  }
}
