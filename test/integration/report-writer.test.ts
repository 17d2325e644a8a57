import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScError } from '../../lambdas/core/errors.ts';
import type { ResolvedRow, RowResult } from '../../lambdas/core/model.ts';
import { MAX_CELL_TEXT_LENGTH } from '../../lambdas/core/report-model.ts';
import { writeReport, type ReportInput } from '../../lambdas/adapters/report/xlsx-report-writer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* stream<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function result(row: number, overrides: Partial<RowResult> = {}): RowResult {
  return {
    row,
    outcome: 'created',
    recordId: `rec_${row}`,
    matchedRule: null,
    code: null,
    errors: [],
    warnings: [],
    written: {},
    hash: `h${row}`,
    ...overrides,
  };
}

function emptyInput(overrides: Partial<ReportInput> = {}): ReportInput {
  return { summary: [], sqlOutputs: [], variables: [], steps: [], ...overrides };
}

async function write(name: string, input: ReportInput, maxRowsPerSheet?: number): Promise<ExcelJS.Workbook> {
  const path = join(dir, `${name}.xlsx`);
  await writeReport(path, input, maxRowsPerSheet === undefined ? {} : { maxRowsPerSheet });
  return new ExcelJS.Workbook().xlsx.readFile(path);
}

function sheetNames(book: ExcelJS.Workbook): string[] {
  return book.worksheets.map((sheet) => sheet.name);
}

/** Every row's values from column 1, empty cells as null. */
function rows(sheet: ExcelJS.Worksheet | undefined): unknown[][] {
  if (sheet === undefined) throw new Error('no such sheet');
  const values: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row) => {
    const cells: unknown[] = [];
    for (let c = 1; c <= sheet.columnCount; c++) cells.push(row.getCell(c).value ?? null);
    values.push(cells);
  });
  return values;
}

const FORMULA_LOOKING = ['=1+1', '+1', '-1', '@SUM(A1:A2)', '=HYPERLINK("http://x","y")'];

describe('writeReport', () => {
  it('writes every sheet with its header and values', async () => {
    const book = await write('full', {
      summary: [
        ['Execution', 'exec_1'],
        ['Dry run', false],
        ['Rows', 3],
        ['Input file', null],
      ],
      sqlOutputs: [
        {
          scope: 'products',
          columns: ['sku', 'price', 'tags', 'formula'],
          rows: stream([
            { sku: '00123', price: 9.5, tags: ['a', 'b'], formula: '=1+1' },
            { sku: '1e5', price: null, tags: { k: 1 }, formula: '-1' },
          ]),
        },
      ],
      variables: [
        {
          scope: 'products',
          variables: ['sku', 'price', 'colors', 'active'],
          rows: stream<ResolvedRow>([
            {
              row: 1,
              values: { sku: '00123', price: 9.5, colors: ['red', 'blue'], active: true },
              errors: [],
            },
            {
              row: 2,
              values: { sku: '1e5', price: null, colors: null, active: null },
              errors: [{ code: 'REQUIRED', message: 'price is required', variable: 'price' }],
            },
          ]),
        },
      ],
      steps: [
        {
          name: 'upsert products',
          objectName: 'Product',
          scope: 'products',
          fields: ['sku', 'price', 'colors'],
          rows: stream([
            result(1, { matchedRule: 1, written: { sku: '00123', price: 9.5, colors: ['red', 'blue'] } }),
            result(2, {
              outcome: 'skipped',
              recordId: null,
              code: 'MULTIPLE_MATCHES',
              warnings: [{ code: 'W1', message: 'first' }],
            }),
          ]),
        },
      ],
    });

    expect(sheetNames(book)).toEqual([
      'Summary Stats',
      'SQL Output (products)',
      'Extracted Variables (products)',
      'Product Upload (products)',
    ]);
    expect(rows(book.getWorksheet('Summary Stats'))).toEqual([
      ['Item', 'Value'],
      ['Execution', 'exec_1'],
      ['Dry run', false],
      ['Rows', 3],
      ['Input file', null],
    ]);
    expect(rows(book.getWorksheet('SQL Output (products)'))).toEqual([
      ['Row', 'sku', 'price', 'tags', 'formula'],
      [1, '00123', 9.5, '["a","b"]', '=1+1'],
      [2, '1e5', null, '{"k":1}', '-1'],
    ]);
    expect(rows(book.getWorksheet('Extracted Variables (products)'))).toEqual([
      ['Row', 'sku', 'price', 'colors', 'active', 'Status', 'Error Codes', 'Errors'],
      [1, '00123', 9.5, 'red, blue', true, 'valid', null, null],
      [2, '1e5', null, null, null, 'invalid', 'REQUIRED', 'price is required'],
    ]);
    expect(rows(book.getWorksheet('Product Upload (products)'))).toEqual([
      ['Row', 'Status', 'Record ID', 'Matched Rule', 'Codes', 'Errors', 'Warnings', 'sku', 'price', 'colors'],
      [1, 'created', 'rec_1', 1, null, null, null, '00123', 9.5, 'red, blue'],
      [2, 'skipped', null, null, 'MULTIPLE_MATCHES, W1', null, 'first', null, null, null],
    ]);
  });

  it('keeps number-looking and formula-looking strings as plain strings', async () => {
    const book = await write('literals', {
      ...emptyInput(),
      sqlOutputs: [
        {
          scope: 'raw',
          columns: ['value'],
          rows: stream(['00123', '1e5', ' 42', ...FORMULA_LOOKING].map((value) => ({ value }))),
        },
      ],
      steps: [
        {
          name: 's',
          objectName: 'Note',
          scope: 'raw',
          fields: ['text'],
          rows: stream(FORMULA_LOOKING.map((text, i) => result(i + 1, { written: { text } }))),
        },
      ],
    });

    const sql = book.getWorksheet('SQL Output (raw)');
    const upload = book.getWorksheet('Note Upload (raw)');
    const cells = [
      ...['00123', '1e5', ' 42', ...FORMULA_LOOKING].map((text, i) => ({
        text,
        cell: sql?.getCell(i + 2, 2),
      })),
      ...FORMULA_LOOKING.map((text, i) => ({ text, cell: upload?.getCell(i + 2, 8) })),
    ];
    for (const { text, cell } of cells) {
      expect(cell?.type, text).toBe(ExcelJS.ValueType.String);
      expect(cell?.value, text).toBe(text);
      expect(cell?.formula, text).toBeUndefined();
    }
  });

  it('drops the characters XML forbids, so the file stays readable', async () => {
    const book = await write(
      'non-xml',
      emptyInput({
        summary: [['bad\u0001label', 'x\u0000y\ufffez\uffff']],
        sqlOutputs: [
          {
            scope: 'raw\ufffe',
            columns: ['col\uffff'],
            rows: stream([{ 'col\uffff': 'line 1\nline 2\u000b' }]),
          },
        ],
      }),
    );
    expect(sheetNames(book)).toEqual(['Summary Stats', 'SQL Output (raw)']);
    expect(rows(book.getWorksheet('Summary Stats'))[1]).toEqual(['badlabel', 'xyz']);
    expect(rows(book.getWorksheet('SQL Output (raw)'))).toEqual([
      ['Row', 'col'],
      [1, 'line 1\nline 2'],
    ]);
  });

  it('makes the header bold and frozen, and sets column widths', async () => {
    const book = await write('header', {
      ...emptyInput(),
      steps: [{ name: 's', objectName: 'Product', scope: 'p', fields: ['sku'], rows: stream([result(1)]) }],
    });
    const sheet = book.getWorksheet('Product Upload (p)');
    expect(sheet?.getCell('A1').font?.bold).toBe(true);
    expect(sheet?.getCell('A2').font?.bold).toBeFalsy();
    expect(sheet?.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(sheet?.getColumn(3).width).toBe(38);
  });

  it('continues a sheet past maxRowsPerSheet, with the header on each part', async () => {
    const variableRows = (n: number): ResolvedRow[] =>
      Array.from({ length: n }, (_, i) => ({ row: i + 1, values: { v: i + 1 }, errors: [] }));
    const book = await write(
      'continued',
      emptyInput({
        variables: [
          { scope: 'seven', variables: ['v'], rows: stream(variableRows(7)) },
          { scope: 'six', variables: ['v'], rows: stream(variableRows(6)) },
        ],
      }),
      3,
    );

    expect(sheetNames(book)).toEqual([
      'Summary Stats',
      'Extracted Variables (seven)',
      'Extracted Variables (seven) 2',
      'Extracted Variables (seven) 3',
      'Extracted Variables (six)',
      'Extracted Variables (six) 2',
    ]);
    const dataRows = (name: string): unknown[] => rows(book.getWorksheet(name)).map((r) => r[0]);
    expect(dataRows('Extracted Variables (seven)')).toEqual(['Row', 1, 2, 3]);
    expect(dataRows('Extracted Variables (seven) 2')).toEqual(['Row', 4, 5, 6]);
    expect(dataRows('Extracted Variables (seven) 3')).toEqual(['Row', 7]);
    expect(dataRows('Extracted Variables (six) 2')).toEqual(['Row', 4, 5, 6]);
  });

  it('cuts long sheet names and makes them unique, continuations included', async () => {
    const steps = [1, 2].map((n) => ({
      name: `step ${n}`,
      objectName: 'Purchase Order Line',
      scope: 'purchase_order_lines',
      fields: [],
      rows: stream([result(1), result(2)]),
    }));
    const book = await write('names', emptyInput({ steps }), 1);

    // Both steps' names are fixed before any row is written, so the second step keeps its name whatever
    // the first one's row count; the first step's continuation then takes the next free name.
    expect(sheetNames(book)).toEqual([
      'Summary Stats',
      'Purchase Order Line Upload (pur', // step 1
      'Purchase Order Line Upload 2 2', // step 1, rows 2+ ("… 2", taken by step 2, made unique)
      'Purchase Order Line Upload (p 2', // step 2
      'Purchase Order Line Upload 2 3', // step 2, rows 2+
    ]);
  });

  it('writes an empty scope as a sheet with just the header', async () => {
    const book = await write(
      'empty',
      emptyInput({
        sqlOutputs: [{ scope: 'none', columns: ['a', 'b'], rows: stream([]) }],
        variables: [{ scope: 'none', variables: ['a'], rows: stream([]) }],
        steps: [{ name: 's', objectName: 'Product', scope: 'none', fields: ['a'], rows: stream([]) }],
      }),
    );
    expect(rows(book.getWorksheet('SQL Output (none)'))).toEqual([['Row', 'a', 'b']]);
    expect(rows(book.getWorksheet('Extracted Variables (none)'))).toEqual([
      ['Row', 'a', 'Status', 'Error Codes', 'Errors'],
    ]);
    expect(book.getWorksheet('Product Upload (none)')?.rowCount).toBe(1);
    expect(rows(book.getWorksheet('Summary Stats'))).toEqual([['Item', 'Value']]);
  });

  it('writes no SQL Output sheet when the connector has no SQL', async () => {
    const book = await write(
      'no-sql',
      emptyInput({ variables: [{ scope: 'rows', variables: [], rows: stream([]) }] }),
    );
    expect(sheetNames(book)).toEqual(['Summary Stats', 'Extracted Variables (rows)']);
  });

  it('cuts text longer than a cell holds', async () => {
    const book = await write(
      'long-text',
      emptyInput({
        sqlOutputs: [{ scope: 'big', columns: ['text'], rows: stream([{ text: 'x'.repeat(100_000) }]) }],
      }),
    );
    const value = book.getWorksheet('SQL Output (big)')?.getCell('B2').value;
    expect(typeof value).toBe('string');
    expect(value).toHaveLength(MAX_CELL_TEXT_LENGTH);
    expect(String(value).endsWith('[truncated: 100000 characters]')).toBe(true);
  });

  it('passes on an error of a row source and leaves no file behind', async () => {
    async function* failing(): AsyncGenerator<ResolvedRow> {
      yield { row: 1, values: {}, errors: [] };
      throw new Error('blob read failed');
    }
    const path = join(dir, 'failed.xlsx');
    await expect(
      writeReport(path, emptyInput({ variables: [{ scope: 's', variables: [], rows: failing() }] })),
    ).rejects.toThrow('blob read failed');
    expect(existsSync(path)).toBe(false);
  });

  it('fails with REPORT_WRITE_FAILED when the file cannot be written', async () => {
    const path = join(dir, 'missing-folder', 'report.xlsx');
    const error: unknown = await writeReport(path, emptyInput()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScError);
    expect(error).toMatchObject({ code: 'REPORT_WRITE_FAILED', retryable: true });
  });

  it('rejects a maxRowsPerSheet outside 1..1,048,575', async () => {
    for (const maxRowsPerSheet of [0, 1.5, 1_048_576]) {
      await expect(writeReport(join(dir, 'bad.xlsx'), emptyInput(), { maxRowsPerSheet })).rejects.toThrow(
        RangeError,
      );
    }
  });

  it('streams 200,000 rows × 3 sheets in flat memory (measured, not asserted)', async () => {
    const n = 200_000;
    async function* sqlRows(): AsyncGenerator<Record<string, unknown>> {
      for (let i = 0; i < n; i++) {
        yield {
          sku: `SKU-${i}`,
          name: `Product number ${i}`,
          price: i * 1.5,
          active: i % 2 === 0,
          tags: ['a', 'b'],
        };
      }
    }
    async function* variableRows(): AsyncGenerator<ResolvedRow> {
      for (let i = 0; i < n; i++) {
        yield {
          row: i + 1,
          values: { sku: `SKU-${i}`, name: `Product number ${i}`, price: i * 1.5, colors: ['red', 'blue'] },
          errors: i % 10 === 0 ? [{ code: 'INVALID_DATE', message: 'released is not a date' }] : [],
        };
      }
    }
    async function* results(): AsyncGenerator<RowResult> {
      for (let i = 0; i < n; i++) {
        yield result(i + 1, {
          matchedRule: 1,
          written: { sku: `SKU-${i}`, name: `Product number ${i}`, price: i },
        });
      }
    }

    const path = join(dir, 'large.xlsx');
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 25);
    const started = performance.now();
    try {
      await writeReport(path, {
        summary: [['Rows', n]],
        sqlOutputs: [
          { scope: 'products', columns: ['sku', 'name', 'price', 'active', 'tags'], rows: sqlRows() },
        ],
        variables: [
          { scope: 'products', variables: ['sku', 'name', 'price', 'colors'], rows: variableRows() },
        ],
        steps: [
          {
            name: 'upsert',
            objectName: 'Product',
            scope: 'products',
            fields: ['sku', 'name', 'price'],
            rows: results(),
          },
        ],
      });
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const { size } = await stat(path);
    console.log(
      `report: ${n} rows × 3 sheets in ${seconds.toFixed(1)} s; RSS ${mib(rssBefore)} before, ` +
        `${mib(peakRss)} peak (+${mib(peakRss - rssBefore)}); file ${(size / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(size).toBeGreaterThan(0);
  });
});
