import { detect } from 'chardet';
import iconv from 'iconv-lite';

/** How much of a text source the encoding is detected from. */
export const SAMPLE_BYTES = 64 * 1024;

/** A text source being converted to UTF-8 as it streams. */
export interface DecodedText {
  /** The iconv-lite name of the source encoding, e.g. `utf8`, `windows-1252`, `utf-16le`. */
  encoding: string;
  /** The decoded start of the text (at most SAMPLE_BYTES bytes of source), BOM removed. */
  sample: string;
  /**
   * The whole text as UTF-8 bytes, BOM removed. Consume it once. UTF-8 sources pass through untouched
   * (parsers read bytes, and a decode/encode round trip would cost a third of the parse time), so
   * invalid sequences reach the consumer, whose UTF-8 decoding replaces them with U+FFFD.
   */
  utf8: AsyncIterable<Buffer>;
}

/**
 * chardet reports Western and Turkish text as ISO-8859-1/-9, but such files are nearly always the
 * Windows code pages that extend them (0x80–0x9F hold `€`, curly quotes and dashes instead of
 * control codes). The WHATWG Encoding standard maps these two labels the same way.
 */
const WINDOWS_SUPERSETS: Record<string, string> = {
  'ISO-8859-1': 'windows-1252',
  'ISO-8859-9': 'windows-1254',
};

/** The fallback when detection names nothing iconv-lite can decode: every byte decodes to something. */
const FALLBACK_ENCODING = 'windows-1252';

/** Encoding of a sample: a BOM wins; then UTF-8 when the sample is valid UTF-8; then chardet's guess. */
export function detectEncoding(sample: Uint8Array): string {
  if (hasUtf8Bom(sample)) return 'utf8';
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le';
  if (sample[0] === 0xfe && sample[1] === 0xff) return 'utf-16be';
  if (isValidUtf8Prefix(sample)) return 'utf8';
  const guess = detect(sample);
  if (guess === null) return FALLBACK_ENCODING;
  const encoding = WINDOWS_SUPERSETS[guess] ?? guess;
  return iconv.encodingExists(encoding) ? encoding : FALLBACK_ENCODING;
}

/** True when the bytes are UTF-8, allowing the last character to be cut off by the end of the sample. */
function isValidUtf8Prefix(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts decoding a byte stream: reads up to SAMPLE_BYTES to detect the encoding, then yields the
 * whole text as UTF-8. A BOM is removed; undecodable bytes become U+FFFD, never an error.
 */
export async function decodeText(source: AsyncIterable<Uint8Array>): Promise<DecodedText> {
  const bytes = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < SAMPLE_BYTES) {
    const next = await bytes.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    head.push(chunk);
    headBytes += chunk.length;
  }
  const headBuffer = Buffer.concat(head);
  const encoding = detectEncoding(headBuffer.subarray(0, SAMPLE_BYTES));
  const sample = iconv.decode(headBuffer.subarray(0, SAMPLE_BYTES), encoding);

  async function* rest(): AsyncGenerator<Buffer> {
    yield headBuffer;
    if (ended) return;
    for (let next = await bytes.next(); !next.done; next = await bytes.next()) {
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  }

  async function* utf8(): AsyncGenerator<Buffer> {
    try {
      if (encoding === 'utf8') {
        let first = true;
        for await (const chunk of rest()) {
          const text = first && hasUtf8Bom(chunk) ? chunk.subarray(3) : chunk;
          first = false;
          if (text.length > 0) yield text;
        }
        return;
      }
      const decoder = iconv.getDecoder(encoding);
      for await (const chunk of rest()) {
        const text = decoder.write(chunk);
        if (text) yield Buffer.from(text, 'utf8');
      }
      const last = decoder.end();
      if (last) yield Buffer.from(last, 'utf8');
    } finally {
      // Stops the source (closes the file or ZIP entry) when the consumer gives up early.
      await bytes.return?.();
    }
  }
  return { encoding, sample, utf8: utf8() };
}

function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}
