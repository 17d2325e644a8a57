import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import ExcelJS from 'exceljs';
import { ScError, errorMessage } from '../../core/errors.ts';
import type { ResolvedRow, RowResult } from '../../core/model.ts';
import {
  MAX_DATA_ROWS_PER_SHEET,
  sheetName,
  sqlOutputLayout,
  summaryLayout,
  uploadLayout,
  variablesLayout,
  type ReportColumn,
  type SheetLayout,
  type SummaryItem,
} from '../../core/report-model.ts';

/** Everything the execution report shows (SPEC §7). Row sources are read once, in order. */
export interface ReportInput {
  /** Written as two columns, Item and Value, in order. */
  summary: SummaryItem[];
  /** Empty when the connector has no SQL. */
  sqlOutputs: Array<{ scope: string; columns: string[]; rows: AsyncIterable<Record<string, unknown>> }>;
  variables: Array<{ scope: string; variables: string[]; rows: AsyncIterable<ResolvedRow> }>;
  /** One per load step; `fields` are the api names of the mapped fields, in column order. */
  steps: Array<{
    name: string;
    objectName: string;
    scope: string;
    fields: string[];
    rows: AsyncIterable<RowResult>;
  }>;
}

export interface WriteReportOptions {
  /**
   * Data rows per sheet before it continues in a new sheet (`Name 2`, `Name 3`…).
   * @default 1_048_575 (Excel's limit, with the header row)
   */
  maxRowsPerSheet?: number;
}

interface SheetSource<T> {
  layout: SheetLayout<T>;
  rows: AsyncIterable<T> | Iterable<T>;
}

/** How often, in rows, the writer lets the zip catch up. */
const BACKPRESSURE_EVERY_ROWS = 256;

/**
 * Streams the execution report to an XLSX file at `path`, one row at a time, so memory stays flat
 * whatever the row count. On failure the partial file is removed; errors of the row sources propagate
 * unchanged, errors writing the file become `REPORT_WRITE_FAILED`.
 */
export async function writeReport(
  path: string,
  input: ReportInput,
  options: WriteReportOptions = {},
): Promise<void> {
  const maxRowsPerSheet = options.maxRowsPerSheet ?? MAX_DATA_ROWS_PER_SHEET;
  if (
    !Number.isInteger(maxRowsPerSheet) ||
    maxRowsPerSheet < 1 ||
    maxRowsPerSheet > MAX_DATA_ROWS_PER_SHEET
  ) {
    throw new RangeError(`maxRowsPerSheet must be an integer from 1 to ${MAX_DATA_ROWS_PER_SHEET}`);
  }

  const output = createWriteStream(path);
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: output,
    // Shared strings would keep every distinct string in memory until the end. Styles are only for the bold
    // header; see `skipUnstyledCellLookups`.
    useSharedStrings: false,
    useStyles: true,
  });
  book.creator = 'SmartConnector';
  skipUnstyledCellLookups(book);
  const failure = outputFailure(output, book);

  try {
    const taken = new Set<string>();
    // Every sheet's name is fixed before any row is read, so a continuation sheet never renames a later one.
    const sheets = reportSheets(input).map((source) => {
      const name = sheetName(source.layout.title, taken);
      taken.add(name);
      return { source, name };
    });
    for (const { source, name } of sheets) {
      await writeSheets(book, source, name, taken, maxRowsPerSheet, failure);
    }
    await Promise.race([book.commit(), failure.promise]);
  } catch (error) {
    // Read before destroying the file, which can make the zip fail too.
    const writeError = failure.error;
    // Wait for the file to be closed: destroyed while still opening, it would appear after the rm.
    const closed = output.closed
      ? Promise.resolve()
      : new Promise<void>((done) => output.once('close', () => done()));
    output.destroy();
    await closed;
    await rm(path, { force: true });
    if (writeError === undefined) throw error;
    throw new ScError(
      'REPORT_WRITE_FAILED',
      `Could not write the execution report to ${path}: ${errorMessage(writeError)}. ` +
        'Check that the folder exists and the disk has space, then run the report again.',
      { retryable: true, cause: writeError },
    );
  }
}

function reportSheets(input: ReportInput): SheetSource<unknown>[] {
  return [
    { layout: summaryLayout(), rows: input.summary },
    ...input.sqlOutputs.map((sql) => ({ layout: sqlOutputLayout(sql.scope, sql.columns), rows: sql.rows })),
    ...input.variables.map((scope) => ({
      layout: variablesLayout(scope.scope, scope.variables),
      rows: scope.rows,
    })),
    ...input.steps.map((step) => ({
      layout: uploadLayout(step.objectName, step.scope, step.fields),
      rows: step.rows,
    })),
  ];
}

/** Writes one source: its sheet, then continuation sheets each time `maxRows` data rows are full. */
async function writeSheets<T>(
  book: ExcelJS.stream.xlsx.WorkbookWriter,
  source: SheetSource<T>,
  name: string,
  taken: Set<string>,
  maxRows: number,
  failure: OutputFailure,
): Promise<void> {
  const { layout } = source;
  let sheet = addSheet(book, name, layout.columns);
  let part = 1;
  let rowsInSheet = 0;
  let index = 0;
  for await (const item of source.rows) {
    if (rowsInSheet === maxRows) {
      sheet.commit();
      part += 1;
      const next = sheetName(layout.title, taken, part);
      taken.add(next);
      sheet = addSheet(book, next, layout.columns);
      rowsInSheet = 0;
    }
    sheet.addRow(layout.cells(item, index)).commit();
    rowsInSheet += 1;
    index += 1;
    if (index % BACKPRESSURE_EVERY_ROWS === 0) await zipCaughtUp(sheet, failure);
  }
  sheet.commit();
}

function addSheet(
  book: ExcelJS.stream.xlsx.WorkbookWriter,
  name: string,
  columns: ReportColumn[],
): ExcelJS.Worksheet {
  // The streaming writer renders views when the sheet is added and column widths with its first row, so
  // both must be set before the header is committed.
  const sheet = book.addWorksheet(name, { views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }] });
  sheet.columns = columns.map((column) => ({ width: column.width }));
  const header = sheet.addRow(columns.map((column) => column.header));
  // The workbook's default font, bold: a font naming only `bold` leaves the face to each reader.
  header.font = { name: 'Calibri', size: 11, family: 2, bold: true };
  header.commit();
  return sheet;
}

/**
 * exceljs pipes each sheet into its zip entry without backpressure (exceljs/exceljs#2916): rows written
 * faster than the zip deflates them pile up in memory. This waits until the entry's buffer has drained.
 * The entry stream is internal to exceljs; without it, yielding a turn still lets the zip run.
 */
async function zipCaughtUp(sheet: ExcelJS.Worksheet, failure: OutputFailure): Promise<void> {
  if (failure.error !== undefined) throw failure.error;
  const entry = (sheet as unknown as { stream?: { pipes?: Writable[] } }).stream?.pipes?.[0];
  if (entry === undefined) {
    await nextTurn();
  } else if (needsDrain(entry)) {
    await Promise.race([once(entry, 'drain'), failure.promise]);
  }
}

// The entry is a readable-stream 2 PassThrough (from archiver), which predates `writableNeedDrain`.
function needsDrain(stream: Writable): boolean {
  const legacy = (stream as unknown as { _writableState?: { needDrain?: boolean } })._writableState;
  return stream.writableNeedDrain ?? legacy?.needDrain ?? false;
}

/**
 * With `useStyles`, exceljs serialises every cell's style to XML to find its id, which doubles the time of
 * a large report (200k rows × 3 sheets: 20 s instead of 8 s). Only header cells have a style and no cell
 * holds a date, so every other cell has the default style, id 0, and the lookup is skipped. The styles
 * manager is internal to exceljs; should it change, the lookups just stay slow.
 */
function skipUnstyledCellLookups(book: ExcelJS.stream.xlsx.WorkbookWriter): void {
  type StyleLookup = (style: Partial<ExcelJS.Style> | undefined, cellType?: ExcelJS.ValueType) => number;
  const styles = (book as unknown as { styles?: { addStyleModel?: StyleLookup } }).styles;
  const lookup = styles?.addStyleModel?.bind(styles);
  if (styles === undefined || lookup === undefined) return;
  styles.addStyleModel = (style, cellType) =>
    style !== undefined && isEmpty(style) && cellType !== ExcelJS.ValueType.Date
      ? 0
      : lookup(style, cellType);
}

function isEmpty(object: object): boolean {
  for (const _key in object) return false;
  return true;
}

interface OutputFailure {
  /** The first error of the file or the zip, once there is one. */
  error: unknown;
  /** Rejects with that error; for racing against waits that would otherwise never end. */
  promise: Promise<never>;
}

function outputFailure(output: Writable, book: ExcelJS.stream.xlsx.WorkbookWriter): OutputFailure {
  let rejectPromise: (error: unknown) => void = () => undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    rejectPromise = reject;
  });
  // Nobody may be waiting when the file fails; the error is then picked up at the next check.
  promise.catch(() => undefined);
  const failure: OutputFailure = { error: undefined, promise };
  const fail = (error: unknown): void => {
    failure.error ??= error;
    rejectPromise(failure.error);
  };
  output.on('error', fail);
  // Without a listener, an archiver error would crash the process instead of failing the report.
  (book as unknown as { zip?: Writable }).zip?.on('error', fail);
  return failure;
}
