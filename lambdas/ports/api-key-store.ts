/** An API key as stored: its SHA-256 hash, never the key itself. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the key. */
  hash: string;
  createdAt: string;
  revokedAt: string | null;
}

/** The keys that may call the HTTP API (SPEC §9). */
export interface ApiKeyStore {
  /** Stores a new key's record; fails with `CONFLICT` when the hash exists. */
  createApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Every key, revoked ones included, oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /**
   * Revokes a key by id: from then on it is refused (403). Revoking a revoked key changes nothing.
   * Fails with `API_KEY_NOT_FOUND` for an unknown id.
   */
  revokeApiKey(id: string): Promise<ApiKeyRecord>;
}
