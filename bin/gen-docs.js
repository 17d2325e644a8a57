#!/usr/bin/env node
// `npm run docs`: writes the JSON Schemas of connector.json and objects/*.json (lambdas/local/json-schemas.ts)
// and the OpenAPI document of the HTTP API (lambdas/pipeline/api/openapi.ts) into docs/, generated from the
// zod schemas and formatted as prettier would, so `npm run lint` passes.
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { register } from 'tsx/esm/api';

register();
const { connectorJsonSchema, objectJsonSchema } = await import('../lambdas/local/json-schemas.ts');
const { API_ROUTES } = await import('../lambdas/pipeline/api/all-routes.ts');
const { openApiDocument } = await import('../lambdas/pipeline/api/openapi.ts');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const documents = [
  ['docs/connector.schema.json', connectorJsonSchema()],
  ['docs/object.schema.json', objectJsonSchema()],
  ['docs/openapi.json', openApiDocument(API_ROUTES)],
];
for (const [file, schema] of documents) {
  const path = join(root, file);
  const text = await format(JSON.stringify(schema), { ...(await resolveConfig(path)), filepath: path });
  await writeFile(path, text);
  process.stdout.write(`wrote ${relative(process.cwd(), path) || path}\n`);
}
