import { open } from 'node:fs/promises';
import { InputError } from '../../core/errors.ts';
import { SAMPLE_BYTES } from './text-decoding.ts';
import { zipEntryNames } from './zip-reader.ts';

/** The input formats SPEC §4 accepts. */
export type InputFormat = 'csv' | 'tsv' | 'jsonl' | 'xlsx' | 'zip';

export const SUPPORTED_FORMATS_TEXT =
  'CSV (.csv), TSV (.tsv, .tab), JSON Lines (.jsonl, .ndjson), Excel workbooks (.xlsx) and ZIP archives of CSV files (.zip)';

const FORMAT_BY_EXTENSION: Record<string, InputFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  xlsx: 'xlsx',
  zip: 'zip',
};

/** Extensions of formats people upload by mistake, with what to do instead. */
const UNSUPPORTED_EXTENSIONS: Record<string, string> = {
  xls: 'legacy Excel workbooks (.xls) are not supported; save it as .xlsx or CSV',
  xlsb: 'binary Excel workbooks (.xlsb) are not supported; save it as .xlsx or CSV',
  ods: 'OpenDocument spreadsheets are not supported; save it as .xlsx or CSV',
  numbers: 'Numbers spreadsheets are not supported; export it as .xlsx or CSV',
  json: 'a JSON document is not supported; write one JSON object per line as JSON Lines (.jsonl)',
  pdf: 'PDF documents are not supported',
  xml: 'XML documents are not supported',
  parquet: 'Parquet files are not supported',
  gz: 'gzip files are not supported; upload a ZIP archive of CSV files',
  tgz: 'tar archives are not supported; upload a ZIP archive of CSV files',
  tar: 'tar archives are not supported; upload a ZIP archive of CSV files',
  '7z': '7-Zip archives are not supported; upload a ZIP archive of CSV files',
  rar: 'RAR archives are not supported; upload a ZIP archive of CSV files',
  doc: 'Word documents are not supported',
  docx: 'Word documents are not supported',
};

const startsWith = (head: Buffer, ...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
const isZipContainer = (head: Buffer): boolean =>
  startsWith(head, 0x50, 0x4b, 0x03, 0x04) || startsWith(head, 0x50, 0x4b, 0x05, 0x06);
const isOle2 = (head: Buffer): boolean => startsWith(head, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1);
const isPdf = (head: Buffer): boolean => head.subarray(0, 5).toString('latin1') === '%PDF-';
const isGzip = (head: Buffer): boolean => startsWith(head, 0x1f, 0x8b);
const hasUtf16Bom = (head: Buffer): boolean => startsWith(head, 0xff, 0xfe) || startsWith(head, 0xfe, 0xff);

/** The lowercase extension of a file name, without the dot; `''` when there is none. */
export function fileExtension(fileName: string): string {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/**
 * The format of an input file. The extension decides, but the first bytes overrule it when they are
 * conclusive: a ZIP container is read as XLSX (when it holds `xl/workbook.xml`) or as a ZIP of CSVs
 * whatever its name, and a legacy Office or PDF file is refused. Text with an unknown extension (or
 * none) is read as CSV; binary content with one is refused.
 *
 * Rejects with InputError `UNSUPPORTED_FORMAT`, `EMPTY_INPUT` (zero bytes), `MALFORMED_XLSX` or
 * `MALFORMED_ZIP` (named so, but not a ZIP container).
 */
export async function detectInputFormat(filePath: string, originalFileName: string): Promise<InputFormat> {
  const extension = fileExtension(originalFileName);
  const head = await readHead(filePath);
  if (isZipContainer(head)) {
    if (extension === 'xlsx' || extension === 'zip') return extension;
    const names = await zipEntryNames(filePath, originalFileName);
    return names.includes('xl/workbook.xml') ? 'xlsx' : 'zip';
  }
  if (isOle2(head)) throw unsupported(originalFileName, UNSUPPORTED_EXTENSIONS.xls ?? '');
  if (isPdf(head)) throw unsupported(originalFileName, UNSUPPORTED_EXTENSIONS.pdf ?? '');
  const refusal = UNSUPPORTED_EXTENSIONS[extension];
  if (refusal !== undefined) throw unsupported(originalFileName, refusal);
  if (head.length === 0) {
    throw new InputError('EMPTY_INPUT', `${originalFileName} is empty; upload a file with a header row.`);
  }
  if (extension === 'xlsx' || extension === 'zip') {
    throw new InputError(
      extension === 'xlsx' ? 'MALFORMED_XLSX' : 'MALFORMED_ZIP',
      `${originalFileName} is named .${extension} but is not a ${extension === 'xlsx' ? 'workbook' : 'ZIP archive'} ` +
        '(it is not a ZIP container). Check that the right file was uploaded and that it was not renamed.',
    );
  }
  const format = FORMAT_BY_EXTENSION[extension];
  if (format !== undefined) return format;
  if (isGzip(head) || (head.includes(0) && !hasUtf16Bom(head))) {
    throw unsupported(originalFileName, 'it is a binary file, not text');
  }
  return 'csv';
}

async function readHead(filePath: string): Promise<Buffer> {
  const file = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await file.read(buffer, 0, SAMPLE_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function unsupported(fileName: string, reason: string): InputError {
  return new InputError(
    'UNSUPPORTED_FORMAT',
    `${fileName} cannot be read: ${reason}. Supported formats: ${SUPPORTED_FORMATS_TEXT}.`,
  );
}
