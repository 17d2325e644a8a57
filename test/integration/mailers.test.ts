import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmlOutboxMailer } from '../../lambdas/adapters/local/eml-outbox-mailer.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sc-mailer-test-'));
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const clock: Clock = { now: () => new Date('2025-06-12T14:30:52.724Z') };

interface ParsedEml {
  raw: string;
  /** Unfolded header values, by lowercased name. */
  headers: Map<string, string>;
  body: string;
}

/** A small RFC 5322 reader, written from the RFCs independently of the mailer. */
function parseEml(raw: string): ParsedEml {
  const split = raw.indexOf('\r\n\r\n');
  const headerBlock = raw.slice(0, split).replace(/\r\n[ \t]/g, ' ');
  const headers = new Map<string, string>();
  for (const line of headerBlock.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { raw, headers, body: raw.slice(split + 4) };
}

/** RFC 2047: adjacent encoded words separated by whitespace join without it. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_, b64: string) =>
      Buffer.from(b64, 'base64').toString('utf8'),
    );
}

/** RFC 2045 §6.7: soft breaks vanish, `=XX` is a byte. */
function decodeQuotedPrintable(body: string): string {
  const bytes: number[] = [];
  const text = body.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

async function sendOne(dir: string, message: Parameters<EmlOutboxMailer['send']>[0]): Promise<ParsedEml> {
  const mailer = new EmlOutboxMailer({ dir, from: 'SmartConnector <noreply@sc.example.com>', clock });
  await mailer.send(message);
  const files = await readdir(dir);
  expect(files).toHaveLength(1);
  return parseEml(await readFile(join(dir, files[0]!), 'utf8'));
}

describe('EmlOutboxMailer', () => {
  it('writes one RFC 5322 message with the headers and an ASCII subject as is', async () => {
    const dir = join(scratch, 'ascii', '.sc', 'outbox');
    const eml = await sendOne(dir, {
      to: ['ops@example.com', 'maria.lopez@example.com'],
      subject: '[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)',
      text: 'Status: partial_success\nReport: https://example.com/r.xlsx?a=1&b=2\n',
    });
    const [file] = await readdir(dir);
    expect(file).toMatch(/^20250612T143052724Z-[0-9a-f]{12}\.eml$/);
    expect(eml.headers.get('from')).toBe('"SmartConnector" <noreply@sc.example.com>');
    expect(eml.headers.get('to')).toBe('ops@example.com, maria.lopez@example.com');
    expect(eml.headers.get('subject')).toBe(
      '[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)',
    );
    expect(eml.headers.get('date')).toBe('Thu, 12 Jun 2025 14:30:52 +0000');
    expect(eml.headers.get('message-id')).toMatch(/^<20250612T143052724Z\.[0-9a-f]{12}@sc\.example\.com>$/);
    expect(eml.headers.get('mime-version')).toBe('1.0');
    expect(eml.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(eml.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(decodeQuotedPrintable(eml.body)).toBe(
      'Status: partial_success\r\nReport: https://example.com/r.xlsx?a=1&b=2\r\n',
    );
  });

  it('uses CRLF line endings only, and keeps every line 7-bit and within 78 characters', async () => {
    const eml = await sendOne(join(scratch, 'lines'), {
      to: ['ops@example.com'],
      subject: 'Ünïcödé — ✓ '.repeat(8),
      text: `${'a long line with = signs and trailing space '.repeat(6)}\nnext ✓ \n\n`,
    });
    expect(eml.raw).not.toMatch(/[^\r]\n/);
    expect(eml.raw).not.toMatch(/\r(?!\n)/);
    expect(eml.raw).not.toMatch(/[^\t\r\n -~]/);
    for (const line of eml.raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    // A space at the end of a line is encoded, so transports cannot strip it.
    expect(eml.body).toContain('next =E2=9C=93=20\r\n');
    expect(decodeQuotedPrintable(eml.body)).toBe(
      `${'a long line with = signs and trailing space '.repeat(6)}\r\nnext ✓ \r\n\r\n`,
    );
    expect(decodeWords(eml.headers.get('subject')!)).toBe('Ünïcödé — ✓ '.repeat(8));
  });

  it('encodes a non-ASCII subject and display name as RFC 2047 words, and decodes back to the text', async () => {
    const eml = await sendOne(join(scratch, 'utf8'), {
      to: ['jose@example.com'],
      from: 'Müller Imports <imports@example.de>',
      subject: 'Import «Fournisseurs» terminé: 6 of 7 rows valid ✓',
      text: 'Connecteur «Fournisseurs»: terminé.\nÜbersicht: 日本語\n',
    });
    const subject = eml.headers.get('subject')!;
    expect(subject).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=( =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=)*$/);
    expect(decodeWords(subject)).toBe('Import «Fournisseurs» terminé: 6 of 7 rows valid ✓');
    expect(eml.headers.get('from')).toBe('=?UTF-8?B?TcO8bGxlciBJbXBvcnRz?= <imports@example.de>');
    expect(eml.headers.get('message-id')).toMatch(/@example\.de>$/);
    expect(decodeQuotedPrintable(eml.body)).toBe(
      'Connecteur «Fournisseurs»: terminé.\r\nÜbersicht: 日本語\r\n',
    );
  });

  it('writes a file per send, never overwriting', async () => {
    const dir = join(scratch, 'many');
    const mailer = new EmlOutboxMailer({ dir, from: 'noreply@sc.example.com', clock });
    const message = { to: ['ops@example.com'], subject: 'same second', text: 'x' };
    await Promise.all([mailer.send(message), mailer.send(message), mailer.send(message)]);
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(3);
    expect(files.every((f) => f.endsWith('.eml'))).toBe(true);
  });

  it('keeps a line break in the subject from starting a new header', async () => {
    const eml = await sendOne(join(scratch, 'inject'), {
      to: ['ops@example.com'],
      subject: 'hello\r\nBcc: victim@example.com',
      text: 'x',
    });
    expect(eml.headers.get('subject')).toBe('hello Bcc: victim@example.com');
    expect(eml.headers.has('bcc')).toBe(false);
  });

  it.each([
    ['no recipient', []],
    ['a header injection in an address', ['ops@example.com\r\nBcc: victim@example.com']],
    ['two addresses in one', ['a@example.com, b@example.com']],
    ['no address at all', ['cli:maria']],
  ])('refuses %s', async (_, to) => {
    const mailer = new EmlOutboxMailer({
      dir: join(scratch, 'refused'),
      from: 'noreply@sc.example.com',
      clock,
    });
    const error = await mailer.send({ to, subject: 's', text: 't' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScError);
    expect((error as ScError).code).toBe('INVALID_ARGUMENT');
  });
});
