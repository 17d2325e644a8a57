import { CONNECTOR_ROUTES } from './connector-routes.ts';
import { EXECUTION_ROUTES } from './execution-routes.ts';
import { json, route, type ApiRoute } from './http.ts';
import { OBJECT_ROUTES } from './object-routes.ts';
import { openApiDocument } from './openapi.ts';
import { TRANSFER_ROUTES } from './transfer-routes.ts';
import { UPLOAD_ROUTES } from './upload-routes.ts';
import { WEBHOOK_ROUTES } from './webhook-routes.ts';

/** Every route of the HTTP API, in the order the OpenAPI document lists them. */
export const API_ROUTES: ApiRoute[] = [
  ...CONNECTOR_ROUTES,
  ...EXECUTION_ROUTES,
  ...UPLOAD_ROUTES,
  ...WEBHOOK_ROUTES,
  ...TRANSFER_ROUTES,
  ...OBJECT_ROUTES,
  route({
    method: 'GET',
    path: '/openapi.json',
    summary: 'Get the OpenAPI document',
    description: 'This document. No key needed.',
    tag: 'meta',
    auth: 'none',
    responses: { 200: { description: 'The OpenAPI 3.1 document.', contentType: 'application/json' } },
    handle: async (deps) => json(200, openApiDocument(API_ROUTES, deps.baseUrl)),
  }),
];
