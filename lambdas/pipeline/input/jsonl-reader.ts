import { InputError, errorMessage } from '../../core/errors.ts';
import type { Cell, TableWriter } from './table-writer.ts';
import type { DecodedText } from './text-decoding.ts';

type JsonObject = Record<string, unknown>;

/**
 * Streams JSON Lines into `writer` in two passes over the text: the first collects the columns (the
 * union of the top-level keys, in first-seen order), the second writes the rows. `open` starts a fresh
 * decoding of the source for each pass. Blank lines are skipped; a line that is not a JSON object
 * rejects with InputError `MALFORMED_JSONL` naming the line.
 */
export async function readJsonLines(
  open: () => Promise<DecodedText>,
  writer: TableWriter,
  sourceName: string,
): Promise<void> {
  const keys = new Map<string, number>();
  for await (const object of jsonObjects(await open(), sourceName)) {
    for (const key in object) if (!keys.has(key)) keys.set(key, keys.size);
  }
  if (keys.size === 0) return;
  writer.setHeader([...keys.keys()]);
  for await (const object of jsonObjects(await open(), sourceName)) {
    const cells: Cell[] = new Array<Cell>(keys.size).fill(null);
    for (const key in object) cells[keys.get(key) ?? 0] = jsonCell(object[key]);
    const draining = writer.add(cells);
    if (draining) await draining;
  }
}

/**
 * A top-level value as a cell: strings as they are, numbers and booleans as their JSON text, nested
 * objects and arrays as JSON text, null as NULL. Integers beyond ±2^53 lose precision (JSON.parse).
 */
function jsonCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

async function* jsonObjects(text: DecodedText, sourceName: string): AsyncGenerator<JsonObject> {
  let lineNumber = 0;
  for await (const line of lines(text.utf8)) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw malformed(sourceName, lineNumber, `is not valid JSON (${errorMessage(error)})`, error);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw malformed(sourceName, lineNumber, 'is not a JSON object');
    }
    yield value as JsonObject;
  }
}

function malformed(sourceName: string, line: number, problem: string, cause?: unknown): InputError {
  return new InputError(
    'MALFORMED_JSONL',
    `${sourceName} is not valid JSON Lines: line ${line} ${problem}. Each line must hold one JSON object ` +
      'such as {"name": "Acme"}; fix the file and upload it again.',
    { cause },
  );
}

/**
 * Splits UTF-8 text into lines on `\n`, dropping a `\r` before it. Splitting bytes is safe: no
 * multi-byte UTF-8 sequence contains the byte 0x0A.
 */
async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const bytes = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = bytes.indexOf(0x0a); end >= 0; end = bytes.indexOf(0x0a, start)) {
      yield lineText(bytes, start, end);
      start = end + 1;
    }
    rest = bytes.subarray(start);
  }
  if (rest.length > 0) yield lineText(rest, 0, rest.length);
}

function lineText(bytes: Buffer, start: number, end: number): string {
  return bytes.toString('utf8', start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end);
}
