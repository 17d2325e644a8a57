import { pipeline } from 'node:stream/promises';
import { CsvError, parse, type Options } from 'csv-parse';
import { InputError } from '../../core/errors.ts';
import type { TableWriter } from './table-writer.ts';
import type { DecodedText } from './text-decoding.ts';

/**
 * Longest row csv-parse may buffer, in characters. An unclosed quote early in a large file would
 * otherwise swallow the rest of the file into one field in memory before failing.
 */
const MAX_ROW_CHARS = 32 * 1024 * 1024;

const CANDIDATE_DELIMITERS = [',', ';', '\t'] as const;

/**
 * The delimiter of a `.csv` file: whichever of `,` `;` and tab occurs most often in its first line
 * (outside quotes); `,` on a tie. Spreadsheet programs in many locales save "CSV" with `;`.
 */
export function sniffCsvDelimiter(sample: string): string {
  const counts = new Map<string, number>(CANDIDATE_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const char of sample) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

/** The options every CSV and TSV parse uses. */
function parserOptions(delimiter: string): Options {
  return {
    delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    max_record_size: MAX_ROW_CHARS,
  };
}

/**
 * Streams CSV or TSV text into `writer`; `open` starts a fresh decoding of the source (a malformed
 * file is read a second time to locate the problem). Quoting follows RFC 4180, also for TSV; a quote
 * inside an unquoted field is kept as a character. Rows may have any number of cells. The delimiter
 * of a CSV is sniffed from its first line.
 * Malformed text rejects with InputError `MALFORMED_CSV` naming the line.
 */
export async function readDelimited(
  open: () => Promise<DecodedText>,
  format: 'csv' | 'tsv',
  writer: TableWriter,
  sourceName: string,
): Promise<void> {
  const text = await open();
  const delimiter = format === 'tsv' ? '\t' : sniffCsvDelimiter(text.sample);
  try {
    await pipeline(text.utf8, parse(parserOptions(delimiter)), async (rows: AsyncIterable<string[]>) => {
      for await (const row of rows) {
        const draining = writer.add(row);
        if (draining) await draining;
      }
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const unclosed = error.code === 'CSV_QUOTE_NOT_CLOSED' || error.code === 'CSV_MAX_RECORD_SIZE';
    const problem = unclosed
      ? `the quoted field in the row starting on line ${await lineAfterRecords(open, delimiter, Number(error.records ?? 0))} is never closed`
      : `${error.message.replace(/\.$/, '')} (line ${error.lines})`;
    throw new InputError(
      'MALFORMED_CSV',
      `${sourceName} is not valid CSV: ${problem}. A field containing the delimiter, a quote or a line break ` +
        'must be wrapped in double quotes, with quotes inside it doubled (""); fix the file and upload it again.',
      { cause: error },
    );
  }
}

/**
 * The line on which the row after the first `records` rows starts. Found by parsing again with
 * per-row line numbers, which cost too much to collect while reading a good file.
 */
async function lineAfterRecords(
  open: () => Promise<DecodedText>,
  delimiter: string,
  records: number,
): Promise<number> {
  let lastLine = 0;
  let seen = 0;
  const parser = parse({
    ...parserOptions(delimiter),
    on_record: (record: string[], context) => {
      if (++seen <= records) lastLine = context.lines;
      return null;
    },
  });
  parser.resume();
  try {
    await pipeline((await open()).utf8, parser);
  } catch {
    // The same error again: the rows before it were counted.
  }
  return lastLine + 1;
}
