import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSignatureHeader } from '../../lambdas/core/webhook-signature.ts';
import { signWebhook, verifyWebhookSignature } from '../../lambdas/pipeline/webhook-signing.ts';

const SECRET = 'whsec_3b1f9c0e7a4d';
const BODY = JSON.stringify({
  event: 'execution.ended',
  executionId: 'e-1',
  status: 'succeeded',
  created: 3,
});
const SENT_AT = new Date('2025-06-12T14:30:53.250Z');
const UNIX = 1749738653; // SENT_AT in whole seconds
const later = (seconds: number) => new Date(SENT_AT.getTime() + seconds * 1000);

const signed = signWebhook(BODY, SECRET, SENT_AT, 'e-1');
const header = signed['X-SmartConnector-Signature']!;

describe('signWebhook', () => {
  it('sends JSON, the idempotency key and a signature of "<t>.<body>"', () => {
    const digest = createHmac('sha256', SECRET).update(`${UNIX}.${BODY}`).digest('hex');
    expect(signed).toEqual({
      'Content-Type': 'application/json',
      'Idempotency-Key': 'e-1',
      'X-SmartConnector-Signature': `t=${UNIX},v1=${digest}`,
    });
  });

  it.each([undefined, ''])('sends no signature when the secret is %j', (secret) => {
    expect(signWebhook(BODY, secret, SENT_AT, 'e-1')).toEqual({
      'Content-Type': 'application/json',
      'Idempotency-Key': 'e-1',
    });
  });
});

describe('verifyWebhookSignature', () => {
  it.each([0, 1, 299, 300, -300])('accepts the signed body %i s after signing', (seconds) => {
    expect(verifyWebhookSignature(BODY, header, SECRET, { now: later(seconds) })).toEqual({ valid: true });
  });

  it.each<[string, string, string | undefined, string, Date, string]>([
    ['a tampered body', BODY.replace('"created":3', '"created":4'), header, SECRET, SENT_AT, 'mismatch'],
    [
      're-serialised JSON (whitespace differs)',
      JSON.stringify(JSON.parse(BODY), null, 2),
      header,
      SECRET,
      SENT_AT,
      'mismatch',
    ],
    ['the wrong secret', BODY, header, 'whsec_other', SENT_AT, 'mismatch'],
    [
      'a timestamp moved to now',
      BODY,
      header.replace(`t=${UNIX}`, `t=${UNIX + 400}`),
      SECRET,
      later(400),
      'mismatch',
    ],
    ['a stale timestamp', BODY, header, SECRET, later(301), 'stale'],
    ['a timestamp from the future', BODY, header, SECRET, later(-400), 'stale'],
    ['no header', BODY, undefined, SECRET, SENT_AT, 'malformed'],
    ['an empty header', BODY, '', SECRET, SENT_AT, 'malformed'],
    ['a header without digest', BODY, `t=${UNIX}`, SECRET, SENT_AT, 'malformed'],
    ['a short digest', BODY, `t=${UNIX},v1=abc123`, SECRET, SENT_AT, 'malformed'],
  ])('rejects %s', (_, body, received, secret, now, reason) => {
    expect(verifyWebhookSignature(body, received, secret, { now })).toEqual({ valid: false, reason });
  });

  it('honours a custom tolerance', () => {
    expect(verifyWebhookSignature(BODY, header, SECRET, { now: later(60), toleranceSeconds: 30 })).toEqual({
      valid: false,
      reason: 'stale',
    });
    expect(
      verifyWebhookSignature(BODY, header, SECRET, { now: later(900), toleranceSeconds: 1000 }).valid,
    ).toBe(true);
  });

  it('accepts a header carrying a digest of the old and the new secret (rotation)', () => {
    const old = createHmac('sha256', 'whsec_old').update(`${UNIX}.${BODY}`).digest('hex');
    const both = `${header},v1=${old}`;
    expect(verifyWebhookSignature(BODY, both, SECRET, { now: SENT_AT })).toEqual({ valid: true });
    expect(verifyWebhookSignature(BODY, both, 'whsec_old', { now: SENT_AT })).toEqual({ valid: true });
  });

  it('matches a multi-byte body byte for byte', () => {
    const body = JSON.stringify({ connectorName: 'Café – Zürich ✓' });
    const headers = signWebhook(body, SECRET, SENT_AT, 'e-2');
    const verdict = verifyWebhookSignature(body, headers['X-SmartConnector-Signature'], SECRET, {
      now: SENT_AT,
    });
    expect(verdict).toEqual({ valid: true });
  });
});

describe('parseSignatureHeader', () => {
  it.each<[string, string, ReturnType<typeof parseSignatureHeader>]>([
    ['the header we send', header, { timestamp: UNIX, digests: [header.split('v1=')[1]!] }],
    [
      'upper-case hex, spaces and an unknown scheme',
      `t=5, V2=zz, v1=${'AB'.repeat(32)}`,
      { timestamp: 5, digests: ['ab'.repeat(32)] },
    ],
    ['a non-numeric timestamp', `t=soon,v1=${'ab'.repeat(32)}`, null],
    ['no timestamp', `v1=${'ab'.repeat(32)}`, null],
    ['parts without "="', 'nonsense', null],
  ])('%s', (_, text, expected) => {
    expect(parseSignatureHeader(text)).toEqual(expected);
  });
});

describe('the verification snippet in docs/webhook.md', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/webhook.md'), 'utf8');
  const snippet = /```js\n(import \{ createHmac[^\n]*\n)([\s\S]*?)```/.exec(doc);
  type Verify = (rawBody: string | Buffer, header: string | undefined, secret: string) => boolean;
  // The snippet is an ES module; its one import is supplied as parameters.
  const verify = new Function(
    'createHmac',
    'timingSafeEqual',
    `${snippet?.[2] ?? ''}\nreturn verifySmartConnectorSignature;`,
  )(createHmac, timingSafeEqual) as Verify;

  it('is found', () => {
    expect(snippet?.[1]).toBe("import { createHmac, timingSafeEqual } from 'node:crypto';\n");
  });

  it('accepts what signWebhook signs, as a string and as a Buffer', () => {
    const headers = signWebhook(BODY, SECRET, new Date(), 'e-1');
    expect(verify(BODY, headers['X-SmartConnector-Signature'], SECRET)).toBe(true);
    expect(verify(Buffer.from(BODY), headers['X-SmartConnector-Signature'], SECRET)).toBe(true);
  });

  it('rejects a tampered body, the wrong secret, a stale signature and a missing header', () => {
    const fresh = signWebhook(BODY, SECRET, new Date(), 'e-1')['X-SmartConnector-Signature'];
    expect(verify(`${BODY} `, fresh, SECRET)).toBe(false);
    expect(verify(BODY, fresh, 'whsec_other')).toBe(false);
    expect(verify(BODY, header, SECRET)).toBe(false); // signed in 2025
    expect(verify(BODY, undefined, SECRET)).toBe(false);
  });
});
