// Gitea's and Forgejo's webhooks: `X-Gitea-Signature` / `X-Forgejo-Signature` (HMAC-SHA256 of the body in hex,
// compared in constant time), `X-Gitea-Delivery` / `X-Forgejo-Delivery`, and GitHub-shaped push and pull_request payloads.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { header, type Forge, type ForgeName } from './forge.js';
import { parseGithubLike } from './github.js';

function giteaLike(name: Extract<ForgeName, 'gitea' | 'forgejo'>, prefix: string): Forge {
  const signatureHeader = `x-${prefix}-signature`;
  return {
    name,
    async verify(headers, body, secrets) {
      const signature = header(headers, signatureHeader);
      if (signature === undefined) return `no X-${prefix[0]!.toUpperCase()}${prefix.slice(1)}-Signature header`;
      if (!/^[0-9a-f]{64}$/i.test(signature)) return 'the signature is not 64 hex digits (HMAC-SHA256)';
      const expected = createHmac('sha256', secrets.secret).update(body).digest();
      return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? null : 'wrong signature';
    },
    deliveryId: (headers) => header(headers, `x-${prefix}-delivery`),
    event: (headers) => header(headers, `x-${prefix}-event`),
    parse: (event, payload) => parseGithubLike(event, payload),
  };
}

export const gitea = giteaLike('gitea', 'gitea');
// Forgejo sends the Gitea headers too; its own are the ones it documents and the ones checked here.
export const forgejo = giteaLike('forgejo', 'forgejo');
