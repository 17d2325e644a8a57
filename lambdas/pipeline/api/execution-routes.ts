import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { runOutcome } from '../../core/execution-status.ts';
import {
  EXECUTION_STAGES,
  EXECUTION_STATUSES,
  ROW_OUTCOMES,
  TERMINAL_STATUSES,
  TRIGGER_TYPES,
  type Execution,
  type ResolvedRow,
  type RowResult,
} from '../../core/model.ts';
import { MAX_DIRECT_UPLOAD_BYTES } from '../../core/upload-limits.ts';
import type { ConnectorRecord } from '../../ports/connector-store.ts';
import { artifacts, type ExecutionPlan } from '../artifacts.ts';
import { unprocessedResult } from '../build-report.ts';
import { loadExecution } from '../context.ts';
import { cancelExecution } from '../control.ts';
import { dispatchConnector } from '../dispatch.ts';
import { readJsonlBlobAll } from '../jsonl.ts';
import { registerExecution } from '../register.ts';
import { connectorOf } from './connector-routes.ts';
import {
  ApiError,
  blobResponse,
  json,
  queryFlag,
  readJsonBody,
  route,
  validateInput,
  type ApiDeps,
  type ApiRequest,
  type ApiRoute,
  type RouteInput,
} from './http.ts';
import { readMultipartForm } from './multipart.ts';
import { startFromUpload } from './upload-routes.ts';
import {
  decodeCursor,
  encodeCursor,
  pageFromStore,
  pageQuerySchema,
  pageSchema,
  type Page,
} from './pagination.ts';

/*
 * Executions (SPEC §9): start one from a file (multipart form, raw body) or a presigned upload, list a
 * connector's, get, cancel, download the report and the input, and read the per-row results.
 */

export async function executionOf(deps: ApiDeps, id: string): Promise<Execution> {
  const execution = await deps.ports.executions.get(id);
  if (!execution) throw new ApiError(404, 'EXECUTION_NOT_FOUND', `No execution ${id}.`);
  return execution;
}

const countsSchema = z
  .object({
    scopes: z.record(z.string(), z.object({ rows: z.number(), valid: z.number(), invalid: z.number() })),
    steps: z.array(
      z.object({
        name: z.string(),
        object: z.string(),
        created: z.number(),
        updated: z.number(),
        unchanged: z.number(),
        skipped: z.number(),
        failed: z.number(),
        unprocessed: z.number(),
      }),
    ),
  })
  .meta({ description: 'Rows per scope (SQL output table) and outcomes per load step, as `sc run --json`.' });

export const executionSchema = z
  .object({
    id: z.string(),
    connector: z.object({
      id: z.string(),
      apiName: z.string(),
      name: z.string(),
      version: z.number().int().meta({ description: 'The version the execution is pinned to.' }),
    }),
    status: z.enum(EXECUTION_STATUSES),
    dryRun: z.boolean(),
    trigger: z.enum(TRIGGER_TYPES),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    stage: z.enum(EXECUTION_STAGES),
    progress: z.object({
      rowsDone: z.number(),
      rowsTotal: z.number(),
      chunksDone: z.number(),
      chunksTotal: z.number(),
    }),
    counts: countsSchema,
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .meta({ id: 'Execution' });

/** An execution in the API's shape (SPEC §9). */
export function executionView(execution: Execution): z.input<typeof executionSchema> {
  return {
    id: execution.id,
    connector: {
      id: execution.connectorId,
      apiName: execution.connectorApiName,
      name: execution.connectorName,
      version: execution.connectorVersion,
    },
    status: execution.status,
    dryRun: execution.dryRun,
    trigger: execution.trigger,
    createdAt: execution.createdAt,
    startedAt: execution.startedAt,
    endedAt: execution.endedAt,
    stage: execution.stage,
    progress: execution.progress,
    counts: execution.counts,
    error: execution.error,
  };
}

const issueSchema = z.object({
  code: z.string(),
  message: z.string(),
  variable: z.string().optional(),
  field: z.string().optional(),
});

export const rowResultSchema = z
  .object({
    stepIndex: z.number().int().meta({ description: 'Position of the load step, from 0.' }),
    step: z.string().meta({ description: 'The load step name.' }),
    object: z.string(),
    row: z.number().int().meta({ description: "The row's number in its scope, from 1 (as in the report)." }),
    outcome: z.enum(ROW_OUTCOMES),
    recordId: z.string().nullable(),
    matchedRule: z.number().int().nullable().meta({ description: 'The deciding matching rule, from 1.' }),
    code: z.string().nullable().meta({ description: 'Why a row was skipped, unchanged or unprocessed.' }),
    errors: z.array(issueSchema),
    warnings: z.array(issueSchema),
    written: z.record(z.string(), z.unknown()).meta({ description: 'Field values written, by api name.' }),
  })
  .meta({ id: 'RowResult' });

/** A direct upload larger than the gateway takes: point at the presigned path. */
function tooLarge(connector: ConnectorRecord, size: number): ApiError {
  return new ApiError(
    413,
    'PAYLOAD_TOO_LARGE',
    `The file is ${size} bytes; a direct upload takes at most ${MAX_DIRECT_UPLOAD_BYTES} bytes. Upload larger ` +
      `files with POST /connectors/${connector.apiName}/uploads, then start the execution with ` +
      '{ "uploadId" } as a JSON body.',
  );
}

const startFlags = {
  dryRun: queryFlag.optional(),
  diffCheck: queryFlag.optional(),
};
const rawStartQuerySchema = z.object({
  fileName: z.string().min(1).optional().meta({ description: 'The file name (raw body only).' }),
  ...startFlags,
});
const formStartSchema = z.object({ ...startFlags });
const uploadStartSchema = z.strictObject({
  uploadId: z.string().min(1).meta({ description: 'From POST /connectors/{ref}/uploads.' }),
  dryRun: z.boolean().default(false),
  diffCheck: z.boolean().optional().meta({ description: "Overrides the connector's `diffCheck` setting." }),
});

interface StartFile {
  name: string;
  bytes: Buffer;
  dryRun: boolean;
  diffCheck?: boolean;
}

/** The file and flags of a direct upload: a multipart form, else the raw body named by `?fileName=`. */
async function directUpload(
  connector: ConnectorRecord,
  request: ApiRequest,
  query: z.output<typeof rawStartQuerySchema>,
): Promise<StartFile> {
  const contentType = request.headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(contentType)) {
    const form = await readMultipartForm(request, {
      fileField: 'file',
      maxFileBytes: MAX_DIRECT_UPLOAD_BYTES,
    });
    if (form.truncated) throw tooLarge(connector, request.body.length);
    const flags = validateInput(formStartSchema, form.fields, 'body');
    if (!form.file) {
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        'The form has no "file" part: send the input file as "file".',
        [{ path: 'body.file', message: 'required' }],
      );
    }
    if (form.file.name === '') {
      throw new ApiError(
        400,
        'FILE_NAME_MISSING',
        'The "file" part has no filename; name the uploaded file.',
        [{ path: 'body.file', message: 'the part needs a filename' }],
      );
    }
    return { name: form.file.name, bytes: form.file.bytes, dryRun: flags.dryRun ?? false, ...diff(flags) };
  }
  if (request.body.length > MAX_DIRECT_UPLOAD_BYTES) throw tooLarge(connector, request.body.length);
  const name = query.fileName ?? request.headers['x-file-name'];
  if (!name) {
    throw new ApiError(400, 'FILE_NAME_MISSING', 'Name the uploaded file: ?fileName=<name>.', [
      { path: 'query.fileName', message: 'required with a raw body' },
    ]);
  }
  return { name, bytes: request.body, dryRun: query.dryRun ?? false, ...diff(query) };
}

function diff(flags: { diffCheck?: boolean | undefined }): { diffCheck?: boolean } {
  return flags.diffCheck === undefined ? {} : { diffCheck: flags.diffCheck };
}

/** Who started it: `api:<key name>` (the initiator notifications and the report show). */
function initiator(input: RouteInput<unknown, unknown>): string {
  return input.caller?.kind === 'key' ? `api:${input.caller.name}` : 'api';
}

async function startDirect(
  deps: ApiDeps,
  connector: ConnectorRecord,
  file: StartFile,
  initiatedBy: string,
): Promise<Execution> {
  if (file.bytes.length === 0) {
    throw new ApiError(400, 'EMPTY_BODY', 'The file is empty: send the input file.');
  }
  const dir = await mkdtemp(join(deps.ports.tmpDir, 'upload-'));
  try {
    const path = join(dir, 'input');
    await writeFile(path, file.bytes);
    const execution = await registerExecution(deps.ports, {
      connectorRef: connector.id,
      input: { path, name: file.name },
      dryRun: file.dryRun,
      ...(file.diffCheck === undefined ? {} : { diffCheck: file.diffCheck }),
      trigger: 'api',
      initiatedBy,
    });
    await dispatchConnector(deps.ports, connector.id);
    return loadExecution(deps.ports, execution.id);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const executionResponse = { description: 'The execution.', schema: executionSchema };

export const EXECUTION_ROUTES: ApiRoute[] = [
  route({
    method: 'POST',
    path: '/connectors/{ref}/executions',
    summary: 'Start an execution',
    description:
      `Three ways to send the input: a \`multipart/form-data\` form with a \`file\` part (and optional ` +
      '`dryRun`, `diffCheck` fields); the file itself as the body with `?fileName=` (and `?dryRun=`, ' +
      '`?diffCheck=`); or JSON `{ "uploadId" }` naming a presigned upload, for files larger than ' +
      `${MAX_DIRECT_UPLOAD_BYTES} bytes (a larger direct upload gets 413). Live runs wait in \`queued\` ` +
      'while the connector is not active or all its slots are taken.',
    tag: 'executions',
    query: rawStartQuerySchema,
    rawBody: {
      description: 'The input file, or the presigned upload to run.',
      content: {
        'multipart/form-data': {
          schema: z.object({
            file: z.string().meta({ format: 'binary', description: 'The input file, with its filename.' }),
            dryRun: z.enum(['true', 'false']).optional(),
            diffCheck: z.enum(['true', 'false']).optional(),
          }),
        },
        'application/json': { schema: uploadStartSchema },
        'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) },
      },
    },
    responses: {
      202: { description: 'Registered (queued); it runs when dispatched.', schema: executionSchema },
      413: {
        description: 'The file is larger than a direct upload takes: use POST /connectors/{ref}/uploads.',
      },
    },
    handle: async (deps, input) => {
      const { params, request, query } = input;
      const connector = await connectorOf(deps, params.ref!);
      if (/^application\/json/i.test(request.headers['content-type'] ?? '')) {
        const { uploadId, ...flags } = validateInput(uploadStartSchema, readJsonBody(request), 'body');
        const options = { ...flags, initiatedBy: initiator(input) };
        return json(202, executionView(await startFromUpload(deps, connector, uploadId, options)));
      }
      const file = await directUpload(connector, request, query);
      return json(202, executionView(await startDirect(deps, connector, file, initiator(input))));
    },
  }),
  route({
    method: 'GET',
    path: '/connectors/{ref}/executions',
    summary: "List a connector's executions",
    description: 'Newest first. Filter with `?status=` and `?dryRun=`.',
    tag: 'executions',
    query: pageQuerySchema.extend({
      status: z.enum(EXECUTION_STATUSES).optional(),
      dryRun: queryFlag.optional(),
    }),
    responses: { 200: { description: 'A page of executions.', schema: pageSchema(executionSchema) } },
    handle: async (deps, { params, query }) => {
      const connector = await connectorOf(deps, params.ref!);
      const filter = { status: query.status, dryRun: query.dryRun };
      const page = await pageFromStore(query, `executions:${connector.id}`, (request) =>
        deps.ports.executions.pageByConnector(connector.id, { ...request, ...filter }),
      );
      return json(200, { items: page.items.map(executionView), nextCursor: page.nextCursor });
    },
  }),
  route({
    method: 'GET',
    path: '/executions/{id}',
    summary: 'Get an execution',
    tag: 'executions',
    responses: { 200: executionResponse },
    handle: async (deps, { params }) => json(200, executionView(await executionOf(deps, params.id!))),
  }),
  route({
    method: 'POST',
    path: '/executions/{id}/cancel',
    summary: 'Cancel an execution',
    description:
      'A queued execution is cancelled at once; a running one stops at its next chunk boundary (its report ' +
      'marks the rest `unprocessed`). 409 when it already ended.',
    tag: 'executions',
    responses: {
      202: { description: 'Cancelled, or asked to stop.', schema: executionSchema },
      409: { description: 'The execution already ended (`EXECUTION_ENDED`).' },
    },
    handle: async (deps, { params }) => {
      await executionOf(deps, params.id!);
      return json(202, executionView(await cancelExecution(deps.ports, params.id!)));
    },
  }),
  route({
    method: 'GET',
    path: '/executions/{id}/report',
    summary: "Download an execution's XLSX report",
    description: 'A 302 to a time-limited URL (AWS); `sc serve` answers with the file. 404 until it exists.',
    tag: 'executions',
    responses: {
      200: { description: 'The report (sc serve).', contentType: XLSX },
      302: { description: 'Redirect to a time-limited download URL.' },
    },
    handle: async (deps, { params }) => {
      const execution = await executionOf(deps, params.id!);
      if (!execution.reportKey) {
        throw new ApiError(
          404,
          'REPORT_NOT_FOUND',
          `Execution ${execution.id} has no report (yet): it is ${execution.status}. A run that fails in ` +
            'its SQL or variables stage has none.',
        );
      }
      return blobResponse(deps.ports.blobs, execution.reportKey, {
        name: `report-${execution.id}.xlsx`,
        contentType: XLSX,
      });
    },
  }),
  route({
    method: 'GET',
    path: '/executions/{id}/input',
    summary: "Download an execution's input file",
    description: 'A 302 to a time-limited URL (AWS); `sc serve` answers with the file.',
    tag: 'executions',
    responses: {
      200: { description: 'The input file (sc serve).', contentType: 'application/octet-stream' },
      302: { description: 'Redirect to a time-limited download URL.' },
    },
    handle: async (deps, { params }) => {
      const execution = await executionOf(deps, params.id!);
      if (!execution.inputFile) {
        throw new ApiError(404, 'INPUT_NOT_FOUND', `Execution ${execution.id} has no input file.`);
      }
      return blobResponse(deps.ports.blobs, execution.inputFile.key, {
        name: execution.inputFile.name,
        contentType: 'application/octet-stream',
      });
    },
  }),
  route({
    method: 'GET',
    path: '/executions/{id}/rows',
    summary: 'List the per-row results of an execution',
    description:
      'What each load step did with each valid row, step by step in row order, as the upload sheets of the ' +
      'report show it. Filter with `?step=` (name or index from 0), `?outcome=` and `?code=` (the reason ' +
      'code, or the code of any error or warning). While the execution runs, the list ends at the last ' +
      'chunk loaded; once it ended, rows it never reached are `unprocessed`.',
    tag: 'executions',
    query: pageQuerySchema.extend({
      step: z.string().min(1).optional(),
      outcome: z.enum(ROW_OUTCOMES).optional(),
      code: z.string().min(1).optional(),
    }),
    responses: { 200: { description: 'A page of row results.', schema: pageSchema(rowResultSchema) } },
    handle: async (deps, { params, query }) => {
      const execution = await executionOf(deps, params.id!);
      return json(200, await pageRowResults(deps, execution, query));
    },
  }),
];

type RowView = z.input<typeof rowResultSchema>;

/** Where a rows page starts: step, chunk, and line within the chunk's results. */
const rowCursorSchema = z.object({
  s: z.number().int().min(0),
  c: z.number().int().min(0),
  o: z.number().int().min(0),
});

/**
 * One page of row results, read chunk by chunk from the stored results (`artifacts.resultsChunk`),
 * stopping as soon as the page is full: a page costs the chunks it spans, never the whole run.
 */
async function pageRowResults(
  deps: ApiDeps,
  execution: Execution,
  query: {
    limit: number;
    cursor?: string | undefined;
    step?: string | undefined;
    outcome?: string | undefined;
    code?: string | undefined;
  },
): Promise<Page<RowView>> {
  const { blobs } = deps.ports;
  const planKey = artifacts.plan(execution.id);
  if (!(await blobs.exists(planKey))) return { items: [], nextCursor: null };
  const plan = JSON.parse(await blobs.readText(planKey)) as ExecutionPlan;
  const steps = plan.steps.map((step, index) => ({ ...step, index }));
  const wanted =
    query.step === undefined
      ? steps
      : steps.filter((s) => s.name === query.step || String(s.index) === query.step);
  if (query.step !== undefined && wanted.length === 0) {
    const names = steps.map((s) => `"${s.name}"`).join(', ') || '(none)';
    throw new ApiError(400, 'INVALID_REQUEST', `No load step "${query.step}"; the steps are ${names}.`, [
      { path: 'query.step', message: 'not a load step of this execution' },
    ]);
  }
  const listName = `rows:${execution.id}`;
  const start =
    query.cursor === undefined ? { s: 0, c: 0, o: 0 } : decodeCursor(query.cursor, listName, rowCursorSchema);
  const ended = TERMINAL_STATUSES.has(execution.status);
  const unprocessedCode = runOutcome(execution).unprocessedCode ?? 'EXECUTION_FAILED';
  const matches = (r: RowResult) =>
    (query.outcome === undefined || r.outcome === query.outcome) &&
    (query.code === undefined ||
      r.code === query.code ||
      [...r.errors, ...r.warnings].some((issue) => issue.code === query.code));

  const items: RowView[] = [];
  for (const step of wanted) {
    if (step.index < start.s) continue;
    const chunks = plan.scopes[step.scopeIndex]!.chunks;
    for (let c = step.index === start.s ? start.c : 0; c < chunks; c++) {
      const results = await chunkResults(
        deps,
        execution.id,
        step.index,
        step.scopeIndex,
        c,
        ended,
        unprocessedCode,
      );
      // Not loaded yet: the list ends here until it is.
      if (results === null) return { items, nextCursor: null };
      for (let o = step.index === start.s && c === start.c ? start.o : 0; o < results.length; o++) {
        const result = results[o]!;
        if (!matches(result)) continue;
        if (items.length === query.limit)
          return { items, nextCursor: encodeCursor(listName, { s: step.index, c, o }) };
        const { hash: _hash, ...rest } = result;
        items.push({ stepIndex: step.index, step: step.name, object: step.object, ...rest });
      }
    }
  }
  return { items, nextCursor: null };
}

/**
 * A chunk's row results; for a chunk the run never reached, its valid rows as `unprocessed` once the
 * execution ended (as the report lists them), or null while it may still be loaded.
 */
async function chunkResults(
  deps: ApiDeps,
  executionId: string,
  stepIndex: number,
  scopeIndex: number,
  chunk: number,
  ended: boolean,
  unprocessedCode: string,
): Promise<RowResult[] | null> {
  const { blobs } = deps.ports;
  const key = artifacts.resultsChunk(executionId, stepIndex, chunk);
  if (await blobs.exists(key)) return readJsonlBlobAll<RowResult>(blobs, key);
  if (!ended) return null;
  const variablesKey = artifacts.variablesChunk(executionId, scopeIndex, chunk);
  if (!(await blobs.exists(variablesKey))) return [];
  const rows = await readJsonlBlobAll<ResolvedRow>(blobs, variablesKey);
  return rows.filter((r) => r.errors.length === 0).map((r) => unprocessedResult(r.row, unprocessedCode));
}
