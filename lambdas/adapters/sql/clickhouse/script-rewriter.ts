import { quoteIdentifier } from '../clickhouse-sql.ts';
import { identifierName, isSignificant, type Token } from '../sql-lexer.ts';
import { SCRIPT_DATABASES, type ScriptDatabase } from '../sql-job.ts';
import type { Statement } from '../sql-statements.ts';

/** Where one execution's databases and named collections really are on the shared server. */
export interface ScriptNames {
  database(name: ScriptDatabase): string;
  collection(name: string): string;
  /** The secret names of the job: only these are named collections. */
  secrets: ReadonlySet<string>;
}

/**
 * Table functions and table engines whose first argument may be a named collection (`url(creds, …)`,
 * `s3(creds, …)`, `ENGINE = PostgreSQL(creds, …)`), lower-cased.
 */
const COLLECTION_FUNCTIONS = new Set([
  'url',
  'urlcluster',
  's3',
  's3cluster',
  'gcs',
  'oss',
  'cosn',
  'azureblobstorage',
  'azureblobstoragecluster',
  'hdfs',
  'hdfscluster',
  'postgresql',
  'materializedpostgresql',
  'mysql',
  'mongodb',
  'redis',
  'remote',
  'remotesecure',
  'kafka',
  'nats',
  'rabbitmq',
  'deltalake',
  'deltalakecluster',
  'iceberg',
  'icebergs3',
  'icebergazure',
  'iceberghdfs',
  'hudi',
  'arrowflight',
]);

const DATABASES: ReadonlySet<string> = new Set(SCRIPT_DATABASES);

function scriptDatabase(token: Token | undefined): ScriptDatabase | undefined {
  const name = identifierName(token);
  return name !== undefined && DATABASES.has(name) ? (name as ScriptDatabase) : undefined;
}

function isSymbol(token: Token | undefined, text: string): boolean {
  return token?.kind === 'symbol' && token.text === text;
}

function isWord(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text.toUpperCase() === word;
}

/**
 * A statement of a script with the execution's real names in place of the names scripts use. The rules,
 * applied to tokens outside strings, quoted text, comments and heredocs:
 *
 * 1. `input`, `output`, `meta`, `records` or `connector` (bare or quoted, exact case) followed by `.`
 *    and a name, and not itself after a `.`, is a database: `input.vendors` → `` `sc_…_input`.vendors ``.
 * 2. The name after a leading `USE` is a database: `USE output`.
 * 3. A secret's name as the whole first argument of a table function or engine that takes named
 *    collections (`url`, `s3`, `postgresql`, `mysql`, … see COLLECTION_FUNCTIONS) is that secret's
 *    collection: `postgresql(warehouse, table = 't')`.
 * 4. `CREATE TEMPORARY TABLE` and `DROP TEMPORARY TABLE` lose `TEMPORARY`: over HTTP a temporary table
 *    would vanish after its statement, so it becomes a table of the current database, dropped with it.
 *
 * Everything else is sent as written. Not rewritten, so differing from chDB: database names inside
 * strings (`system.tables WHERE database = 'output'`, `merge('input', …)`, `dictGet('connector.d', …)`),
 * a table alias or column spelled like a database and followed by a dot (`FROM input.t AS meta` then
 * `meta.x`), `currentDatabase()`, and named collections in dictionary sources (`SOURCE(… NAME creds)`).
 */
export function rewriteStatement(statement: Statement, names: ScriptNames): string {
  const tokens = statement.tokens;
  const significant = tokens.flatMap((token, index) => (isSignificant(token) ? [index] : []));
  const at = (k: number): Token | undefined => tokens[significant[k] ?? -1];
  const replacements = new Map<number, string>();

  for (let k = 0; k < significant.length; k++) {
    const token = at(k)!;
    const database = scriptDatabase(token);
    if (
      database !== undefined &&
      isSymbol(at(k + 1), '.') &&
      identifierName(at(k + 2)) !== undefined &&
      !isSymbol(at(k - 1), '.')
    ) {
      replacements.set(significant[k]!, quoteIdentifier(names.database(database)));
    }
    if (
      token.kind === 'word' &&
      COLLECTION_FUNCTIONS.has(token.text.toLowerCase()) &&
      isSymbol(at(k + 1), '(')
    ) {
      const secret = identifierName(at(k + 2));
      if (
        secret !== undefined &&
        names.secrets.has(secret) &&
        (isSymbol(at(k + 3), ',') || isSymbol(at(k + 3), ')'))
      ) {
        replacements.set(significant[k + 2]!, quoteIdentifier(names.collection(secret)));
      }
    }
  }

  const used = isWord(at(0), 'USE') ? scriptDatabase(at(1)) : undefined;
  if (used !== undefined) replacements.set(significant[1]!, quoteIdentifier(names.database(used)));

  if (isWord(at(0), 'CREATE') || isWord(at(0), 'DROP')) {
    // CREATE [OR REPLACE] TEMPORARY TABLE …, DROP TEMPORARY TABLE …
    const k = isWord(at(1), 'OR') && isWord(at(2), 'REPLACE') ? 3 : 1;
    if (isWord(at(k), 'TEMPORARY') && isWord(at(k + 1), 'TABLE')) replacements.set(significant[k]!, '');
  }

  return tokens.map((token, index) => replacements.get(index) ?? token.text).join('');
}
