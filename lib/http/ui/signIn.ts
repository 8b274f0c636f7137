// Signing a browser in: a form that takes the read token once and answers with a session cookie (HttpOnly,
// SameSite=Strict), so the board can be read in a browser where reads need the token.
import type { FastifyInstance } from 'fastify';
import { tokenMatches, type AccessRules } from '../access.js';
import { newSession, sessionHeader } from '../session.js';
import { html, type Html } from './html.js';
import { page } from './layout.js';
import { send } from './pages.js';

/** A wrong token waits this long for its answer: guesses at a long random token get nowhere fast. */
const WRONG_TOKEN_DELAY_MS = 1000;

function form(note: Html | string): Html {
  return page('Sign in', 'none', html`<h1>Sign in</h1>
<p class="explain">This board needs its read token. Give it once; this browser then keeps a session for 30 days (a cookie that holds no token).</p>
${note}
<form method="post" action="/sign-in" class="filter">
<label>read token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">sign in</button>
</form>`);
}

export function registerSignIn(app: FastifyInstance, access: AccessRules, secure: boolean, now: () => number): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.get('/sign-in', async (_req, reply) => send(reply, 200, access.readToken === undefined
    ? page('Sign in', 'none', html`<h1>Sign in</h1><p class="explain">This board needs no sign-in: <a href="/">to the board</a>.</p>`)
    : form('')));
  app.post('/sign-in', async (req, reply) => {
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    if (access.readToken === undefined) return reply.code(303).header('location', '/').send();
    if (typeof token !== 'string' || !tokenMatches(access, token)) {
      await new Promise((r) => setTimeout(r, WRONG_TOKEN_DELAY_MS));
      return send(reply, 401, form(html`<p class="error">That is not this board's read token.</p>`));
    }
    return reply.code(303).header('set-cookie', sessionHeader(newSession(access.readToken, now()), secure)).header('location', '/').send();
  });
  app.post('/sign-out', async (_req, reply) => reply.code(303).header('set-cookie', sessionHeader(undefined, secure)).header('location', '/sign-in').send());
}
