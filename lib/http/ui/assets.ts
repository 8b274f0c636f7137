// The pages' stylesheet and script, read once from lib/http/ui/static/ and served with an ETag; no build step, no CDN.
import { createHash } from 'node:crypto';
import { packageFile } from '../../common/packageFile.js';

export interface Asset { body: string; type: string; etag: string }

function asset(name: string, type: string): Asset {
  const body = packageFile(`lib/http/ui/static/${name}`);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** The files by their URL path. */
export function loadAssets(): Map<string, Asset> {
  return new Map([
    ['/static/simplebb.css', asset('simplebb.css', 'text/css; charset=utf-8')],
    ['/static/live.js', asset('live.js', 'text/javascript; charset=utf-8')],
  ]);
}
