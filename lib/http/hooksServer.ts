// The webhooks on a listener of their own (--hooks-http): `POST /hooks/:forge` and nothing else, so that only what
// proves itself by a forge's signature is put on the internet; the API and the pages stay where they were.
import Fastify, { type FastifyInstance } from 'fastify';
import { HOOK_BODY_LIMIT, registerHooks, type HookIntake } from './hooks.js';
import { fail, SECURITY_HEADERS } from './server.js';

export function createHooksApp(deps: { hooks: HookIntake; https?: { cert: Buffer; key: Buffer } }): FastifyInstance {
  const options = { bodyLimit: HOOK_BODY_LIMIT, requestTimeout: 10_000, connectionTimeout: 10_000, keepAliveTimeout: 5_000, return503OnClosing: true };
  const app = (deps.https ? Fastify({ ...options, https: { ...deps.https, minVersion: 'TLSv1.2' } }) : Fastify(options)) as unknown as FastifyInstance;
  app.addHook('onRequest', async (_req, reply) => void reply.headers(SECURITY_HEADERS));
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 503;
    return fail(reply, status, status === 413 ? `the body is larger than ${HOOK_BODY_LIMIT} bytes` : status === 503 ? 'the master cannot take webhooks now' : err.message.split('\n')[0]!);
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, `this listener takes only webhooks (POST /hooks/FORGE), not ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`));
  registerHooks(app, deps.hooks);
  return app;
}
