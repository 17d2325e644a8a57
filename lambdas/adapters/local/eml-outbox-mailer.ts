import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMailbox, parseRecipients } from '../../core/mailbox.ts';
import type { Clock } from '../../ports/clock.ts';
import type { MailMessage, Mailer } from '../../ports/mailer.ts';

export interface EmlOutboxMailerOptions {
  /** Where messages go: `<workspace>/.sc/outbox`. Created on the first send. */
  dir: string;
  /** The sender, `address` or `Display Name <address>`, used when a message names none. */
  from: string;
  clock: Clock;
}

/**
 * Emails as files: one RFC 5322 message per send, `<dir>/<timestamp>-<random>.eml`, which any mail
 * client opens. The local runtime's stand-in for SES, so a developer sees exactly what would be sent.
 * The body is UTF-8 in quoted-printable, which keeps every line short and 7-bit whatever the text holds.
 */
export class EmlOutboxMailer implements Mailer {
  private readonly dir: string;
  private readonly from: string;
  private readonly clock: Clock;

  constructor(options: EmlOutboxMailerOptions) {
    this.dir = options.dir;
    this.from = options.from;
    this.clock = options.clock;
  }

  async send(message: MailMessage): Promise<void> {
    parseRecipients(message.to);
    const now = this.clock.now();
    const stamp = now.toISOString().replace(/[-:.]/g, '');
    const random = randomBytes(6).toString('hex');
    const from = formatMailbox(message.from ?? this.from);
    const headers = [
      `From: ${from.header}`,
      `To: ${message.to.map((to) => formatMailbox(to).header).join(`,${CRLF} `)}`,
      `Subject: ${encodeHeaderText(message.subject.replace(/[\r\n]+/g, ' '))}`,
      `Date: ${rfc5322Date(now)}`,
      `Message-ID: <${stamp}.${random}@${from.address.slice(from.address.lastIndexOf('@') + 1)}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
    ];
    const eml = `${headers.join(CRLF)}${CRLF}${CRLF}${quotedPrintable(message.text)}${CRLF}`;
    const path = join(this.dir, `${stamp}-${random}.eml`);
    await mkdir(this.dir, { recursive: true });
    // Write then rename, so whoever watches the outbox never opens half a message.
    await writeFile(`${path}.part`, eml, 'ascii');
    await rename(`${path}.part`, path);
  }
}

const CRLF = '\r\n';

/** `address` or `Display Name <address>` as a header value; the name quoted or RFC 2047 encoded. */
function formatMailbox(raw: string): { address: string; header: string } {
  const { name, address } = parseMailbox(raw);
  if (name === '') return { address, header: address };
  const phrase = isAscii(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodeHeaderText(name);
  return { address, header: `${phrase} <${address}>` };
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/**
 * RFC 2047 B-encoded words when the text is not printable ASCII. A word holds at most 42 bytes (56
 * base64 characters), so `Subject: ` plus one word stays within the 78-character line the RFC asks
 * for; words split between characters, never inside one, and are folded onto continuation lines.
 */
const WORD_BYTES = 42;

function encodeHeaderText(text: string): string {
  if (isAscii(text)) return text;
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  for (const char of text) {
    const bytes = Buffer.from(char, 'utf8');
    if (size + bytes.length > WORD_BYTES) {
      words.push(Buffer.concat(chunk).toString('base64'));
      chunk = [];
      size = 0;
    }
    chunk.push(bytes);
    size += bytes.length;
  }
  if (chunk.length > 0) words.push(Buffer.concat(chunk).toString('base64'));
  return words.map((word) => `=?UTF-8?B?${word}?=`).join(`${CRLF} `);
}

/** `Thu, 12 Jun 2025 14:30:52 +0000`: RFC 5322 §3.3 (`GMT` is only its obsolete zone syntax). */
function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** Encoded lines are at most 76 characters, the soft-break `=` included (RFC 2045 §6.7). */
const QP_LINE = 76;

/** RFC 2045 quoted-printable of the text's UTF-8 bytes, with CRLF line breaks. */
function quotedPrintable(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n').map(quotedPrintableLine).join(CRLF);
}

function quotedPrintableLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  const out: string[] = [];
  let current = '';
  bytes.forEach((byte, i) => {
    const last = i === bytes.length - 1;
    const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
    const token = literal
      ? String.fromCharCode(byte)
      : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    // Room for the token and, unless this is the line's end, a soft break after it.
    if (current.length + token.length > (last ? QP_LINE : QP_LINE - 1)) {
      out.push(`${current}=`);
      current = '';
    }
    current += token;
  });
  out.push(current);
  return out.join(CRLF);
}
