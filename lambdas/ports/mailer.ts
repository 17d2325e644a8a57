/** A plain-text email. */
export interface MailMessage {
  /** Recipient addresses; at least one. */
  to: string[];
  /** One line; any line break in it is sent as a space. */
  subject: string;
  /** The body, plain text; `\n` line endings. */
  text: string;
  /** The sender address. Default: the mailer's configured sender. */
  from?: string;
}

/** Sends notification emails: SES in AWS; `.eml` files in `<workspace>/.sc/outbox/` locally. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}
