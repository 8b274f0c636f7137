// A notice's id as receivers see it: stable across attempts and restarts, so a resent message can be recognised.
import { createHash } from 'node:crypto';

/** `msg_` and 26 characters of the notice id's SHA-256 (Standard Webhooks' webhook-id; mail's Message-ID; Matrix's txnId). */
export function messageId(noticeId: string): string {
  return `msg_${createHash('sha256').update(noticeId).digest('base64url').slice(0, 26)}`;
}
