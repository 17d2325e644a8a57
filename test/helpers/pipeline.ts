import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import type { Execution, StepCounts, StoredRecord } from '../../lambdas/core/model.ts';
import type { ObjectDefinition, ObjectDefinitionInput } from '../../lambdas/core/object-schema.ts';
import type { ProgressEvent } from '../../lambdas/local/run-execution.ts';
import { runLocally } from '../../lambdas/local/run-locally.ts';
import {
  openLocalRuntime,
  type LocalRuntime,
  type LocalRuntimeOptions,
} from '../../lambdas/local/runtime.ts';
import {
  applyConnector,
  applyObjects,
  findWorkspace,
  loadObjects,
  type AppliedConnector,
  type WorkspaceLocation,
} from '../../lambdas/local/workspace.ts';
import type { Ports } from '../../lambdas/pipeline/ports.ts';
import type { RecordEvent } from '../../lambdas/ports/event-publisher.ts';

/*
 * Whole executions in this process, through the same functions `sc run` uses: a temporary workspace
 * written from JS objects, the local runtime (DynamoDB stand-in, chDB, blobs and events under `.sc/`),
 * registerExecution + runExecution, and readers for what a run leaves behind (records, report, events).
 * One workspace (one runtime) per test file; tests keep apart by using their own objects and connectors.
 */

/** An object file: `objects/<apiName>.json`. */
export type ObjectSpec = ObjectDefinitionInput & { apiName: string };

/** A connector folder: `connector.json`, and `connector.sql` when `sql` is given. */
export interface ConnectorSpec {
  definition: ConnectorDefinitionInput;
  sql?: string;
}

/** An input file, written to `<connector folder>/data/<name>`. */
export interface InputSpec {
  name: string;
  content: string | Uint8Array;
}

export interface RunOptions {
  dryRun?: boolean;
  /** Overrides the connector's `diffCheck` setting for this run. */
  diffCheck?: boolean;
  onProgress?: (event: ProgressEvent, ports: Ports, executionId: string) => void | Promise<void>;
  /**
   * A live run of a connector in `setup` activates it first, as `sc run` does. Default true; false leaves
   * the status alone (the run then stays queued).
   */
  activate?: boolean;
}

export type Outcome = 'created' | 'updated' | 'unchanged' | 'skipped' | 'failed' | 'unprocessed';
export type Counts = Record<Outcome, number>;

export interface RunResult {
  execution: Execution;
  applied: AppliedConnector;
  /** A step's counts without its name and object. */
  step(index: number): Counts;
}

/** A report sheet as objects keyed by header; cells as exceljs reads them (null when empty). */
export type SheetRows = Array<Record<string, unknown>>;

export interface Report {
  sheetNames: string[];
  /** `Summary Stats`: Item → Value. */
  summary: Map<string, unknown>;
  sheet(name: string): SheetRows;
  /** The upload sheet of load step `index` (upload sheets come last, one per step). */
  upload(index: number): SheetRows;
}

export interface PipelineWorkspace {
  dir: string;
  workspace: WorkspaceLocation;
  runtime: LocalRuntime;
  ports: Ports;
  /** Writes `objects/<apiName>.json` for each and applies every object file to the store. */
  addObjects(objects: readonly ObjectSpec[]): Promise<void>;
  /** Writes (or rewrites) connector folder `folder`; returns its path. Nothing is applied yet. */
  writeConnector(folder: string, spec: ConnectorSpec): Promise<string>;
  /** Applies the objects and the connector folder as every `sc` command does. */
  apply(folder: string): Promise<AppliedConnector>;
  /** `sc run <folder> --input <file>`, in process: apply, activate (live), register, run. */
  run(folder: string, input: InputSpec, options?: RunOptions): Promise<RunResult>;
  /** Every record of an object (archived ones too), ordered by `fields.name`, then id. */
  records(object: string): Promise<StoredRecord[]>;
  /** Writes records straight to the store (e.g. archived ones: there is no archive API yet). */
  writeRecords(object: string, records: readonly StoredRecord[]): Promise<void>;
  /** The stored object definition. */
  object(apiName: string): Promise<ObjectDefinition>;
  report(execution: Execution): Promise<Report>;
  /** `.sc/events.jsonl`, parsed; only those of one execution when given. */
  events(executionId?: string): Promise<RecordEvent[]>;
  close(): Promise<void>;
}

export async function openPipelineWorkspace(
  objects: readonly ObjectSpec[] = [],
  runtimeOptions: LocalRuntimeOptions = {},
): Promise<PipelineWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-pipeline-'));
  await mkdir(join(dir, 'objects'), { recursive: true });
  for (const object of objects) await writeObjectFile(dir, object);
  const workspace = findWorkspace({ explicit: dir, from: dir });
  let runtime: LocalRuntime;
  try {
    runtime = await openLocalRuntime(workspace, { retryIntervalMs: 0, ...runtimeOptions });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { ports } = runtime;

  const applyObjectFiles = async (): Promise<ObjectDefinition[]> => {
    await applyObjects(ports.connectors, await loadObjects(workspace));
    return ports.connectors.listObjects();
  };
  await applyObjectFiles();

  const apply = async (folder: string): Promise<AppliedConnector> => {
    const stored = await applyObjectFiles();
    return applyConnector(ports.connectors, workspace, join(dir, folder), stored, ports.clock, ports);
  };

  return {
    dir,
    workspace,
    runtime,
    ports,
    async addObjects(more) {
      for (const object of more) await writeObjectFile(dir, object);
      await applyObjectFiles();
    },
    async writeConnector(folder, spec) {
      const path = join(dir, folder);
      await mkdir(join(path, 'data'), { recursive: true });
      await writeFile(join(path, 'connector.json'), JSON.stringify(spec.definition, null, 2) + '\n');
      const sqlFile = join(path, 'connector.sql');
      if (spec.sql !== undefined) await writeFile(sqlFile, spec.sql);
      else if (existsSync(sqlFile)) await rm(sqlFile);
      return path;
    },
    apply,
    async run(folder, input, options = {}) {
      const applied = await apply(folder);
      const inputPath = join(dir, folder, 'data', input.name);
      await writeFile(inputPath, input.content);
      const onProgress = options.onProgress;
      const { execution, connector } = await runLocally(runtime, {
        connector: applied.connector,
        definition: applied.version.definition,
        objects: new Map((await ports.connectors.listObjects()).map((o) => [o.apiName, o])),
        inputPath,
        dryRun: options.dryRun ?? false,
        ...(options.diffCheck === undefined ? {} : { diffCheck: options.diffCheck }),
        initiatedBy: 'test',
        activate: options.activate !== false,
        ...(onProgress
          ? { onProgress: (event: ProgressEvent, id: string) => onProgress(event, ports, id) }
          : {}),
      });
      return {
        execution,
        applied: { connector, version: applied.version },
        step: (index) => stepCounts(execution.counts.steps[index]),
      };
    },
    async records(object) {
      const all: StoredRecord[] = [];
      for await (const record of ports.records.scan(object)) all.push(record);
      return all.sort(
        (a, b) =>
          String(a.fields.name ?? '').localeCompare(String(b.fields.name ?? '')) || a.id.localeCompare(b.id),
      );
    },
    async writeRecords(object, records) {
      const definition = await ports.connectors.getObject(object);
      if (!definition) throw new Error(`no object ${object}`);
      await ports.records.writeMany(
        definition,
        records.map((record) => ({ record, previous: null })),
      );
    },
    async object(apiName) {
      const definition = await ports.connectors.getObject(apiName);
      if (!definition) throw new Error(`no object ${apiName}`);
      return definition;
    },
    async report(execution) {
      if (!execution.reportKey) throw new Error(`execution ${execution.id} has no report`);
      return readReport(ports.blobs.location(execution.reportKey), execution.counts.steps.length);
    },
    async events(executionId) {
      const path = join(workspace.stateDir, 'events.jsonl');
      if (!existsSync(path)) return [];
      const events = (await readFile(path, 'utf8'))
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as RecordEvent);
      return executionId === undefined ? events : events.filter((e) => e.executionId === executionId);
    },
    async close() {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function writeObjectFile(dir: string, object: ObjectSpec): Promise<void> {
  await writeFile(join(dir, 'objects', `${object.apiName}.json`), JSON.stringify(object, null, 2) + '\n');
}

export function stepCounts(step: StepCounts | undefined): Counts {
  if (!step) throw new Error('no such step in the counts');
  const { created, updated, unchanged, skipped, failed, unprocessed } = step;
  return { created, updated, unchanged, skipped, failed, unprocessed };
}

/** Counts with every outcome 0 but those given. */
export function counts(partial: Partial<Counts>): Counts {
  return { created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, unprocessed: 0, ...partial };
}

export async function readReport(path: string, steps = 0): Promise<Report> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  const summary = new Map<string, unknown>();
  workbook.getWorksheet('Summary Stats')?.eachRow((row, n) => {
    if (n > 1) summary.set(String(row.getCell(1).value), row.getCell(2).value ?? null);
  });
  const sheetNames = workbook.worksheets.map((s) => s.name);
  const report: Report = {
    sheetNames,
    summary,
    upload(index) {
      if (index < 0 || index >= steps) throw new Error(`no load step ${index} (${steps} steps)`);
      return report.sheet(sheetNames[sheetNames.length - steps + index]!);
    },
    sheet(name) {
      const sheet = workbook.getWorksheet(name);
      if (!sheet)
        throw new Error(`no sheet "${name}"; sheets: ${workbook.worksheets.map((s) => s.name).join(', ')}`);
      const header = (sheet.getRow(1).values as unknown[]).slice(1).map(String);
      const rows: SheetRows = [];
      sheet.eachRow((row, n) => {
        if (n === 1) return;
        const item: Record<string, unknown> = {};
        header.forEach((h, i) => (item[h] = row.getCell(i + 1).value ?? null));
        rows.push(item);
      });
      return rows;
    },
  };
  return report;
}

/** CSV text from a header and rows; cells with commas, quotes or line breaks are quoted. */
export function csv(
  header: readonly string[],
  ...rows: ReadonlyArray<ReadonlyArray<string | number>>
): string {
  const cell = (value: string | number) => {
    const text = String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** A CSV input file. */
export function csvInput(
  name: string,
  header: readonly string[],
  ...rows: ReadonlyArray<ReadonlyArray<string | number>>
): InputSpec {
  return { name, content: csv(header, ...rows) };
}

/** A stored record for `writeRecords`. */
export function storedRecord(
  object: string,
  id: string,
  fields: StoredRecord['fields'],
  options: { archived?: boolean; at?: string } = {},
): StoredRecord {
  const at = options.at ?? '2024-01-01T00:00:00.000Z';
  return { id, object, archived: options.archived ?? false, createdAt: at, updatedAt: at, fields };
}

/** A connector loading `name` and `qty` into each of `objects` in turn, matching by name. */
export function itemsConnector(
  name: string,
  objects: string[],
  settings: ConnectorDefinitionInput['settings'] = {},
): ConnectorDefinitionInput {
  return {
    name,
    variables: [
      { name: 'name', type: 'string', required: true },
      { name: 'qty', type: 'number' },
    ],
    loadSteps: objects.map((object) => ({
      name: object,
      object,
      matching: [{ field: 'name', variable: 'name' }],
      mapping: [
        { field: 'name', variable: 'name' },
        { field: 'qty', variable: 'qty', conflict: 'overwrite' as const },
      ],
    })),
    settings,
  };
}
