// The mail sink: a notice as a plain-text mail over SMTP (nodemailer), with a Message-ID stable across attempts.
import { createTransport, type Transporter } from 'nodemailer';
import { messageId } from './messageId.js';
import { headline, plainText, type Notice } from './notice.js';
import type { Sink } from './sink.js';

export interface MailSinkConfig {
  /** smtp:// or smtps:// URL; or host and port. */
  url?: string;
  host?: string;
  port?: number;
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  secure?: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
  timeoutMs: number;
  baseUrl?: string;
}

export class MailSink implements Sink {
  readonly addressed = true;
  private readonly transport: Transporter;

  constructor(private readonly config: MailSinkConfig) {
    const t = config.timeoutMs;
    const auth = config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {};
    this.transport = createTransport(config.url
      ? { url: config.url, connectionTimeout: t, greetingTimeout: t, socketTimeout: t, ...auth }
      : { host: config.host, port: config.port, secure: config.secure ?? false, connectionTimeout: t, greetingTimeout: t, socketTimeout: t, ...auth });
  }

  async send(n: Notice): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.config.from, to: n.to !== undefined ? [n.to] : this.config.to, subject: `[simplebb] ${headline(n)}`, text: plainText(n, this.config.baseUrl),
        messageId: `<${messageId(n.id)}@simplebb>`, headers: { 'X-Simplebb-Notification': n.id },
      });
    } catch (err) {
      const e = err as Error & { code?: string; response?: string };
      throw new Error(`mail not sent: ${(e.response ?? e.message).split('\n')[0]}${e.code ? ` (${e.code})` : ''}`);
    }
  }

  close(): void {
    this.transport.close();
  }
}
