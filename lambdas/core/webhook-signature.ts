/**
 * The text format of the execution-ended webhook's signature (SPEC §7, docs/webhook.md):
 * `X-SmartConnector-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The HMAC itself
 * needs node:crypto and lives in pipeline/webhook-signing.ts; this file only formats and parses.
 */

export const SIGNATURE_HEADER = 'X-SmartConnector-Signature';
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** The signature scheme this version writes. Receivers ignore schemes they do not know. */
export const SIGNATURE_SCHEME = 'v1';

export interface ParsedSignature {
  /** Unix seconds at which the request was signed. */
  timestamp: number;
  /** Every `v1` digest in the header, lower-case hex; more than one lets a secret be rotated. */
  digests: string[];
}

/** The string that is signed: the timestamp, a dot, and the exact body bytes sent. */
export function signedContent(timestamp: number, body: string): string {
  return `${timestamp}.${body}`;
}

export function signatureHeader(timestamp: number, hexDigest: string): string {
  return `t=${timestamp},${SIGNATURE_SCHEME}=${hexDigest}`;
}

/**
 * Reads `t=…,v1=…[,v1=…]`. Returns null when the header has no valid timestamp or no well-formed `v1`
 * digest; unknown schemes (a future `v2`) are skipped so that adding one breaks no receiver.
 */
export function parseSignatureHeader(header: string): ParsedSignature | null {
  let timestamp: number | null = null;
  const digests: string[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === SIGNATURE_SCHEME && /^[0-9a-f]{64}$/i.test(value)) digests.push(value.toLowerCase());
  }
  return timestamp === null || digests.length === 0 ? null : { timestamp, digests };
}
