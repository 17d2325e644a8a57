import type { ApiRoute } from './http.ts';

/** Routes for export, import, duplicate and the dev package (SPEC §9). */
export const TRANSFER_ROUTES: ApiRoute[] = [];
