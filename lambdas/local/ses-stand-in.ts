import { randomUUID } from 'node:crypto';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { parseJson, restJson, standInClientConfig, startHttpStandIn } from './http-stand-in.ts';

/**
 * An embedded SES v2 for tests: a `node:http` server answering `SendEmail`
 * (`POST /v2/email/outbound-emails`, REST-JSON) so `SesMailer` runs unchanged against it. It records
 * simple-content messages and can be told to fail the next request the way SES does. No other SES
 * operation, no signature check, no sending quota.
 */

export interface SentEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export interface SesStandIn {
  /** `http://127.0.0.1:<port>`, for `sesClientFor` or `AWS_ENDPOINT_URL_SESV2`. */
  endpoint: string;
  /** Every accepted message, in arrival order. */
  sent: SentEmail[];
  /**
   * Answers the next request with `status` and an AWS REST-JSON error naming `code` (e.g. 429
   * `TooManyRequestsException`, 400 `MessageRejected`), which the SDK raises as that exception.
   */
  failNext(status: number, code: string): void;
  /** Closes the server. Safe to call twice. */
  stop(): Promise<void>;
}

interface SendEmailBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  Content?: { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string } } } };
}

export async function startSesStandIn(): Promise<SesStandIn> {
  const sent: SentEmail[] = [];
  const { error, reply } = restJson;
  const server = await startHttpStandIn({
    protocol: restJson,
    internalErrorCode: 'InternalFailure',
    handle: (request) => {
      if (request.method !== 'POST' || request.path !== '/v2/email/outbound-emails') {
        return error(404, 'NotFoundException', `${request.method} ${request.path} is not supported.`);
      }
      const body = parseJson<SendEmailBody>(request.body);
      if (body === undefined) return error(400, 'BadRequestException', 'The request body is not JSON.');
      const simple = body.Content?.Simple;
      const to = body.Destination?.ToAddresses ?? [];
      if (
        !body.FromEmailAddress ||
        to.length === 0 ||
        !simple?.Subject?.Data ||
        simple.Body?.Text === undefined
      ) {
        return error(400, 'BadRequestException', 'Expected a sender, recipients and simple text content.');
      }
      sent.push({
        from: body.FromEmailAddress,
        to,
        subject: simple.Subject.Data,
        text: simple.Body.Text.Data ?? '',
      });
      return reply({ MessageId: randomUUID() });
    },
  });
  return { ...server, sent };
}

/** An SES v2 client for the stand-in: dummy credentials. */
export function sesClientFor(endpoint: string, options: { maxAttempts?: number } = {}): SESv2Client {
  return new SESv2Client(standInClientConfig(endpoint, options));
}
