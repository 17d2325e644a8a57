import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.ts';
import type { Execution } from '../../core/model.ts';
import { loadExecution } from '../context.ts';
import { cancelExecution } from '../control.ts';
import { dispatchConnector } from '../dispatch.ts';
import { registerExecution } from '../register.ts';
import { connectorOf } from './connector-routes.ts';
import { ApiError, json, route, type ApiDeps, type ApiResponse, type ApiRoute } from './http.ts';

export async function executionOf(deps: ApiDeps, id: string): Promise<Execution> {
  const execution = await deps.ports.executions.get(id);
  if (!execution) throw new ApiError(404, 'EXECUTION_NOT_FOUND', `No execution ${id}.`);
  return execution;
}

export const EXECUTION_ROUTES: ApiRoute[] = [
  route({
    method: 'POST',
    path: '/connectors/{ref}/executions',
    summary: 'Start an execution',
    tag: 'executions',
    /** `?fileName=…&dryRun=true`, the file as the body. */
    handle: async (deps, { params, request }) => {
      const connector = await connectorOf(deps, params.ref!);
      const fileName = request.query.fileName ?? request.headers['x-file-name'];
      if (!fileName)
        throw new ApiError(400, 'FILE_NAME_MISSING', 'Name the uploaded file: ?fileName=<name>.');
      if (request.body.length === 0)
        throw new ApiError(400, 'EMPTY_BODY', 'Send the input file as the request body.');
      const dryRun = request.query.dryRun === 'true';
      const dir = await mkdtemp(join(deps.ports.tmpDir, 'upload-'));
      try {
        const path = join(dir, 'input');
        await writeFile(path, request.body);
        const execution = await registerExecution(deps.ports, {
          connectorRef: connector.id,
          input: { path, name: fileName },
          dryRun,
          trigger: 'api',
          initiatedBy: 'api',
        });
        await dispatchConnector(deps.ports, connector.id);
        return json(202, await loadExecution(deps.ports, execution.id));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  }),
  route({
    method: 'GET',
    path: '/connectors/{ref}/executions',
    summary: "List a connector's executions",
    tag: 'executions',
    handle: async (deps, { params }) => {
      const connector = await connectorOf(deps, params.ref!);
      return json(200, { executions: await deps.ports.executions.listByConnector(connector.id) });
    },
  }),
  route({
    method: 'GET',
    path: '/executions/{id}',
    summary: 'Get an execution',
    tag: 'executions',
    handle: async (deps, { params }) => json(200, await executionOf(deps, params.id!)),
  }),
  route({
    method: 'POST',
    path: '/executions/{id}/cancel',
    summary: 'Cancel an execution',
    tag: 'executions',
    handle: async (deps, { params }) => {
      await executionOf(deps, params.id!);
      return json(202, await cancelExecution(deps.ports, params.id!));
    },
  }),
  route({
    method: 'GET',
    path: '/executions/{id}/report',
    summary: "Download an execution's XLSX report",
    tag: 'executions',
    /** The file itself (the local runtime) or a redirect to a time-limited S3 URL. */
    handle: async (deps, { params }): Promise<ApiResponse> => {
      const id = params.id!;
      const execution = await executionOf(deps, id);
      if (!execution.reportKey) {
        throw new UsageError(
          'REPORT_NOT_FOUND',
          `Execution ${id} has no report (yet): it is ${execution.status}.`,
        );
      }
      const { blobs } = deps.ports;
      if (blobs.presignedUrl) {
        return {
          statusCode: 302,
          headers: { location: await blobs.presignedUrl(execution.reportKey) },
          body: '',
        };
      }
      const chunks: Buffer[] = [];
      for await (const chunk of await blobs.read(execution.reportKey)) chunks.push(chunk as Buffer);
      return {
        statusCode: 200,
        headers: {
          'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          'content-disposition': `attachment; filename="report-${id}.xlsx"`,
        },
        body: Buffer.concat(chunks),
      };
    },
  }),
];
