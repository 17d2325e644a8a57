import { SqlError } from '../../core/errors.ts';
import { isSignificant, tokenize, type Token } from './sql-lexer.ts';

/** One statement of a script: its tokens (without the `;`), and its 1-based position. */
export interface Statement {
  number: number;
  tokens: Token[];
}

/**
 * Splits a script at every `;` outside strings, quoted identifiers, comments and heredocs. Statements
 * holding only whitespace and comments are dropped; numbering counts the statements kept.
 */
export function splitStatements(script: string): Statement[] {
  const statements: Statement[] = [];
  let current: Token[] = [];
  const close = (): void => {
    if (current.some(isSignificant)) statements.push({ number: statements.length + 1, tokens: current });
    current = [];
  };
  for (const token of tokenize(script)) {
    if (token.kind === 'symbol' && token.text === ';') close();
    else current.push(token);
  }
  close();
  return statements;
}

/** The statement's text as written. */
export function statementText(statement: Statement): string {
  return statement.tokens.map((token) => token.text).join('');
}

/** The first `count` keywords of a statement, upper-cased; other tokens end the list. */
export function leadingKeywords(statement: Statement, count: number): string[] {
  const words: string[] = [];
  for (const token of statement.tokens) {
    if (!isSignificant(token)) continue;
    if (token.kind !== 'word' || words.length === count) break;
    words.push(token.text.toUpperCase());
  }
  return words;
}

/** Statements that act on the server as a whole rather than on tables. */
const SERVER_STATEMENTS = new Set(['GRANT', 'REVOKE', 'SYSTEM', 'KILL', 'BACKUP', 'RESTORE']);
/** Objects that live outside any database, so a script creating them would outlive its run. */
const SERVER_OBJECTS = new Set([
  'DATABASE',
  'FUNCTION',
  'NAMED',
  'USER',
  'ROLE',
  'QUOTA',
  'ROW',
  'POLICY',
  'MASKING',
  'SETTINGS',
  'PROFILE',
  'RESOURCE',
  'WORKLOAD',
]);
const DEFINING = new Set(['CREATE', 'ATTACH', 'DROP', 'DETACH', 'ALTER', 'RENAME', 'UNDROP', 'EXCHANGE']);
/** Words that may stand between the verb and the kind of object: `CREATE OR REPLACE`, `DROP IF EXISTS`. */
const MODIFIERS = new Set(['OR', 'REPLACE', 'IF', 'NOT', 'EXISTS', 'TEMPORARY']);

/**
 * Refuses statements that would reach beyond the execution's own tables: creating, changing or dropping
 * databases, functions, named collections, users, roles, quotas, policies or profiles, and GRANT,
 * REVOKE, SET DEFAULT ROLE, SYSTEM, KILL, BACKUP and RESTORE. On a shared ClickHouse server these would outlive the run
 * or touch other executions; both engines refuse them, so a script behaves the same on either.
 */
export function assertStatementsStayInRun(statements: readonly Statement[]): void {
  for (const statement of statements) {
    const [verb, ...rest] = leadingKeywords(statement, 6);
    if (verb === undefined) continue;
    const object = rest.find((word) => !MODIFIERS.has(word));
    const serverWide =
      SERVER_STATEMENTS.has(verb) ||
      (DEFINING.has(verb) && object !== undefined && SERVER_OBJECTS.has(object)) ||
      // SET DEFAULT ROLE changes a user, unlike SET <setting>.
      (verb === 'SET' && rest[0] === 'DEFAULT' && rest[1] === 'ROLE');
    if (!serverWide) continue;
    const text = statementText(statement).trim().replace(/\s+/g, ' ');
    const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    throw new SqlError(
      'SQL_ERROR',
      `Statement ${statement.number} (${shown}) acts on the server, not on this run's tables. A script may not ` +
        'create, change or drop databases, functions, named collections, users, roles, quotas, policies or ' +
        'profiles, nor run GRANT, REVOKE, SYSTEM, KILL, BACKUP or RESTORE. Keep working tables in the default ' +
        'database (connector) and write scopes to output.',
    );
  }
}
