import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, ROOT, sc, scJson } from '../helpers/cli.ts';

/*
 * What each kind of bad input gets from `sc` (SPEC §3, §4, §10): a stable error code, the exit code
 * (2 bad usage or invalid definition, 1 failed run), a message that says what is wrong and what to do,
 * and nothing lost: a rejected definition changes nothing, a failed run keeps its input file.
 * Every case gets its own copy of the catalog example, so the cases run concurrently.
 */

interface ErrorJson {
  error: { code: string; message: string; issues?: Array<{ path: string; message: string }> };
}
interface RunJson {
  id: string;
  status: string;
  dryRun: boolean;
  connector: { apiName: string; version: number };
  counts: { scopes: Record<string, unknown>; steps: unknown[] };
  reportPath: string | null;
  error: { code: string; message: string } | null;
}
type Rule = Record<string, unknown>;
interface Definition {
  sql?: unknown;
  variables: Rule[];
  loadSteps: Array<Rule & { matching: Rule[]; mapping: Rule[] }>;
  settings: Rule;
  [key: string]: unknown;
}

const CONNECTOR = 'vendor_product_import';
const CATALOG_HEADER =
  'vendor_name,vendor_email,vendor_phone,sku,product_name,price,launch_date,in_stock,category,tags';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

/** A fresh copy of the catalog example; `dir` is its connector folder, `input` its sample CSV. */
async function workspace(): Promise<{ root: string; dir: string; input: string }> {
  const ws = await copyExample('catalog');
  cleanups.push(ws.cleanup);
  const dir = join(ws.dir, CONNECTOR);
  return { root: ws.dir, dir, input: join(dir, 'data', 'catalog.csv') };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-bad-input-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function editConnector(dir: string, edit: (definition: Definition) => void): Promise<void> {
  const file = join(dir, 'connector.json');
  const definition = JSON.parse(await readFile(file, 'utf8')) as Definition;
  edit(definition);
  await writeFile(file, JSON.stringify(definition, null, 2));
}

/** Whether any execution was registered (its input stored) in the workspace. */
const anyExecution = (root: string) => existsSync(join(root, '.sc', 'blobs', 'executions'));

describe.concurrent(
  'an invalid definition: exit 2, INVALID_DEFINITION with the JSON path, nothing run',
  () => {
    interface DefinitionCase {
      what: string;
      /** Breaks the workspace: connector.json, objects/… */
      breakIt: (ws: { root: string; dir: string }) => Promise<void>;
      /** The file the message names. */
      file: string;
      /** The JSON path of the one issue. */
      path: string;
      /** What the issue's message says: what is wrong and what is allowed. */
      says: Array<string | RegExp>;
    }
    const connectorCase = (
      what: string,
      edit: (definition: Definition) => void,
      path: string,
      says: Array<string | RegExp>,
    ): DefinitionCase => ({
      what,
      breakIt: ({ dir }) => editConnector(dir, edit),
      file: `${CONNECTOR}/connector.json`,
      path,
      says,
    });

    const cases: DefinitionCase[] = [
      {
        what: 'connector.json is not valid JSON',
        breakIt: ({ dir }) => writeFile(join(dir, 'connector.json'), '{ "name": "Vendor product import",\n'),
        file: `${CONNECTOR}/connector.json`,
        path: '',
        says: ['not valid JSON'],
      },
      connectorCase(
        'a misspelled variable type ("nubmer")',
        (d) => (d.variables[5]!.type = 'nubmer'),
        'variables[5].type',
        ['"string"', '"number"', '"phone"'],
      ),
      connectorCase(
        'an unknown key (a misspelled "required")',
        (d) => (d.variables[0]!.requried = true),
        'variables[0]',
        ['requried'],
      ),
      connectorCase(
        'a wrong enum value (onNoMatch "create")',
        (d) => (d.loadSteps[0]!.matching[0]!.onNoMatch = 'create'),
        'loadSteps[0].matching[0].onNoMatch',
        ['create_new', 'do_not_upload'],
      ),
      connectorCase(
        'a wrong type (chunkSize as a string)',
        (d) => (d.settings.chunkSize = '500'),
        'settings.chunkSize',
        [/number/, /string/],
      ),
      connectorCase(
        'a mapping to an unknown field',
        (d) => (d.loadSteps[1]!.mapping[0]!.field = 'title'),
        'loadSteps[1].mapping[0].field',
        ['unknown field "title"', 'known fields: name, sku, price'],
      ),
      connectorCase(
        'a number variable mapped to a checkbox field',
        (d) => (d.loadSteps[1]!.mapping[4]!.variables = ['price']),
        'loadSteps[1].mapping[4].variable',
        ['"price"', '"in_stock"', /checkbox field takes a boolean variable, not a number variable/],
      ),
      connectorCase(
        'the last matching rule uses next_rule',
        (d) => (d.loadSteps[0]!.matching[0]!.onSingleMatch = 'next_rule'),
        'loadSteps[0].matching[0].onSingleMatch',
        ['last matching rule', 'update_current'],
      ),
      connectorCase(
        'a record variable used by an earlier step',
        (d) => d.loadSteps.reverse(),
        'loadSteps[0].mapping[7].variable',
        ['"vendor_id"', 'loadSteps[1]', 'runs later', 'only later steps'],
      ),
      connectorCase(
        'a load step into an unknown object',
        (d) => (d.loadSteps[0]!.object = 'suppliers'),
        'loadSteps[0].object',
        ['unknown object "suppliers"', 'known objects: products, vendors'],
      ),
      connectorCase(
        'a matching rule with an unknown variable',
        (d) => (d.loadSteps[0]!.matching[0]!.variable = 'vendor'),
        'loadSteps[0].matching[0].variable',
        ['unknown variable "vendor"', 'known variables: vendor_name'],
      ),
      connectorCase(
        'a duplicate variable name',
        (d) => d.variables.push({ name: 'sku', type: 'string' }),
        'variables[10].name',
        ['duplicate variable name "sku"', 'variables[3]'],
      ),
      connectorCase('an SQL file that does not exist', (d) => (d.sql = { file: 'missing.sql' }), 'sql.file', [
        'missing.sql',
        'does not exist',
      ]),
      {
        what: 'an object file with a dropdown without options',
        breakIt: ({ root }) =>
          writeFile(
            join(root, 'objects', 'x.json'),
            JSON.stringify({ name: 'X', fields: [{ name: 'status', type: 'dropdown' }] }),
          ),
        file: 'objects/x.json',
        path: 'fields[0].options',
        says: ['dropdown field needs an "options" list'],
      },
    ];

    it.for(cases)('$what', async (c, { expect }) => {
      const ws = await workspace();
      await c.breakIt(ws);
      const { code, json, stderr } = await scJson<ErrorJson>(['run', ws.dir, '--input', ws.input]);
      expect(code, stderr).toBe(2);
      expect(json.error.code).toBe('INVALID_DEFINITION');
      expect(json.error.issues?.map((i) => i.path)).toEqual([c.path]);
      const issue = json.error.issues![0]!;
      for (const text of c.says) {
        if (typeof text === 'string') expect(issue.message).toContain(text);
        else expect(issue.message).toMatch(text);
      }
      // The message names the file to fix and, for each issue, its JSON path and what is wrong.
      expect(json.error.message).toContain(c.file);
      expect(json.error.message).toContain(`${c.path || '(root)'}: ${issue.message}`);
      // Nothing ran: no execution, no input stored.
      expect(anyExecution(ws.root)).toBe(false);
    });

    it('a load step without mapping rules fails the activation checks with a readable message', async ({
      expect,
    }) => {
      const ws = await workspace();
      await editConnector(ws.dir, (d) => (d.loadSteps[0]!.mapping = []));
      const { code, json } = await scJson<ErrorJson>(['run', ws.dir, '--input', ws.input]);
      expect(code).toBe(2);
      expect(json.error.code).toBe('INVALID_DEFINITION');
      expect(json.error.issues).toEqual([
        { path: 'loadSteps[0].mapping', message: 'load step "Vendors" needs at least one mapping rule' },
      ]);
      expect(json.error.message).toContain('cannot be activated');
      expect(json.error.message).not.toMatch(/cannot be activated is invalid/);
    });
  },
);

describe.concurrent('bad usage: exit 2 with a code and a message that says what to do', () => {
  interface UsageCase {
    what: string;
    /** The arguments (without --json), given a fresh example workspace. */
    args: (ws: { root: string; dir: string; input: string }) => Promise<string[]>;
    code: string;
    says: (ws: { root: string; dir: string; input: string }) => Array<string | RegExp>;
    cwd?: (ws: { root: string }) => string;
  }
  const cases: UsageCase[] = [
    {
      what: 'an unknown connector folder',
      args: async ({ root, input }) => ['run', join(root, 'vendor_import'), '--input', input],
      code: 'CONNECTOR_NOT_FOUND',
      says: ({ root }) => [join(root, 'vendor_import'), 'connector.json is missing'],
    },
    {
      what: 'a folder without connector.json',
      args: async ({ dir, input }) => ['run', join(dir, 'data'), '--input', input],
      code: 'CONNECTOR_NOT_FOUND',
      says: ({ dir }) => [join(dir, 'data'), 'connector.json is missing'],
    },
    {
      what: 'an input file that does not exist',
      args: async ({ dir }) => ['run', dir, '--input', join(dir, 'data', 'catalgo.csv')],
      code: 'INPUT_NOT_FOUND',
      says: ({ dir }) => [join(dir, 'data', 'catalgo.csv'), 'does not exist'],
    },
    {
      what: 'a connector folder with no workspace (no objects/ above it, SC_WORKSPACE empty)',
      args: async ({ dir }) => {
        const alone = join(await tempDir(), 'lonely_import');
        await cp(dir, alone, { recursive: true });
        return ['run', alone, '--input', join(alone, 'data', 'catalog.csv')];
      },
      code: 'WORKSPACE_NOT_FOUND',
      says: () => ['No workspace found', 'objects/', '--workspace', 'SC_WORKSPACE'],
      cwd: () => tmpdir(),
    },
    {
      what: '--workspace naming a folder that does not exist',
      args: async ({ root }) => ['records', 'products', '--workspace', join(root, 'nowhere')],
      code: 'WORKSPACE_NOT_FOUND',
      says: ({ root }) => [join(root, 'nowhere'), 'does not exist'],
    },
    {
      what: 'sc records of an unknown object',
      args: async ({ root }) => ['records', 'product', '--workspace', root],
      code: 'OBJECT_NOT_FOUND',
      says: () => ['No object "product"', 'Known objects: products, vendors'],
    },
  ];

  it.for(cases)('$what', async (c, { expect }) => {
    const ws = await workspace();
    const args = await c.args(ws);
    const { code, json, stderr } = await scJson<ErrorJson>(args, c.cwd ? { cwd: c.cwd(ws) } : {});
    expect(code, stderr).toBe(2);
    expect(json.error.code).toBe(c.code);
    for (const text of c.says(ws)) {
      if (typeof text === 'string') expect(json.error.message).toContain(text);
      else expect(json.error.message).toMatch(text);
    }
    expect(json.error.issues).toBeUndefined();
    expect(anyExecution(ws.root)).toBe(false);
  });

  it('--workspace naming a folder without objects/', async ({ expect }) => {
    const empty = await tempDir();
    const { code, json } = await scJson<ErrorJson>(['records', 'products', '--workspace', empty]);
    expect(code).toBe(2);
    expect(json.error.code).toBe('WORKSPACE_NOT_FOUND');
    expect(json.error.message).toContain(empty);
    expect(json.error.message).toContain('objects/');
  });

  it('--input naming a folder', async ({ expect }) => {
    const ws = await workspace();
    const { code, json } = await scJson<ErrorJson>(['run', ws.dir, '--input', join(ws.dir, 'data')]);
    expect(code).toBe(2);
    expect(json.error.code).toMatch(/^INPUT_/);
    expect(json.error.message).toContain(join(ws.dir, 'data'));
    expect(json.error.message).toMatch(/folder|directory/);
    expect(anyExecution(ws.root)).toBe(false);
  });

  const example = join(ROOT, 'examples', 'catalog', CONNECTOR);
  it.for([
    {
      what: 'an unknown option',
      args: ['--input', join(example, 'data', 'catalog.csv'), '--frobnicate'],
      says: "unknown option '--frobnicate'",
    },
    { what: 'a missing --input', args: [], says: "required option '-i, --input <file>' not specified" },
  ])('$what: exit 2 and the problem on stderr', async (c, { expect }) => {
    const { code, stdout, stderr } = await sc(['run', example, ...c.args]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(c.says);
  });

  it('an unknown option with --json prints a JSON error', async ({ expect }) => {
    const { code, json } = await scJson<ErrorJson>([
      'run',
      example,
      '--input',
      join(example, 'data', 'catalog.csv'),
      '--frobnicate',
    ]);
    expect(code).toBe(2);
    expect(json.error.code).toEqual(expect.any(String));
    expect(json.error.message).toContain('--frobnicate');
  });

  it('a missing --input with --json prints a JSON error', async ({ expect }) => {
    const { code, json } = await scJson<ErrorJson>(['run', example]);
    expect(code).toBe(2);
    expect(json.error.message).toContain('--input');
  });
});

describe.concurrent('text mode: "error [CODE]: message" on stderr, nothing on stdout', () => {
  it('an input file that does not exist', async ({ expect }) => {
    const ws = await workspace();
    const missing = join(ws.dir, 'data', 'catalgo.csv');
    const { code, stdout, stderr } = await sc(['run', ws.dir, '--input', missing]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`error [INPUT_NOT_FOUND]: Input file ${missing} does not exist.\n`);
  });

  it('a mapping to an unknown field', async ({ expect }) => {
    const ws = await workspace();
    await editConnector(ws.dir, (d) => (d.loadSteps[1]!.mapping[0]!.field = 'title'));
    const { code, stdout, stderr } = await sc(['run', ws.dir, '--input', ws.input]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error \[INVALID_DEFINITION\]: .*connector\.json is invalid:\n/);
    expect(stderr).toContain('  - loadSteps[1].mapping[0].field: unknown field "title" on object products');
    // A definition error is the user's to fix: no stack trace.
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('a failed run prints its error and says there is no report', async ({ expect }) => {
    const ws = await workspace();
    await writeFile(join(ws.dir, 'connector.sql'), 'SELECT 1;\n');
    const { code, stdout } = await sc(['run', ws.dir, '--input', ws.input]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Execution [0-9a-f-]{36}: failed$/m);
    expect(stdout).toMatch(/^Error \[NO_OUTPUT_TABLES\]: The SQL created no table/m);
    expect(stdout).toContain('Report: none (the run failed before loading)');
  });
});

describe.concurrent(
  'a bad input file or broken SQL: exit 1, status failed, no report, the input kept',
  () => {
    interface FailedCase {
      what: string;
      /** The input file's name and content (default: the example's catalog.csv). */
      file?: { name: string; content: string | Buffer };
      /** Replaces connector.sql. */
      sql?: string;
      edit?: (definition: Definition) => void;
      code: string;
      says: Array<string | RegExp>;
    }
    const cases: FailedCase[] = [
      {
        what: 'a CSV with an unclosed quote',
        file: {
          name: 'catalog.csv',
          content: `${CATALOG_HEADER}\nGreen Valley Farms,,,GV-001,"Honeycrisp Apples,3.49\nSunrise Dairy,,,SD-1,Milk,2\n`,
        },
        code: 'MALFORMED_CSV',
        says: ['catalog.csv is not valid CSV', 'line 2', 'never closed', 'double quotes', 'upload it again'],
      },
      {
        what: 'a PDF',
        file: {
          name: 'catalog.pdf',
          content: '%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<< >>\nendobj\n',
        },
        code: 'UNSUPPORTED_FORMAT',
        says: ['catalog.pdf cannot be read', 'PDF', 'Supported formats: CSV'],
      },
      {
        what: 'a PDF named .csv',
        file: {
          name: 'catalog.csv',
          content: '%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<< >>\nendobj\n',
        },
        code: 'UNSUPPORTED_FORMAT',
        says: ['catalog.csv cannot be read', 'PDF', 'Supported formats: CSV'],
      },
      {
        what: 'an empty file',
        file: { name: 'catalog.csv', content: '' },
        code: 'EMPTY_INPUT',
        says: ['catalog.csv is empty', 'header row'],
      },
      {
        what: 'an .xlsx that is not a workbook',
        file: {
          name: 'catalog.xlsx',
          content: `${CATALOG_HEADER}\nGreen Valley Farms,,,GV-001,Apples,3.49\n`,
        },
        code: 'MALFORMED_XLSX',
        says: ['catalog.xlsx', 'not a workbook', 'not a ZIP container'],
      },
      {
        what: 'SQL with a syntax error',
        sql: 'CREATE TABLE output.catalog ENGINE = MergeTree ORDER BY tuple() AS SELEC * FROM input.page_idx_0;\n',
        code: 'SQL_ERROR',
        says: ['The SQL failed', 'ClickHouse said:', 'Syntax error', 'SYNTAX_ERROR'],
      },
      {
        what: "a failed throwIf assertion (the example's own, on a file without vendor names)",
        file: {
          name: 'catalog.csv',
          content: `${CATALOG_HEADER}\n,,,GV-001,Honeycrisp Apples,3.49,,,,\n,,,SD-101,Cheddar,5,,,,\n`,
        },
        code: 'SQL_ASSERTION_FAILED',
        says: [
          'A throwIf assertion in the SQL failed',
          'every row lacks a vendor name: is this the catalog export?',
        ],
      },
      {
        what: 'SQL that creates no output table',
        sql: 'SELECT count() FROM input.page_idx_0;\n',
        code: 'NO_OUTPUT_TABLES',
        says: ['created no table in the output database', 'CREATE TABLE output.<name>'],
      },
      {
        what: 'a variable naming a scope the SQL did not make',
        edit: (d) => (d.variables[0]!.scope = 'catalgo'),
        code: 'SCOPE_NOT_FOUND',
        says: ['variables[0] (vendor_name)', 'scope "catalgo"', 'the SQL produced: catalog'],
      },
    ];

    it.for(cases)('$what', async (c, { expect }) => {
      const ws = await workspace();
      let input = ws.input;
      if (c.file) {
        input = join(await tempDir(), c.file.name);
        await writeFile(input, c.file.content);
      }
      if (c.sql !== undefined) await writeFile(join(ws.dir, 'connector.sql'), c.sql);
      if (c.edit) await editConnector(ws.dir, c.edit);

      const { code, json, stderr } = await scJson<RunJson>(['run', ws.dir, '--input', input]);
      expect(code, stderr).toBe(1);
      expect(json.status).toBe('failed');
      expect(json.dryRun).toBe(false);
      expect(json.connector).toEqual({ apiName: CONNECTOR, version: 1 });
      expect(json.error?.code).toBe(c.code);
      for (const text of c.says) {
        if (typeof text === 'string') expect(json.error?.message).toContain(text);
        else expect(json.error?.message).toMatch(text);
      }
      // It failed before loading: no step ran and there is no report.
      expect(json.counts.steps).toEqual([]);
      expect(json.reportPath).toBeNull();
      expect(await readdir(join(ws.root, '.sc', 'blobs', 'executions', json.id))).not.toContain(
        'report.xlsx',
      );

      // Loses nothing: the execution keeps the input file, byte for byte.
      const name = c.file?.name ?? 'catalog.csv';
      const kept = join(ws.root, '.sc', 'blobs', 'executions', json.id, 'input', name);
      expect(existsSync(kept)).toBe(true);
      expect((await readFile(kept)).equals(await readFile(input))).toBe(true);
    });
  },
);

describe('sc validate', () => {
  it('a valid connector passes (0); an invalid edit is refused (2) and leaves the stored version as it was', async () => {
    const ws = await workspace();
    const valid = await scJson<Record<string, unknown>>(['validate', ws.dir]);
    expect(valid.code).toBe(0);
    expect(valid.json).toEqual({ valid: true, apiName: CONNECTOR, version: 1, status: 'setup' });

    const original = await readFile(join(ws.dir, 'connector.json'));
    await editConnector(ws.dir, (d) => (d.variables[5]!.type = 'nubmer'));
    const invalid = await scJson<ErrorJson>(['validate', ws.dir]);
    expect(invalid.code).toBe(2);
    expect(invalid.json.error.code).toBe('INVALID_DEFINITION');
    expect(invalid.json.error.issues?.map((i) => i.path)).toEqual(['variables[5].type']);

    // The refused edit made no version: the fixed file is version 1 again, not 2 or 3.
    await writeFile(join(ws.dir, 'connector.json'), original);
    const again = await scJson<Record<string, unknown>>(['validate', ws.dir]);
    expect(again.code).toBe(0);
    expect(again.json).toEqual({ valid: true, apiName: CONNECTOR, version: 1, status: 'setup' });
  });
});

describe('a workspace written by hand', () => {
  it('a connector whose object file is not valid JSON names the object file', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'objects'));
    await mkdir(join(root, 'notes_import'));
    await writeFile(join(root, 'objects', 'notes.json'), '{ "name": "Notes", "fields": [ }');
    await writeFile(join(root, 'notes_import', 'connector.json'), JSON.stringify({ name: 'Notes import' }));
    const { code, json } = await scJson<ErrorJson>(['validate', join(root, 'notes_import')]);
    expect(code).toBe(2);
    expect(json.error.code).toBe('INVALID_DEFINITION');
    expect(json.error.message).toContain('objects/notes.json');
    expect(json.error.issues).toEqual([{ path: '', message: expect.stringContaining('not valid JSON') }]);
  });
});
