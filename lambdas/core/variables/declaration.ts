import type { z } from 'zod';
import type { variableSchema } from '../connector-schema.ts';

/**
 * A variable as the connector declares it (SPEC §5). Both the parsed form and the written form
 * (where `required` may be left out, meaning false) are accepted.
 */
export type VariableDeclaration = z.input<typeof variableSchema>;

/** The connector settings that resolution depends on (SPEC §3). */
export interface ResolveOptions {
  /** IANA time zone of datetimes written without an offset, e.g. `America/New_York`. */
  timezone: string;
  /** ISO 3166 country of phone numbers written without a country code, e.g. `US`. */
  defaultCountry: string;
}
