import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { CountryCode } from 'libphonenumber-js';

/** The connector's `defaultCountry` as libphonenumber knows it (`US`), or undefined when it knows no such country. */
export function phoneCountry(defaultCountry: string): CountryCode | undefined {
  const code = defaultCountry.trim().toUpperCase();
  return isSupportedCountry(code) ? code : undefined;
}

/**
 * A `phone` value in E.164 (`+14155552671`). A number written without a country code is read as a
 * number of `country`. Undefined when libphonenumber does not consider it a valid number.
 */
export function parsePhone(raw: string | number | boolean, country: CountryCode): string | undefined {
  if (typeof raw === 'boolean') return undefined;
  const phone = parsePhoneNumberFromString(typeof raw === 'number' ? String(raw) : raw.trim(), country);
  return phone !== undefined && phone.isValid() ? phone.number : undefined;
}
