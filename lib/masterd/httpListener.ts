// The master's HTTP listener: the fastify app of lib/http on its own address, with the wire's per-address cap
// counted at accept, and an orderly close.
import type { Board } from '../master/board.js';
import { LiveLogs } from '../master/liveLogs.js';
import type { EventBus } from '../master/events.js';
import type { OverdueWatch } from '../master/overdue.js';
import type { Relay } from '../master/relay.js';
import type { History } from '../store/history.js';
import type { LogReader, Outbox } from '../store/store.js';
import { EventLog } from '../http/eventLog.js';
import { createMetrics } from '../http/metrics.js';
import type { HookIntake } from '../http/hooks.js';
import { createHttpApp } from '../http/server.js';
import { isLoopback } from './config.js';
import { serveApp } from './httpServe.js';

export interface HttpConfig {
  host: string;
  port: number;
  readToken?: string;
  suggestToken?: string;
  publicBoard: boolean;
  maxConnsPerAddress: number;
  tls?: { cert: Buffer; key: Buffer };
}

export interface HttpListening {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenHttp(config: HttpConfig, deps: { history: History; board: Board; relay: Relay; events: EventBus; logs?: LogReader; hooks?: HookIntake; hooksElsewhere?: string; notifications?: Pick<Outbox, 'recent'>; overdue?: OverdueWatch }): Promise<HttpListening> {
  const app = createHttpApp({
    history: deps.history, board: deps.board, relay: deps.relay, log: new EventLog(deps.events), live: new LiveLogs(deps.events), ...(deps.logs ? { logs: deps.logs } : {}), ...(deps.hooks ? { hooks: deps.hooks } : {}), ...(deps.hooksElsewhere ? { hooksElsewhere: deps.hooksElsewhere } : {}), ...(deps.notifications ? { notifications: deps.notifications } : {}), ...(deps.overdue ? { overdue: deps.overdue } : {}), metrics: createMetrics(deps.events, deps.board, deps.history, deps.overdue),
    access: {
      loopback: isLoopback(config.host), publicBoard: config.publicBoard,
      ...(config.readToken !== undefined ? { readToken: config.readToken } : {}), ...(config.suggestToken !== undefined ? { suggestToken: config.suggestToken } : {}),
    },
    ...(config.tls ? { https: config.tls } : {}),
  });
  const { url, port } = await serveApp(app, config.host, config.port, config.maxConnsPerAddress, Boolean(config.tls));
  return {
    url,
    port,
    close: async () => {
      // Streams never end by themselves: closed with the server.
      app.server.closeAllConnections?.();
      await app.close();
    },
  };
}
