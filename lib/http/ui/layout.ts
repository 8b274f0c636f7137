// The one page template: head, the nav, the main region live.js swaps, and the stylesheet and script it loads.
import { VERSION } from '../../common/version.js';
import { html, type Html } from './html.js';

export type Section = 'matrix' | 'builders' | 'suggestions' | 'hooks' | 'notifications' | 'none';

const NAV: Array<[Section, string, string]> = [['matrix', '/', 'Matrix'], ['builders', '/builders', 'Builders'], ['suggestions', '/suggestions', 'Suggestions'], ['hooks', '/hooks', 'Webhooks'], ['notifications', '/notifications', 'Notifications']];

/** A whole page; `main` is what changes from page to page (and what live.js replaces when the master reports). */
export function page(title: string, section: Section, main: Html): Html {
  const { head, foot } = pageParts(title, section);
  return html`${head}${main}${foot}`;
}

/** A page's markup before and after its main region, for a page sent as it is rendered (a build's log). */
export function pageParts(title: string, section: Section): { head: Html; foot: Html } {
  const head = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title} · simplebb</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/simplebb.css">
<script src="/static/live.js" defer></script>
</head>
<body>
<header><nav aria-label="simplebb">
<a class="brand" href="/">simplebb</a>
${NAV.map(([s, href, label]) => html`<a href="${href}"${s === section ? html` aria-current="page"` : ''}>${label}</a>`)}
<span class="live" id="live" hidden>live</span>
</nav></header>
<main id="main">
`;
  const foot = html`
</main>
<footer>simplebb ${VERSION}</footer>
</body>
</html>
`;
  return { head, foot };
}

/** A page that says what is missing (or wrong) in one line. */
export function notFound(what: string): Html {
  return page('Not found', 'none', html`<h1>Not found</h1>\n<p class="explain">${what}</p>`);
}
