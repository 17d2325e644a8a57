import ExcelJS from 'exceljs';
import { InputError, errorMessage } from '../../core/errors.ts';
import type { Cell } from './table-writer.ts';

/** One worksheet as it streams: its name and its rows as cells (index 0 is column A). */
export interface SheetRows {
  name: string;
  rows: AsyncIterable<Cell[]>;
}

/** The parts of exceljs's streaming reader its type declarations leave out. */
interface StreamedWorksheet extends AsyncIterable<ExcelJS.Row> {
  id?: number | string;
  name?: string;
}
interface StreamedWorkbook {
  properties?: { model?: { date1904?: boolean } };
}

/**
 * Streams every worksheet of an XLSX workbook with exceljs's `WorkbookReader`, never loading the whole
 * workbook (shared strings are cached, as the format requires). Each sheet must be consumed before
 * the next one is read. A file exceljs cannot read rejects with InputError `MALFORMED_XLSX`.
 */
export async function* readXlsxSheets(path: string, sourceName: string): AsyncGenerator<SheetRows> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles give the number formats that tell a date from a number.
    styles: 'cache',
    // Ignored hyperlinks leave the cell's text as its value.
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  const date1904 = (): boolean =>
    (workbook as unknown as StreamedWorkbook).properties?.model?.date1904 ?? false;
  try {
    for await (const sheet of workbook as unknown as AsyncIterable<StreamedWorksheet>) {
      yield { name: sheet.name ?? `Sheet${sheet.id ?? ''}`, rows: sheetRows(sheet, date1904, sourceName) };
    }
  } catch (error) {
    throw unreadableWorkbook(error, sourceName);
  }
}

async function* sheetRows(
  sheet: StreamedWorksheet,
  date1904: () => boolean,
  sourceName: string,
): AsyncGenerator<Cell[]> {
  try {
    for await (const row of sheet) {
      const cells = new Array<Cell>(row.cellCount).fill(null);
      row.eachCell({ includeEmpty: false }, (cell, column) => {
        cells[column - 1] = cellText(cell.value, cell.numFmt, date1904);
      });
      yield cells;
    }
  } catch (error) {
    throw unreadableWorkbook(error, sourceName);
  }
}

function unreadableWorkbook(error: unknown, sourceName: string): InputError {
  if (error instanceof InputError) return error;
  return new InputError(
    'MALFORMED_XLSX',
    `${sourceName} could not be read as an Excel workbook (${errorMessage(error)}). Open it in Excel, ` +
      'save it again as .xlsx (or export the sheets as CSV) and upload it again.',
    { cause: error },
  );
}

/**
 * A cell value as text: strings as they are, numbers as their JS string, booleans `true`/`false`,
 * dates `YYYY-MM-DD` at midnight else `YYYY-MM-DD HH:MM:SS` (UTC, as Excel stores no zone), formulas
 * as their cached result, rich text and hyperlinks as their text, errors as NULL.
 */
export function cellText(
  value: ExcelJS.CellValue | undefined,
  numFmt: string | undefined,
  date1904: () => boolean,
): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return dateText(value);
  if ('richText' in value) return value.richText.map((run) => run.text).join('');
  if ('error' in value) return null;
  if ('formula' in value || 'sharedFormula' in value) {
    const { result } = value as { result?: ExcelJS.CellValue };
    // The streaming reader leaves a formula's result a serial number even in a date-formatted cell.
    if (typeof result === 'number' && isDateFormat(numFmt))
      return dateText(excelSerialToDate(result, date1904()));
    return typeof result === 'object' && result !== null && 'error' in result
      ? null
      : cellText(result, numFmt, date1904);
  }
  if ('text' in value)
    return typeof value.text === 'string' ? value.text : cellText(value.text, numFmt, date1904);
  return null;
}

/**
 * Whether an Excel number format shows a date or time: date/time letters outside quotes and `[…]`.
 * The same test exceljs applies to plain cells, so formula results and plain cells agree.
 */
function isDateFormat(numFmt: string | undefined): boolean {
  if (!numFmt) return false;
  return /[ymdhMsb]/.test(numFmt.replace(/\[[^\]]*\]/g, '').replace(/"[^"]*"/g, ''));
}

const EXCEL_EPOCH_DAYS = 25569;
const EXCEL_1904_OFFSET_DAYS = 1462;
const MS_PER_DAY = 86_400_000;

function excelSerialToDate(serial: number, date1904: boolean): Date {
  return new Date(
    Math.round((serial - EXCEL_EPOCH_DAYS + (date1904 ? EXCEL_1904_OFFSET_DAYS : 0)) * MS_PER_DAY),
  );
}

/** Rounds to the second first: serials are floating point, so 10:30 can arrive as 10:29:59.9999. */
function dateText(date: Date): Cell {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return null;
  const iso = new Date(Math.round(ms / 1000) * 1000).toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  return time === '00:00:00' ? day : `${day} ${time}`;
}
