/**
 * The secrets connectors use (API keys, tokens, signing keys), by name: Secrets Manager in AWS.
 *
 * A secret's value is never logged, and never put in an error, a report, an event or an execution
 * record; only its name is.
 */
export interface SecretStore {
  /**
   * The value of each named secret, keyed by name; a name asked twice is read once. When a secret does
   * not exist, rejects with `ScError('SECRET_NOT_FOUND')` naming every missing secret and no value.
   */
  getSecrets(names: readonly string[]): Promise<Record<string, string>>;
}
