import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { claimUniqueName, normaliseTableName } from '../../core/input-names.ts';
import type { PreparedTable } from '../../ports/sql-engine.ts';
import { readDelimited } from './delimited-reader.ts';
import { detectInputFormat, type InputFormat } from './input-format.ts';
import { readJsonLines } from './jsonl-reader.ts';
import { TableWriter, type Cell } from './table-writer.ts';
import { decodeText, type DecodedText } from './text-decoding.ts';
import { readXlsxSheets } from './xlsx-reader.ts';
import { zipCsvEntries } from './zip-reader.ts';

const READ_CHUNK_BYTES = 1 << 20;

/**
 * Turns an input file into tables ready for the SQL engine (SPEC §4): one headerless UTF-8
 * TabSeparated file per table in `workDir`, in page order (`input.page_idx_<n>`).
 *
 * CSV, TSV and JSON Lines give one table named after the file (`vendors.csv` → `vendors_csv`); an XLSX
 * workbook gives one per sheet that has a row, named after the sheet; a ZIP gives one per `.csv`
 * entry that has a row, named after the entry's base name. Everything streams: no file is held whole
 * in memory.
 *
 * Rejects with InputError: `UNSUPPORTED_FORMAT`, `EMPTY_INPUT` (no header row anywhere),
 * `MALFORMED_CSV`, `MALFORMED_JSONL`, `MALFORMED_XLSX`, `MALFORMED_ZIP`, `ZIP_HAS_NO_CSV`.
 *
 * @param filePath where the file is on local disk
 * @param originalFileName the name it was uploaded with; gives the format and the table name
 * @param workDir where the table files are written (created if missing)
 */
export async function prepareInput(
  filePath: string,
  originalFileName: string,
  workDir: string,
  options: { table?: string } = {},
): Promise<PreparedTable[]> {
  const fileName = baseName(originalFileName);
  const format = await detectInputFormat(filePath, fileName);
  await mkdir(workDir, { recursive: true });
  const tables = new PreparedTables(workDir);
  switch (format) {
    case 'xlsx':
      for await (const sheet of readXlsxSheets(filePath, fileName)) {
        await tables.add(sheet.name, (writer) => writeRows(sheet.rows, writer));
      }
      break;
    case 'zip': {
      let csvEntries = 0;
      for await (const entry of zipCsvEntries(filePath, fileName)) {
        csvEntries++;
        const source = `${fileName}: ${entry.path}`;
        const open = async (): Promise<DecodedText> => decodeText(await entry.open());
        await tables.add(entry.baseName, (writer) => readDelimited(open, 'csv', writer, source));
      }
      if (csvEntries === 0) {
        throw new InputError(
          'ZIP_HAS_NO_CSV',
          `${fileName} contains no .csv file. Put the data in CSV files inside the archive (folders are fine) ` +
            'and upload it again.',
        );
      }
      break;
    }
    default:
      await tables.add(options.table ?? fileName, (writer) =>
        readTextTable(format, filePath, fileName, writer),
      );
  }
  if (tables.list.length === 0) {
    throw new InputError(
      'EMPTY_INPUT',
      `${fileName} has no data: no header row was found. Upload a file with a header row.`,
    );
  }
  return tables.list;
}

function readTextTable(
  format: InputFormat,
  filePath: string,
  fileName: string,
  writer: TableWriter,
): Promise<void> {
  const open = (): Promise<DecodedText> =>
    decodeText(createReadStream(filePath, { highWaterMark: READ_CHUNK_BYTES }));
  if (format === 'jsonl') return readJsonLines(open, writer, fileName);
  return readDelimited(open, format === 'tsv' ? 'tsv' : 'csv', writer, fileName);
}

async function writeRows(rows: AsyncIterable<Cell[]>, writer: TableWriter): Promise<void> {
  for await (const row of rows) {
    const draining = writer.add(row);
    if (draining) await draining;
  }
}

/** The tables of one input so far, with their unique names; a source with no row adds none. */
class PreparedTables {
  readonly list: PreparedTable[] = [];
  private readonly taken = new Set<string>();
  private attempts = 0;

  constructor(private readonly workDir: string) {}

  async add(sourceName: string, fill: (writer: TableWriter) => Promise<void>): Promise<void> {
    const base = normaliseTableName(sourceName);
    // The attempt number keeps file names unique and short whatever the table names are.
    const writer = new TableWriter(join(this.workDir, `${this.attempts++}-${base.slice(0, 64)}.tsv`));
    try {
      await fill(writer);
    } catch (error) {
      await writer.discard();
      throw error;
    }
    const table = await writer.finish();
    if (table !== null) this.list.push({ name: claimUniqueName(base, this.taken), ...table });
  }
}

function baseName(fileName: string): string {
  return fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
}
