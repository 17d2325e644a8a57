import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DefinitionError, ScError } from '../../core/errors.ts';
import { writeDevPackage } from '../dev-package.ts';
import {
  ON_CONFLICT,
  connectorExportSchema,
  duplicateConnector,
  exportConnector,
  importConnector,
  type TransferResult,
} from '../transfer.ts';
import { connectorOf, connectorSchema, connectorView } from './connector-routes.ts';
import {
  ApiError,
  attachmentDisposition,
  json,
  route,
  type ApiDeps,
  type ApiResponse,
  type ApiRoute,
} from './http.ts';

/*
 * Export, import, duplicate and the dev package (SPEC §9). The use cases are `pipeline/transfer.ts` and
 * `pipeline/dev-package.ts`, which `sc export|import|duplicate|package` call too.
 */

const issueSchema = z.object({ path: z.string(), message: z.string() });

/** What import and duplicate answer: the new connector, and whether it could be activated here. */
const transferResultSchema = z
  .object({
    connector: connectorSchema,
    renamedFrom: z
      .string()
      .optional()
      .meta({ description: "The export's api name, when it was taken and the import used a new one." }),
    activation: z
      .object({
        ready: z.boolean().meta({ description: 'Whether every activation check passes here.' }),
        issues: z.array(issueSchema).meta({ description: 'Each failed activation check, by JSON path.' }),
      })
      .meta({ description: 'The connector is `setup` either way; activate it when it is ready.' }),
    withheld: z.array(z.string()).meta({
      description: 'Settings the export left out (secrets, e.g. `settings.webhookSecret`): set them again.',
    }),
  })
  .meta({ id: 'TransferResult' });

async function transferResponse(deps: ApiDeps, result: TransferResult): Promise<ApiResponse> {
  return json(201, {
    connector: await connectorView(deps, result.connector, result.version.definition),
    ...(result.renamedFrom === undefined ? {} : { renamedFrom: result.renamedFrom }),
    activation: result.activation,
    withheld: result.withheld,
  });
}

/** A definition the target cannot save: a 400 naming each bad field under `body.`. */
function definitionAsBadRequest(error: unknown): unknown {
  if (!(error instanceof DefinitionError)) return error;
  const details = error.issues.map((i) => ({
    path: i.path === '' ? 'body' : `body.${i.path}`,
    message: i.message,
  }));
  return new ApiError(400, 'INVALID_DEFINITION', error.message, details);
}

/** Codes of the dev package's refusals, by HTTP status. */
const DEV_PACKAGE_STATUS: Record<string, number> = {
  EXECUTION_NOT_FOUND: 404,
  EXECUTION_OF_ANOTHER_CONNECTOR: 409,
  INPUT_NOT_AVAILABLE: 409,
};

export const TRANSFER_ROUTES: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/connectors/{ref}/export',
    summary: 'Export a connector',
    description:
      "The connector's current version as an export document (docs/transfer.md): the definition with its " +
      'SQL inline, inside an envelope naming the format and its version. Secret values are never in it: ' +
      '`secrets` are names, the webhook token is left out, and `settings.webhookSecret` is withheld.',
    tag: 'transfer',
    responses: { 200: { description: 'The export document.', schema: connectorExportSchema } },
    handle: async (deps, { params }) => {
      const connector = await connectorOf(deps, params.ref!);
      const exported = await exportConnector(deps.ports, connector.id);
      return json(200, exported, {
        'content-disposition': attachmentDisposition(`${connector.apiName}.connector.json`),
      });
    },
  }),
  route({
    method: 'POST',
    path: '/connectors/import',
    summary: 'Import a connector',
    description:
      'The body is an export document. The connector is created in `setup` under the api name of the ' +
      'export; when that is taken the answer is 409 `CONFLICT`, unless `?onConflict=rename`, which takes ' +
      'the first free `<apiName>_2`, `_3`… A definition naming objects or fields this environment lacks is ' +
      '400 with each path. One that fails only activation checks is imported, and `activation.issues` ' +
      'lists each failed check.',
    tag: 'transfer',
    query: z.object({
      onConflict: z
        .enum(ON_CONFLICT)
        .default('fail')
        .meta({ description: 'When the api name is taken: `fail` (409, the default) or `rename`.' }),
    }),
    body: connectorExportSchema,
    responses: { 201: { description: 'Imported.', schema: transferResultSchema } },
    handle: async (deps, { query, body }) => {
      const result = await importConnector(deps.ports, body, { onConflict: query.onConflict }).catch(
        (error: unknown) => {
          throw definitionAsBadRequest(error);
        },
      );
      return transferResponse(deps, result);
    },
  }),
  route({
    method: 'POST',
    path: '/connectors/{ref}/duplicate',
    summary: 'Duplicate a connector',
    description:
      'A copy of the current version as a new connector in `setup`, named `<name> (copy)` unless `name` is ' +
      'given, under an api name derived from the new name unless `apiName` is given (409 when taken), with ' +
      'its own webhook token. The body is optional.',
    tag: 'transfer',
    body: z
      .strictObject({
        name: z.string().trim().min(1, 'must not be empty').optional(),
        apiName: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,63}$/, 'must be lowercase letters, digits and _, at most 64 characters')
          .optional(),
      })
      .optional(),
    responses: { 201: { description: 'The copy.', schema: transferResultSchema } },
    handle: async (deps, { params, body }) => {
      const connector = await connectorOf(deps, params.ref!);
      const result = await duplicateConnector(deps.ports, connector.id, body ?? {});
      return transferResponse(deps, result);
    },
  }),
  route({
    method: 'GET',
    path: '/connectors/{ref}/dev-package',
    summary: 'Download a dev package',
    description:
      'A ZIP that is a one-connector workspace: `connector.json`, `connector.sql`, the objects it needs, ' +
      "the input of `sourceExecutionId` (one of this connector's executions; 404 when unknown, 409 when " +
      "another connector's or its input is no longer kept) or else the latest input the connector ran on, " +
      'and a README with the `sc run` command line. In AWS the answer is a 302 to a time-limited URL.',
    tag: 'transfer',
    query: z.object({
      sourceExecutionId: z
        .string()
        .min(1)
        .optional()
        .meta({ description: 'The execution whose input goes into `data/`. Default: the latest one kept.' }),
    }),
    responses: {
      200: { description: 'The ZIP (sc serve).', contentType: 'application/zip' },
      302: { description: 'A redirect to the ZIP (AWS).' },
    },
    handle: async (deps, { params, query }): Promise<ApiResponse> => {
      const connector = await connectorOf(deps, params.ref!);
      const dir = await mkdtemp(join(deps.ports.tmpDir, 'dev-package-'));
      const fileName = `${connector.apiName}-dev-package.zip`;
      try {
        const zipPath = join(dir, fileName);
        const input = query.sourceExecutionId
          ? { executionId: query.sourceExecutionId }
          : { sample: true as const };
        await writeDevPackage(deps.ports, connector, input, zipPath).catch((error: unknown) => {
          const status = error instanceof ScError ? DEV_PACKAGE_STATUS[error.code] : undefined;
          throw status && error instanceof ScError ? new ApiError(status, error.code, error.message) : error;
        });
        const { blobs } = deps.ports;
        if (blobs.presignedUrl) {
          // Too large for an API Gateway answer: stored, then fetched from S3.
          const key = `dev-packages/${connector.id}/${randomUUID()}/${fileName}`;
          await blobs.putFile(key, zipPath);
          const location = await blobs.presignedUrl(key, undefined, {
            contentDisposition: attachmentDisposition(fileName),
          });
          return { statusCode: 302, headers: { location }, body: '' };
        }
        return {
          statusCode: 200,
          headers: {
            'content-type': 'application/zip',
            'content-disposition': attachmentDisposition(fileName),
          },
          body: await readFile(zipPath),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  }),
];
