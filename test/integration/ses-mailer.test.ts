import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SesMailer } from '../../lambdas/adapters/aws/ses-mailer.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import { sesClientFor, startSesStandIn, type SesStandIn } from '../../lambdas/local/ses-stand-in.ts';

let ses: SesStandIn;

beforeAll(async () => {
  ses = await startSesStandIn();
});
afterAll(async () => {
  await ses?.stop();
});
beforeEach(() => {
  ses.sent.length = 0;
});

/** One attempt per send, so a failure reaches the mailer instead of being retried by the SDK. */
function mailer(): SesMailer {
  return new SesMailer({
    client: sesClientFor(ses.endpoint, { maxAttempts: 1 }),
    from: 'SmartConnector <noreply@sc.example.com>',
  });
}

async function failure(promise: Promise<unknown>): Promise<ScError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScError);
  return error as ScError;
}

describe('SesMailer', () => {
  it('sends the exact sender, recipients, subject and text', async () => {
    await mailer().send({
      to: ['ops@example.com', 'maria.lopez@example.com'],
      subject: '[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)',
      text: 'Status: partial_success\nReport: https://example.com/r.xlsx?a=1&b=2\n',
    });
    expect(ses.sent).toEqual([
      {
        from: 'SmartConnector <noreply@sc.example.com>',
        to: ['ops@example.com', 'maria.lopez@example.com'],
        subject: '[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)',
        text: 'Status: partial_success\nReport: https://example.com/r.xlsx?a=1&b=2\n',
      },
    ]);
  });

  it('keeps a non-ASCII subject and body intact and uses the message sender', async () => {
    await mailer().send({
      to: ['jose@example.com'],
      from: 'Imports <imports@example.de>',
      subject: 'Import «Fournisseurs» terminé: 6 of 7 rows valid ✓',
      text: 'Connecteur «Fournisseurs»: terminé.\nÜbersicht: 日本語\n',
    });
    expect(ses.sent).toEqual([
      {
        from: 'Imports <imports@example.de>',
        to: ['jose@example.com'],
        subject: 'Import «Fournisseurs» terminé: 6 of 7 rows valid ✓',
        text: 'Connecteur «Fournisseurs»: terminé.\nÜbersicht: 日本語\n',
      },
    ]);
  });

  it('sends a line break in the subject as a space', async () => {
    await mailer().send({ to: ['ops@example.com'], subject: 'hello\r\nBcc: victim@example.com', text: 'x' });
    expect(ses.sent[0]?.subject).toBe('hello Bcc: victim@example.com');
  });

  it('refuses a message without recipients before calling SES', async () => {
    const error = await failure(mailer().send({ to: [], subject: 's', text: 't' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(ses.sent).toEqual([]);
  });

  it('turns a throttle (429) into a retryable MAILER_UNAVAILABLE', async () => {
    ses.failNext(429, 'TooManyRequestsException');
    const error = await failure(mailer().send({ to: ['ops@example.com'], subject: 's', text: 't' }));
    expect(error.code).toBe('MAILER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect((error.cause as Error).name).toBe('TooManyRequestsException');
    expect(ses.sent).toEqual([]);
  });

  it('turns an SES outage (5xx) into a retryable MAILER_UNAVAILABLE', async () => {
    ses.failNext(503, 'ServiceUnavailable');
    const error = await failure(mailer().send({ to: ['ops@example.com'], subject: 's', text: 't' }));
    expect(error.code).toBe('MAILER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  it('turns a rejection (400 MessageRejected) into a non-retryable MAIL_REJECTED with the SES message', async () => {
    ses.failNext(400, 'MessageRejected');
    const error = await failure(mailer().send({ to: ['ops@example.com'], subject: 's', text: 't' }));
    expect(error.code).toBe('MAIL_REJECTED');
    expect(error.retryable).toBe(false);
    expect((error.cause as Error).name).toBe('MessageRejected');
    expect(error.message).toContain('Stand-in failure: MessageRejected.');
    // The failure was one-shot: the next send goes through.
    await mailer().send({ to: ['ops@example.com'], subject: 'after', text: 't' });
    expect(ses.sent.map((m) => m.subject)).toEqual(['after']);
  });
});
