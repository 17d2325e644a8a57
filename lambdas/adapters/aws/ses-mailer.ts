import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { ScError, errorMessage } from '../../core/errors.ts';
import { parseMailbox, parseRecipients } from '../../core/mailbox.ts';
import type { MailMessage, Mailer } from '../../ports/mailer.ts';

export interface SesMailerOptions {
  client: SESv2Client;
  /** The sender, `address` or `Display Name <address>`, used when a message names none. */
  from: string;
  /** An SES configuration set (event publishing, suppression), when the account uses one. */
  configurationSetName?: string;
}

/** SES errors a later attempt can outlive; everything else with a 5xx status counts too. */
const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'LimitExceededException']);

/**
 * Emails through SES v2 `SendEmail` with simple content: SES builds the MIME message, encoding the
 * UTF-8 subject and body itself. A throttle or an SES outage is a retryable `MAILER_UNAVAILABLE`;
 * anything else SES refuses (an unverified sender, a rejected message) is `MAIL_REJECTED`.
 */
export class SesMailer implements Mailer {
  private readonly client: SESv2Client;
  private readonly from: string;
  private readonly configurationSetName: string | undefined;

  constructor(options: SesMailerOptions) {
    this.client = options.client;
    this.from = options.from;
    this.configurationSetName = options.configurationSetName;
  }

  async send(message: MailMessage): Promise<void> {
    // The same address rule as every mailer: nothing that could smuggle a header through SES.
    const to = parseRecipients(message.to).map((m) => m.address);
    const from = message.from ?? this.from;
    parseMailbox(from);
    try {
      await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: from,
          Destination: { ToAddresses: to },
          Content: {
            Simple: {
              // The port's contract: a line break in the subject is sent as a space.
              Subject: { Data: message.subject.replace(/[\r\n]+/g, ' '), Charset: 'UTF-8' },
              Body: { Text: { Data: message.text, Charset: 'UTF-8' } },
            },
          },
          ...(this.configurationSetName === undefined
            ? {}
            : { ConfigurationSetName: this.configurationSetName }),
        }),
      );
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode ?? 0;
      const name = error instanceof Error ? error.name : '';
      if (status === 429 || status >= 500 || THROTTLING.has(name)) {
        throw new ScError('MAILER_UNAVAILABLE', `SES could not send the email from ${from}; try again.`, {
          retryable: true,
          cause: error,
        });
      }
      throw new ScError('MAIL_REJECTED', `SES refused the email from ${from}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}
