// The webhooks' own listener (--hooks-http HOST:PORT): the hooks-only app on its address, and its close.
import type { HookIntake } from '../http/hooks.js';
import { createHooksApp } from '../http/hooksServer.js';
import type { HttpListening } from './httpListener.js';
import { serveApp } from './httpServe.js';

export interface HooksHttpConfig {
  host: string;
  port: number;
  maxConnsPerAddress: number;
  tls?: { cert: Buffer; key: Buffer };
}

export async function listenHooks(config: HooksHttpConfig, hooks: HookIntake): Promise<HttpListening> {
  const app = createHooksApp({ hooks, ...(config.tls ? { https: config.tls } : {}) });
  const { url, port } = await serveApp(app, config.host, config.port, config.maxConnsPerAddress, Boolean(config.tls));
  return { url, port, close: () => app.close() };
}
