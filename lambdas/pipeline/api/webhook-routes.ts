import type { ApiRoute } from './http.ts';

/** Routes for webhook intake and samples (SPEC §9). */
export const WEBHOOK_ROUTES: ApiRoute[] = [];
