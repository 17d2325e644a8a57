import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../lambdas/core/errors.ts';
import { prepareInput } from '../../lambdas/pipeline/input/read-input.ts';
import type { PreparedTable } from '../../lambdas/ports/sql-engine.ts';

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-input-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `content` as `name` in a fresh folder and prepares it. */
async function prepare(name: string, content: string | Buffer): Promise<PreparedTable[]> {
  const path = await writeInput(name, content);
  return prepareInput(path, name, join(dir, `work-${fileCount}`));
}

async function writeInput(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, `input-${++fileCount}`);
  await writeFile(path, content);
  return path;
}

async function prepareFailure(name: string, content: string | Buffer): Promise<InputError> {
  const error: unknown = await prepare(name, content).then(
    () => new Error('expected prepareInput to fail'),
    (e: unknown) => e,
  );
  if (!(error instanceof InputError)) throw error;
  return error;
}

/** The rows of a prepared table, read back from its TabSeparated file. */
async function rowsOf(table: PreparedTable): Promise<(string | null)[][]> {
  const text = await readFile(table.path, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => line.split('\t').map(unescapeTsv));
}

function unescapeTsv(field: string): string | null {
  if (field === '\\N') return null;
  const escapes: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r', '0': '\0' };
  return field.replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

async function onlyTable(
  tables: PreparedTable[],
): Promise<{ table: PreparedTable; rows: (string | null)[][] }> {
  expect(tables).toHaveLength(1);
  const table = tables[0]!;
  const rows = await rowsOf(table);
  expect(rows).toHaveLength(table.rows);
  for (const row of rows) expect(row).toHaveLength(table.columns.length);
  return { table, rows };
}

/** A minimal ZIP writer (deflate or stored entries) so the tests need no archiver dependency. */
function zip(entries: { name: string; content: string | Buffer; store?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content, 'utf8');
    const method = entry.store || entry.name.endsWith('/') ? 0 : 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe('CSV', () => {
  it('reads quoted commas, quotes and line breaks, and names the table after the file', async () => {
    const { table, rows } = await onlyTable(
      await prepare(
        'vendors.csv',
        'Name,City,Note\r\n"Acme, Inc.",Paris,"said ""hi""\r\nthen left"\r\nBeta,"",x\\y\ttab\r\n',
      ),
    );
    expect(table.name).toBe('vendors_csv');
    expect(table.columns).toEqual(['name', 'city', 'note']);
    expect(rows).toEqual([
      ['Acme, Inc.', 'Paris', 'said "hi"\r\nthen left'],
      ['Beta', null, 'x\\y\ttab'],
    ]);
  });

  it('normalises headers: blank ones numbered, repeated ones suffixed', async () => {
    const { table } = await onlyTable(
      await prepare('h.csv', ' Vendor Name ,,E-mail,name,VENDOR NAME,,2nd\n1,2,3,4,5,6,7\n'),
    );
    expect(table.columns).toEqual([
      'vendor_name',
      '_1',
      'e_mail',
      'name',
      'vendor_name__duplicate_1__',
      '_2',
      '_2nd',
    ]);
  });

  it('pads short rows, turns empty cells into NULL and names extra cells like blank headers', async () => {
    const { table, rows } = await onlyTable(
      await prepare('ragged.csv', 'a,b,c\n1\n2,,3\n4,5,6,7,,9,,\n,,\n\n8,9\n'),
    );
    expect(table.columns).toEqual(['a', 'b', 'c', '_1', '_2', '_3']);
    expect(rows).toEqual([
      ['1', null, null, null, null, null],
      ['2', null, '3', null, null, null],
      ['4', '5', '6', '7', null, '9'],
      ['8', '9', null, null, null, null],
    ]);
  });

  it('drops trailing empty header cells and skips blank rows before the header', async () => {
    const { table, rows } = await onlyTable(await prepare('trailing.csv', '\n,,\nid,name,,\n1,x,,\n'));
    expect(table.columns).toEqual(['id', 'name']);
    expect(rows).toEqual([['1', 'x']]);
  });

  it('keeps a header-only file as a table with no rows', async () => {
    const { table, rows } = await onlyTable(await prepare('header.csv', 'id,name\n'));
    expect(table.columns).toEqual(['id', 'name']);
    expect(rows).toEqual([]);
  });

  it('keeps quotes inside unquoted fields and escapes text that looks like \\N', async () => {
    const { rows } = await onlyTable(await prepare('q.csv', 'a,b\n5" screen,\\N\n'));
    expect(rows).toEqual([['5" screen', '\\N']]);
  });

  it('reads semicolon-separated CSV', async () => {
    const { table, rows } = await onlyTable(await prepare('semi.csv', 'a;b;c\n1,5;2;"x;y"\n'));
    expect(table.columns).toEqual(['a', 'b', 'c']);
    expect(rows).toEqual([['1,5', '2', 'x;y']]);
  });

  it('reads a file with an unknown extension as CSV', async () => {
    const { table, rows } = await onlyTable(await prepare('export.txt', 'a,b\n1,2\n'));
    expect(table.name).toBe('export_txt');
    expect(rows).toEqual([['1', '2']]);
  });

  it('fails an unclosed quote with MALFORMED_CSV naming the line where the row starts', async () => {
    const error = await prepareFailure('bad.csv', 'a,b\n1,"ok\nstill ok"\n2,"never closed\n3,4\n5,6\n');
    expect(error.code).toBe('MALFORMED_CSV');
    expect(error.message).toContain('bad.csv');
    expect(error.message).toContain('line 4');
  });

  it('fails an unclosed quote in the header with MALFORMED_CSV on line 1', async () => {
    const error = await prepareFailure('bad2.csv', '"a,b\n1,2\n3,4\n');
    expect(error.code).toBe('MALFORMED_CSV');
    expect(error.message).toMatch(/line 1\b/);
  });

  it('keeps text after a closing quote rather than failing (relaxed quotes)', async () => {
    const { rows } = await onlyTable(await prepare('relaxed.csv', 'a,b\n3,"x"y\n'));
    expect(rows).toEqual([['3', '"x"y']]);
  });

  it('fails an empty file with EMPTY_INPUT', async () => {
    expect((await prepareFailure('empty.csv', '')).code).toBe('EMPTY_INPUT');
    expect((await prepareFailure('blank.csv', '\n\n,,\n,\n')).code).toBe('EMPTY_INPUT');
  });
});

describe('encodings', () => {
  it('strips a UTF-8 BOM', async () => {
    const { table, rows } = await onlyTable(
      await prepare('bom.csv', Buffer.from('\uFEFFid,name\n1,Zoë\n', 'utf8')),
    );
    expect(table.columns).toEqual(['id', 'name']);
    expect(rows).toEqual([['1', 'Zoë']]);
  });

  it('converts Windows-1252 / Latin-1 text', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('name,price\n', 'latin1'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]), // café
      Buffer.from(',4\n', 'latin1'),
      Buffer.from('cr\xe8me br\xfbl\xe9e,5\nna\xefve fa\xe7ade,6\n', 'latin1'),
      Buffer.from([0x93, 0x71, 0x94, 0x2c, 0x80, 0x37, 0x0a]), // “q”,€7 in Windows-1252
    ]);
    const { rows } = await onlyTable(await prepare('latin1.csv', latin1));
    expect(rows).toEqual([
      ['café', '4'],
      ['crème brûlée', '5'],
      ['naïve façade', '6'],
      ['“q”', '€7'],
    ]);
  });

  it('converts UTF-16LE with a BOM', async () => {
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from('id,name\n1,Ünïcödé ✓\n', 'utf16le'),
    ]);
    const { table, rows } = await onlyTable(await prepare('utf16.csv', utf16));
    expect(table.columns).toEqual(['id', 'name']);
    expect(rows).toEqual([['1', 'Ünïcödé ✓']]);
  });

  it('replaces bytes that are not UTF-8 late in an otherwise UTF-8 file instead of failing', async () => {
    const head = `id,name\n${'1,plain ascii ✓\n'.repeat(6000)}`; // > 64 KB of valid UTF-8
    const content = Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from([0x32, 0x2c, 0xff, 0xfe, 0x0a])]);
    const { rows } = await onlyTable(await prepare('late.csv', content));
    expect(rows.at(-1)).toEqual(['2', '\uFFFD\uFFFD']);
  });
});

describe('TSV', () => {
  it('reads tab-separated files (.tsv and .tab)', async () => {
    const { table, rows } = await onlyTable(
      await prepare('items.tsv', 'sku\tname, full\tqty\nA-1\tWidget, large\t3\nB-2\t\t\n'),
    );
    expect(table.name).toBe('items_tsv');
    expect(table.columns).toEqual(['sku', 'name__full', 'qty']);
    expect(rows).toEqual([
      ['A-1', 'Widget, large', '3'],
      ['B-2', null, null],
    ]);
    const { table: tab } = await onlyTable(await prepare('items.tab', 'a\tb\n1\t2\n'));
    expect(tab.columns).toEqual(['a', 'b']);
  });
});

describe('JSON Lines', () => {
  it('takes the union of top-level keys in first-seen order and keeps nested values as JSON', async () => {
    const text = [
      '{"id": 1, "name": "Acme", "tags": ["a", "b"]}',
      '',
      '{"id": 2, "active": true, "address": {"city": "Paris"}, "name": null}',
      '{"Name": "dup key", "id": 3.5, "empty": ""}\r',
    ].join('\n');
    const { table, rows } = await onlyTable(await prepare('events.jsonl', text));
    expect(table.name).toBe('events_jsonl');
    expect(table.columns).toEqual([
      'id',
      'name',
      'tags',
      'active',
      'address',
      'name__duplicate_1__',
      'empty',
    ]);
    expect(rows).toEqual([
      ['1', 'Acme', '["a","b"]', null, null, null, null],
      ['2', null, null, 'true', '{"city":"Paris"}', null, null],
      ['3.5', null, null, null, null, 'dup key', null],
    ]);
  });

  it('reads .ndjson', async () => {
    const { rows } = await onlyTable(await prepare('x.ndjson', '{"a":"x"}\n{"a":"y"}'));
    expect(rows).toEqual([['x'], ['y']]);
  });

  it('fails a line that is not a JSON object with MALFORMED_JSONL and its line number', async () => {
    const broken = await prepareFailure('bad.jsonl', '{"a":1}\n{"a":\n');
    expect(broken.code).toBe('MALFORMED_JSONL');
    expect(broken.message).toContain('line 2');
    const array = await prepareFailure('arr.jsonl', '{"a":1}\n\n[1,2]\n');
    expect(array.code).toBe('MALFORMED_JSONL');
    expect(array.message).toContain('line 3');
  });

  it('fails a file without keys with EMPTY_INPUT', async () => {
    expect((await prepareFailure('e.jsonl', '\n{}\n')).code).toBe('EMPTY_INPUT');
  });
});

describe('XLSX', () => {
  async function workbookFile(build: (workbook: ExcelJS.Workbook) => void): Promise<Buffer> {
    const workbook = new ExcelJS.Workbook();
    build(workbook);
    return Buffer.from(await workbook.xlsx.writeBuffer());
  }

  it('reads every sheet with dates, numbers, booleans, formulas, rich text, hyperlinks and errors', async () => {
    const file = await workbookFile((workbook) => {
      const vendors = workbook.addWorksheet('Vendors');
      vendors.addRow(['Name', 'Since', 'Updated', 'Score', 'Double', 'Active', 'Site', 'Check', 'Due']);
      vendors.addRow([
        'Acme',
        new Date(Date.UTC(2024, 0, 15)),
        new Date(Date.UTC(2024, 0, 15, 13, 45, 30)),
        12.5,
        { formula: 'D2*2', result: 25 },
        true,
        { text: 'acme.com', hyperlink: 'https://acme.com' },
        { error: '#N/A' },
        { formula: 'B2+30', result: new Date(Date.UTC(2024, 1, 14)) },
      ]);
      vendors.getCell('B2').numFmt = 'yyyy-mm-dd';
      vendors.getCell('C2').numFmt = 'yyyy-mm-dd hh:mm:ss';
      vendors.getCell('I2').numFmt = 'dd/mm/yyyy';
      vendors.addRow([
        { richText: [{ text: 'Be' }, { font: { bold: true }, text: 'ta' }] },
        null,
        null,
        -3,
        { formula: 'D3*2', result: -6 },
        false,
        null,
        { formula: '1/0', result: { error: '#DIV/0!' } },
      ]);
      vendors.addRow([]);
      vendors.addRow(['Gamma', null, null, 0.1]);
      const products = workbook.addWorksheet('Products 2024');
      products.addRow(['SKU', 'Qty', 'Qty']);
      products.addRow(['A-1', 1000000, 1e21]);
      workbook.addWorksheet('Nothing');
      const headerOnly = workbook.addWorksheet('Vendors ');
      headerOnly.addRow(['Only', 'Header']);
    });
    const tables = await prepare('book.xlsx', file);
    expect(tables.map((t) => t.name)).toEqual(['vendors', 'products_2024', 'vendors__duplicate_1__']);
    const [vendors, products, headerOnly] = tables as [PreparedTable, PreparedTable, PreparedTable];
    expect(vendors.columns).toEqual([
      'name',
      'since',
      'updated',
      'score',
      'double',
      'active',
      'site',
      'check',
      'due',
    ]);
    expect(await rowsOf(vendors)).toEqual([
      ['Acme', '2024-01-15', '2024-01-15 13:45:30', '12.5', '25', 'true', 'acme.com', null, '2024-02-14'],
      ['Beta', null, null, '-3', '-6', 'false', null, null, null],
      ['Gamma', null, null, '0.1', null, null, null, null, null],
    ]);
    expect(products.columns).toEqual(['sku', 'qty', 'qty__duplicate_1__']);
    expect(await rowsOf(products)).toEqual([['A-1', '1000000', '1e+21']]);
    expect(headerOnly.columns).toEqual(['only', 'header']);
    expect(headerOnly.rows).toBe(0);
  });

  it('fails a workbook with no rows at all with EMPTY_INPUT', async () => {
    const file = await workbookFile((workbook) => workbook.addWorksheet('Empty'));
    expect((await prepareFailure('empty.xlsx', file)).code).toBe('EMPTY_INPUT');
  });

  it('fails a corrupt workbook with MALFORMED_XLSX', async () => {
    const notXlsx = await prepareFailure('fake.xlsx', 'a,b\n1,2\n');
    expect(notXlsx.code).toBe('MALFORMED_XLSX');
    const broken = zip([
      { name: 'xl/workbook.xml', content: '<workbook' },
      { name: 'xl/worksheets/sheet1.xml', content: '<<<' },
    ]);
    expect((await prepareFailure('broken.xlsx', broken)).code).toMatch(/MALFORMED_XLSX|EMPTY_INPUT/);
  });
});

describe('ZIP', () => {
  it('makes one table per CSV entry, ignoring macOS metadata, folders and other files', async () => {
    const archive = zip([
      { name: 'export/', content: '' },
      { name: 'export/vendors.csv', content: 'id,name\n1,Acme\n' },
      { name: '__MACOSX/export/._vendors.csv', content: Buffer.from([0, 5, 22, 7, 0, 2, 0, 0]) },
      { name: 'export/._products.csv', content: Buffer.from([0, 5, 22, 7]) },
      { name: 'export/.DS_Store', content: Buffer.from([0, 0, 0, 1]) },
      { name: 'export/readme.txt', content: 'not data' },
      { name: 'export/Products.CSV', content: 'sku;qty\nA;1\nB;2\n', store: true },
      {
        name: 'other/vendors.csv',
        content: Buffer.concat([
          Buffer.from('id,name\n2,'),
          Buffer.from([0x63, 0x61, 0x66, 0xe9]),
          Buffer.from('\n'),
        ]),
      },
      { name: 'empty.csv', content: '' },
    ]);
    const tables = await prepare('drop.zip', archive);
    expect(tables.map((t) => [t.name, t.columns, t.rows])).toEqual([
      ['vendors_csv', ['id', 'name'], 1],
      ['products_csv', ['sku', 'qty'], 2],
      ['vendors_csv__duplicate_1__', ['id', 'name'], 1],
    ]);
    expect(await rowsOf(tables[1]!)).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
    expect(await rowsOf(tables[2]!)).toEqual([['2', 'café']]);
  });

  it('fails a ZIP without CSV files with ZIP_HAS_NO_CSV', async () => {
    const archive = zip([
      { name: '__MACOSX/._data.csv', content: 'junk' },
      { name: 'notes.txt', content: 'hello' },
    ]);
    expect((await prepareFailure('nothing.zip', archive)).code).toBe('ZIP_HAS_NO_CSV');
  });

  it('names the entry of a malformed CSV inside a ZIP', async () => {
    const error = await prepareFailure(
      'bad.zip',
      zip([{ name: 'data/broken.csv', content: 'a,b\n1,"open\n' }]),
    );
    expect(error.code).toBe('MALFORMED_CSV');
    expect(error.message).toContain('data/broken.csv');
    expect(error.message).toContain('line 2');
  });

  it('fails a file named .zip that is not one with MALFORMED_ZIP', async () => {
    expect((await prepareFailure('fake.zip', 'hello')).code).toBe('MALFORMED_ZIP');
  });
});

describe('format detection', () => {
  it('refuses unsupported formats naming the supported ones', async () => {
    for (const [name, content] of [
      ['report.pdf', '%PDF-1.7 ...'],
      ['legacy.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0])],
      ['data.json', '[{"a":1}]'],
      ['image.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01])],
    ] as const) {
      const error = await prepareFailure(name, content);
      expect(error.code, name).toBe('UNSUPPORTED_FORMAT');
      expect(error.message).toContain(name);
      expect(error.message).toContain('.xlsx');
      expect(error.message).toContain('.jsonl');
    }
  });

  it('refuses a legacy .xls renamed to .csv by its magic bytes', async () => {
    const error = await prepareFailure(
      'renamed.csv',
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]),
    );
    expect(error.code).toBe('UNSUPPORTED_FORMAT');
    expect(error.message).toContain('.xls');
  });

  it('reads a ZIP or a workbook named .csv by its content', async () => {
    const archive = zip([{ name: 'inner.csv', content: 'a\n1\n' }]);
    const tables = await prepare('mislabelled.csv', archive);
    expect(tables.map((t) => t.name)).toEqual(['inner_csv']);

    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Sheet A').addRow(['x']);
    const book = await prepare('also-mislabelled.csv', Buffer.from(await workbook.xlsx.writeBuffer()));
    expect(book.map((t) => t.name)).toEqual(['sheet_a']);
  });
});

describe('speed', () => {
  it('prepares a 200,000-row CSV (logged, not asserted)', async () => {
    const lines = ['id,name,email,city,amount,date,flag,notes,code,qty'];
    for (let i = 0; i < 200_000; i++) {
      lines.push(
        `${i},Vendor ${i},v${i}@example.com,"City, ${i % 100}",${i * 1.25},2024-01-${String(1 + (i % 28)).padStart(2, '0')},` +
          `${i % 2 ? 'true' : 'false'},"note ""${i}""",C${i % 977},${i % 50}`,
      );
    }
    const path = await writeInput('big.csv', `${lines.join('\n')}\n`);
    const started = performance.now();
    const [table] = await prepareInput(path, 'big.csv', join(dir, 'work-big'));
    const elapsed = performance.now() - started;
    console.log(
      `prepareInput: 200,000-row CSV (${lines.join('\n').length >> 20} MB) in ${elapsed.toFixed(0)} ms`,
    );
    expect(table?.rows).toBe(200_000);
  });
});
