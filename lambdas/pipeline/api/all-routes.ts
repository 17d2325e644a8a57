import { CONNECTOR_ROUTES } from './connector-routes.ts';
import { EXECUTION_ROUTES } from './execution-routes.ts';
import type { ApiRoute } from './http.ts';
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
];
