import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  IDEMPOTENCY_KEY_HEADER,
  SIGNATURE_HEADER,
  parseSignatureHeader,
  signatureHeader,
  signedContent,
} from '../core/webhook-signature.ts';

/**
 * Signing and verifying the execution-ended webhook (docs/webhook.md). `verifyWebhookSignature` is the
 * check receivers are told to make; the tests run it against `signWebhook` so the two never drift apart.
 */

/** Default for how far a signature's timestamp may be from the receiver's clock, either way. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

export type WebhookHeaders = Record<string, string>;

export type SignatureVerdict =
  | { valid: true }
  | {
      valid: false;
      /** `malformed`: no usable header; `stale`: timestamp outside the tolerance; `mismatch`: wrong HMAC. */
      reason: 'malformed' | 'stale' | 'mismatch';
    };

/**
 * The headers of one delivery attempt. The signature is added only when the connector has a
 * `webhookSecret` (SPEC §7); `idempotencyKey` is the execution id, the same on every retry.
 */
export function signWebhook(
  body: string,
  secret: string | undefined,
  now: Date,
  idempotencyKey: string,
): WebhookHeaders {
  const headers: WebhookHeaders = {
    'Content-Type': 'application/json',
    [IDEMPOTENCY_KEY_HEADER]: idempotencyKey,
  };
  if (secret !== undefined && secret !== '') {
    const timestamp = unixSeconds(now);
    headers[SIGNATURE_HEADER] = signatureHeader(timestamp, hmacHex(secret, signedContent(timestamp, body)));
  }
  return headers;
}

/**
 * Checks a received signature over the raw body: the timestamp must be within `toleranceSeconds` of `now`
 * (so a captured request cannot be replayed later) and one `v1` digest must equal the HMAC, compared in
 * constant time.
 */
export function verifyWebhookSignature(
  body: string,
  header: string | undefined,
  secret: string,
  options: { toleranceSeconds?: number; now: Date },
): SignatureVerdict {
  const parsed = header === undefined ? null : parseSignatureHeader(header);
  if (parsed === null) return { valid: false, reason: 'malformed' };
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(unixSeconds(options.now) - parsed.timestamp) > tolerance)
    return { valid: false, reason: 'stale' };
  const expected = Buffer.from(hmacHex(secret, signedContent(parsed.timestamp, body)), 'hex');
  // Every digest is compared, with no early exit, so timing reveals neither which one matched nor where.
  let matched = false;
  for (const digest of parsed.digests) {
    if (timingSafeEqual(Buffer.from(digest, 'hex'), expected)) matched = true;
  }
  return matched ? { valid: true } : { valid: false, reason: 'mismatch' };
}

function hmacHex(secret: string, content: string): string {
  return createHmac('sha256', secret).update(content, 'utf8').digest('hex');
}

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
