// The kinds of sink a notify file configures, and the sink each configuration makes.
import { MailSink, type MailSinkConfig } from './mail.js';
import { ScriptSink, type ScriptSinkConfig } from './script.js';
import type { Sink } from './sink.js';
import { StatusSink, type StatusSinkConfig } from './status.js';
import { WebhookSink, type WebhookSinkConfig } from './webhook.js';

export type SinkConfig =
  | ({ type: 'mail' } & MailSinkConfig)
  | ({ type: 'webhook' } & WebhookSinkConfig)
  | ({ type: 'script' } & ScriptSinkConfig)
  | ({ type: 'status' } & StatusSinkConfig);

export function makeSink(c: SinkConfig): Sink {
  switch (c.type) {
    case 'mail': return new MailSink(c);
    case 'webhook': return new WebhookSink(c);
    case 'script': return new ScriptSink(c);
    case 'status': return new StatusSink(c);
  }
}
