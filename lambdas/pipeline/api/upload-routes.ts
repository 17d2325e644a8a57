import type { ApiRoute } from './http.ts';

/** Routes for presigned uploads (SPEC §9). */
export const UPLOAD_ROUTES: ApiRoute[] = [];
