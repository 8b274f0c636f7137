// Signing a browser in: a form that takes the read token once and answers with a session cookie (HttpOnly,
// SameSite=Strict), so the board can be read in a browser where reads need the token; the suggest token also gives
// an operator cookie, with which the pages offer cancel and rerun.
import type { FastifyInstance } from 'fastify';
import { sameSecret } from '../../common/sameSecret.js';
import { tokenMatches, type AccessRules } from '../access.js';
import { OPERATOR_COOKIE } from '../operator.js';
import { newSession, sessionHeader } from '../session.js';
import { html, type Html } from './html.js';
import { page } from './layout.js';
import { send } from './pages.js';

/** A wrong token waits this long for its answer: guesses at a long random token get nowhere fast. */
const WRONG_TOKEN_DELAY_MS = 1000;

function form(access: AccessRules, note: Html | string): Html {
  const what = access.readToken === undefined ? 'the suggest token' : access.suggestToken === undefined ? 'the read token' : 'the read token, or the suggest token to also cancel and rerun builds from the pages';
  return page('Sign in', 'none', html`<h1>Sign in</h1>
<p class="explain">Give ${what} once; this browser then keeps a session for 30 days (a cookie that holds no token).</p>
${note}
<form method="post" action="/sign-in" class="filter">
<label>token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">sign in</button>
</form>`);
}

export function registerSignIn(app: FastifyInstance, access: AccessRules, secure: boolean, now: () => number): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  const needless = access.readToken === undefined && access.suggestToken === undefined;
  app.get('/sign-in', async (_req, reply) => send(reply, 200, needless
    ? page('Sign in', 'none', html`<h1>Sign in</h1><p class="explain">This board needs no sign-in: <a href="/">to the board</a>.</p>`)
    : form(access, '')));
  app.post('/sign-in', async (req, reply) => {
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    if (needless) return reply.code(303).header('location', '/').send();
    if (typeof token !== 'string' || !tokenMatches(access, token)) {
      await new Promise((r) => setTimeout(r, WRONG_TOKEN_DELAY_MS));
      return send(reply, 401, form(access, html`<p class="error">That is not one of this board's tokens.</p>`));
    }
    const cookies: string[] = [];
    if (access.readToken !== undefined) cookies.push(sessionHeader(newSession(access.readToken, now()), secure));
    if (access.suggestToken !== undefined && sameSecret(token, access.suggestToken)) {
      cookies.push(sessionHeader(newSession(access.suggestToken, now(), 'operator'), secure, OPERATOR_COOKIE));
    }
    return reply.code(303).header('set-cookie', cookies).header('location', '/').send();
  });
  app.post('/sign-out', async (_req, reply) => reply.code(303)
    .header('set-cookie', [sessionHeader(undefined, secure), sessionHeader(undefined, secure, OPERATOR_COOKIE)]).header('location', '/sign-in').send());
}
