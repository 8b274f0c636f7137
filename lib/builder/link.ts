// The builder's link to the master: one connection at a time, said hello to with where its inbox stands, reopened when it drops.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { formatAddress, type Address } from '../wire/address.js';
import { connectToMaster, type HelloFields, type MasterConnection } from '../wire/dial.js';
import { Reconnector } from '../wire/reconnect.js';
import { whichMaster, type MasterSpec } from '../wire/whichMaster.js';
import type { FromMaster, ToMaster } from '../protocol/messages.js';

export interface LinkConfig {
  /** The master, or `auto`: found by DNS-SD before each attempt. */
  master: MasterSpec;
  connectTimeoutMs: number;
  heartbeatMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  token?: string;
  tls?: { ca?: Buffer };
}

export interface LinkEvents {
  /** Connected and welcomed by the master whose record is `store`. */
  up: [store: string];
  message: [FromMaster, string];
  /** The socket can take more after a send returned false. */
  drain: [];
  down: [];
}

export class Link extends EventEmitter<LinkEvents> {
  private conn: MasterConnection | undefined;
  private store = '';
  /** The master dialed last, and with `auto` what was said about finding it (said again only when it changes). */
  private dialed: Address | undefined;
  private said = '';
  /** The master of the connection being made or held takes labels (its greeting said so). */
  private labels = false;
  /** Counts connections: work tied to one connection stops when this moves on. */
  generation = 0;
  private readonly reconnector: Reconnector;

  /**
   * `hello` is asked for each connection, given the id of the master's record, so the cursor it carries is for that
   * record; `beforeDial` settles before each attempt (what the last connection brought must be on disk first).
   */
  constructor(
    private readonly config: LinkConfig,
    private readonly hello: (store: string, takesLabels: boolean, dispatches: boolean, sendsCancel: boolean) => HelloFields,
    private readonly log: Logger,
    private readonly beforeDial: () => Promise<void> = () => Promise.resolve(),
  ) {
    super();
    this.reconnector = new Reconnector(() => this.open(), (c) => this.up(c), (why, retryInMs) => {
      this.log.warn({ event: 'disconnected', reason: why, retryInMs }, `not connected to master: ${why}`);
    }, { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs });
  }

  start(): void {
    this.reconnector.start();
  }

  stop(): void {
    this.reconnector.stop();
  }

  get connected(): boolean {
    return this.conn?.isOpen ?? false;
  }

  /** Bytes waiting in the socket; 0 when not connected. */
  get backlog(): number {
    return this.conn?.backlog ?? 0;
  }

  /** The record of the master connected now ('' when none). */
  get record(): string {
    return this.conn ? this.store : '';
  }

  /** Whether the master connected now takes builder labels (an older one refuses a hello or message that has them). */
  get takesLabels(): boolean {
    return this.conn !== undefined && this.labels;
  }

  /** Sends if connected; false when not connected or when the socket wants a pause (wait for 'drain'). */
  send(message: ToMaster): boolean {
    return this.conn?.send(message) ?? false;
  }

  close(reason: string): void {
    this.conn?.close(reason);
  }

  private async open(): Promise<MasterConnection> {
    await this.beforeDial();
    const dial = await whichMaster(this.config.master, this.config.tls);
    if (dial.found && dial.found.said !== this.said) {
      this.said = dial.found.said;
      this.log.info({ event: 'found-master', instance: dial.found.announcement.instance, master: formatAddress(dial.address), tls: dial.tls !== undefined }, dial.found.said);
    }
    this.dialed = dial.address;
    return connectToMaster(dial.address, (greeting) => {
      this.store = greeting.store;
      this.labels = greeting.labels === true;
      return this.hello(greeting.store, this.labels, greeting.one === true, greeting.cancel === true);
    }, {
      timeoutMs: this.config.connectTimeoutMs, heartbeatMs: this.config.heartbeatMs,
      ...(this.config.token !== undefined ? { token: this.config.token } : {}), ...(dial.tls ? { tls: dial.tls } : {}),
    });
  }

  private up(conn: MasterConnection): void {
    this.conn = conn;
    this.generation++;
    const store = this.store;
    this.log.info({ event: 'connected', master: this.dialed ? formatAddress(this.dialed) : '', store }, 'connected to master');
    conn.on('message', (m) => this.emit('message', m, store));
    conn.on('invalid', (problem, fatal) => {
      this.log.warn({ event: 'invalid', problem }, 'invalid line from master');
      if (fatal) conn.destroy(problem);
    });
    conn.socket.on('drain', () => this.emit('drain'));
    conn.on('close', () => {
      if (this.conn === conn) this.conn = undefined;
      this.emit('drain'); // whoever waits for room to write must not wait for ever
      this.emit('down');
    });
    this.emit('up', store);
  }
}
